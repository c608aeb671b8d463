//! The Plugin service's operations, shared by the REST routes and the gRPC service: each
//! checks the caller against the rules, then issues a command or runs a query, and answers the
//! family's messages.
//!
//! A SpaceONE domain is an Annals organization (`domain_id` is its name). Reading plugins
//! (`get`, `get_versions`, `list`, `stat`) needs membership of the domain, changing them
//! (`register`, `update`, `enable`, `disable`, `deregister`) administration of it. A plugin of a
//! domain the caller cannot see is answered as not found.

use annals_commands::{Envelope, SpacePluginAction};
use annals_domain::access::{Denial, NamespaceStanding, Need, TeamRole, allows, authorize};
use annals_domain::spaceone_plugin::{self, ImageRef, PluginChanges, PluginSpec};
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::spaceone_plugins::{self, SpacePluginView};
use annals_projections::queries::{repositories, tags, teams};
use axum::http::request::Parts;
use chrono::{DateTime, SecondsFormat};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::SpaceError;
use super::model::*;
use super::query;
use crate::access::guard::{self, Attempt, NamespaceAccess, Refused, RepoAccess};
use crate::access::{Caller, standing};
use crate::state::AppState;

/// The one repository plugins are kept in: this registry.
pub const REPOSITORY_ID: &str = "repo-annals";
/// The most versions `get_versions` answers.
const MAX_VERSIONS: u64 = 1_000;
/// What a `keyword` searches.
const KEYWORD_KEYS: [&str; 5] = ["plugin_id", "name", "image", "provider", "service_type"];

/// One call of the service: who, from where, and the domain its transport named (gRPC
/// metadata `x_domain_id`), which a request's own `domain_id` overrides.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub parts: &'a Parts,
    pub caller: &'a Caller,
    pub envelope: Envelope,
    pub domain: Option<String>,
}

impl Call<'_> {
    fn domain_of(&self, asked: &Option<String>) -> Option<String> {
        asked
            .clone()
            .filter(|d| !d.is_empty())
            .or_else(|| self.domain.clone().filter(|d| !d.is_empty()))
    }

    /// The organization the domain `name` is.
    async fn domain(&self, name: &str) -> Result<NamespaceView, SpaceError> {
        match namespaces::by_name(self.state.db().as_ref(), name).await? {
            Some(ns) if ns.is_organization() => Ok(ns),
            _ => Err(SpaceError::not_found("domain_id", name)),
        }
    }

    async fn check_domain(
        &self,
        org: &NamespaceView,
        access: NamespaceAccess,
        action: &str,
    ) -> Result<(), SpaceError> {
        let attempt = Attempt::new(action, &org.name);
        guard::namespace(
            self.state,
            self.parts,
            Some(self.caller),
            org,
            access,
            attempt,
        )
        .await?;
        Ok(())
    }

    /// The plugin `plugin_id`, if the caller may see it (in `domain` when one is named), and
    /// may do `access` in its domain.
    async fn plugin(
        &self,
        plugin_id: Option<&str>,
        domain: Option<&str>,
        repository_id: Option<&str>,
        access: NamespaceAccess,
        action: &str,
    ) -> Result<(SpacePluginView, NamespaceView), SpaceError> {
        let plugin_id = plugin_id
            .filter(|p| !p.is_empty())
            .ok_or_else(|| SpaceError::required("plugin_id"))?;
        check_repository(repository_id)?;
        let not_found = || SpaceError::not_found("plugin_id", plugin_id);
        if !spaceone_plugin::is_plugin_id(plugin_id) {
            return Err(not_found());
        }
        let db = self.state.db();
        let view = spaceone_plugins::get(db.as_ref(), plugin_id)
            .await?
            .filter(|v| domain.is_none_or(|d| d == v.domain))
            .ok_or_else(not_found)?;
        let org = namespaces::by_id(db.as_ref(), view.organization_id)
            .await?
            .ok_or_else(not_found)?;
        // A caller whose roles do not let it see the domain learns nothing of the plugin; one
        // that lacks only the scope is refused as such by the check below.
        let standing = standing::namespace(self.state, self.caller, org.id).await?;
        if authorize(&self.caller.subject, &Need::ViewNamespace(standing)) == Err(Denial::Forbidden)
        {
            return Err(not_found());
        }
        self.check_domain(&org, access, action).await?;
        Ok((view, org))
    }

    /// [`Self::plugin`] for the plugin a request names.
    async fn requested(
        &self,
        req: &PluginRequest,
        access: NamespaceAccess,
        action: &str,
    ) -> Result<(SpacePluginView, NamespaceView), SpaceError> {
        let domain = self.domain_of(&req.domain_id);
        self.plugin(
            req.plugin_id.as_deref(),
            domain.as_deref(),
            req.repository_id.as_deref(),
            access,
            action,
        )
        .await
    }

    /// The organizations a list or statistics query covers: the one named, or every one the
    /// caller may see (`None`: all, for a superuser).
    async fn scope(&self, domain: Option<String>) -> Result<Option<Vec<Uuid>>, SpaceError> {
        if let Some(name) = domain {
            let org = self.domain(&name).await?;
            self.check_domain(&org, NamespaceAccess::View, "spaceone plugin.list")
                .await?;
            return Ok(Some(vec![org.id]));
        }
        if self.caller.acts_as_super_user() {
            return Ok(None);
        }
        let memberships =
            teams::memberships(self.state.live_db().as_ref(), self.caller.user_id).await?;
        Ok(Some(
            memberships
                .into_iter()
                .filter(|m| {
                    let standing = NamespaceStanding {
                        owns: false,
                        team_role: TeamRole::parse(&m.role).ok(),
                    };
                    allows(&self.caller.subject, &Need::ViewNamespace(standing))
                })
                .map(|m| m.org_id)
                .collect(),
        ))
    }

    async fn plugins(&self, domain: Option<String>) -> Result<Vec<Value>, SpaceError> {
        let orgs = self.scope(domain).await?;
        let views = spaceone_plugins::list(self.state.db().as_ref(), orgs.as_deref()).await?;
        views
            .iter()
            .map(|v| Ok(serde_json::to_value(info(self.state, v)?).unwrap_or_default()))
            .collect()
    }

    /// Runs a command on a plugin and answers it as it now is (`None` once deregistered).
    async fn command(
        &self,
        domain: &str,
        plugin_id: &str,
        action: SpacePluginAction,
    ) -> Result<Option<PluginInfo>, SpaceError> {
        let done = self
            .state
            .commands
            .spaceone_plugin_command(&self.envelope, domain, plugin_id, action)
            .await?;
        self.state.settle(&done).await;
        spaceone_plugins::get(self.state.db().as_ref(), plugin_id)
            .await?
            .map(|v| info(self.state, &v))
            .transpose()
    }
}

fn check_repository(repository_id: Option<&str>) -> Result<(), SpaceError> {
    match repository_id {
        Some(r) if !r.is_empty() && r != REPOSITORY_ID => {
            Err(SpaceError::not_found("repository_id", r))
        }
        _ => Ok(()),
    }
}

fn repository_info(state: &AppState) -> RepositoryInfo {
    RepositoryInfo {
        repository_id: REPOSITORY_ID.into(),
        name: "annals".into(),
        repository_type: "local".into(),
        endpoint: state.public_url.to_string(),
    }
}

fn iso(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A plugin as the family answers it.
pub fn info(state: &AppState, v: &SpacePluginView) -> Result<PluginInfo, SpaceError> {
    let json = |text: &str| -> Result<Value, SpaceError> {
        serde_json::from_str(text).map_err(|e| SpaceError::internal(format!("stored JSON: {e}")))
    };
    Ok(PluginInfo {
        plugin_id: v.plugin_id.clone(),
        name: v.name.clone(),
        image: v.image.clone(),
        registry_url: state.registry_host.to_string(),
        state: v.state.clone(),
        service_type: v.service_type.clone(),
        resource_type: v.service_type.clone(),
        provider: v.provider.clone(),
        registry_type: v.registry_type.clone(),
        registry_config: json(&v.registry_config)?,
        capability: json(&v.capability)?,
        template: json(&v.template)?,
        docs: json(&v.docs)?,
        labels: json(&v.labels)?,
        tags: json(&v.tags)?,
        project_id: v.project_id.clone(),
        domain_id: v.domain.clone(),
        repository_info: repository_info(state),
        created_at: iso(v.created_at),
        updated_at: iso(v.updated_at),
    })
}

/// A structured field: an object, `{}` when absent.
fn object_or_empty(v: Option<Value>) -> Value {
    v.filter(|v| !v.is_null()).unwrap_or_else(|| json!({}))
}

pub async fn register(
    call: &Call<'_>,
    req: RegisterPluginRequest,
) -> Result<PluginInfo, SpaceError> {
    let domain = call
        .domain_of(&req.domain_id)
        .ok_or_else(|| SpaceError::required("domain_id"))?;
    let name = req.name.ok_or_else(|| SpaceError::required("name"))?;
    let service_type = req
        .resource_type
        .or(req.service_type)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SpaceError::required("resource_type"))?;
    let image = req
        .image
        .filter(|i| !i.is_empty())
        .ok_or_else(|| SpaceError::required("image"))?;
    let org = call.domain(&domain).await?;
    call.check_domain(&org, NamespaceAccess::Admin, "spaceone plugin.register")
        .await?;
    // The image must be a repository of this registry that the caller may read; one it may
    // not read is as unknown as a missing one.
    let image_ref = ImageRef::parse(&image)?;
    let db = call.state.db();
    let image_missing = || SpaceError::not_found("image", &image);
    let repo = repositories::get(
        db.as_ref(),
        image_ref.namespace.as_str(),
        image_ref.repository.as_str(),
    )
    .await?
    .ok_or_else(image_missing)?;
    let image_ns = namespaces::by_id(db.as_ref(), repo.namespace_id)
        .await?
        .ok_or_else(image_missing)?;
    match guard::repository(
        call.state,
        call.parts,
        Some(call.caller),
        &image_ns,
        &repo,
        RepoAccess::Read,
        Attempt::new("spaceone plugin.register", &image),
    )
    .await
    {
        Ok(_) => {}
        Err(Refused::Denied(_)) => return Err(image_missing()),
        Err(Refused::Db(e)) => return Err(e.into()),
    }
    let plugin_id = req
        .plugin_id
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| spaceone_plugin::plugin_id_for(call.envelope.command_id));
    let spec = PluginSpec {
        name,
        service_type,
        image: image_ref,
        provider: req.provider.unwrap_or_default(),
        registry_type: req
            .registry_type
            .unwrap_or_else(|| spaceone_plugin::REGISTRY_TYPES[0].to_owned()),
        registry_config: object_or_empty(req.registry_config),
        capability: object_or_empty(req.capability),
        template: object_or_empty(req.template),
        docs: object_or_empty(req.docs),
        labels: req
            .labels
            .filter(|l| !l.is_null())
            .unwrap_or_else(|| json!([])),
        tags: object_or_empty(req.tags),
        project_id: req.project_id.unwrap_or_default(),
    };
    call.command(
        &org.name,
        &plugin_id,
        SpacePluginAction::Register {
            plugin_id: plugin_id.clone(),
            spec,
        },
    )
    .await?
    .ok_or_else(|| SpaceError::not_found("plugin_id", &plugin_id))
}

pub async fn update(call: &Call<'_>, req: UpdatePluginRequest) -> Result<PluginInfo, SpaceError> {
    let asked = PluginRequest {
        plugin_id: req.plugin_id.clone(),
        domain_id: req.domain_id.clone(),
        ..Default::default()
    };
    let (view, org) = call
        .requested(&asked, NamespaceAccess::Admin, "spaceone plugin.update")
        .await?;
    let changes = PluginChanges {
        name: req.name,
        capability: req.capability,
        template: req.template,
        docs: req.docs,
        labels: req.labels,
        tags: req.tags,
    };
    let plugin_id = view.plugin_id;
    call.command(&org.name, &plugin_id, SpacePluginAction::Update(changes))
        .await?
        .ok_or_else(|| SpaceError::not_found("plugin_id", &plugin_id))
}

/// What `enable`, `disable` and `deregister` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    Enable,
    Disable,
    Deregister,
}

/// Enables, disables or deregisters a plugin; answers it as it now is (`None` once gone).
pub async fn switch(
    call: &Call<'_>,
    req: PluginRequest,
    switch: Switch,
) -> Result<Option<PluginInfo>, SpaceError> {
    let (action, name) = match switch {
        Switch::Enable => (SpacePluginAction::Enable, "spaceone plugin.enable"),
        Switch::Disable => (SpacePluginAction::Disable, "spaceone plugin.disable"),
        Switch::Deregister => (SpacePluginAction::Deregister, "spaceone plugin.deregister"),
    };
    let (view, org) = call.requested(&req, NamespaceAccess::Admin, name).await?;
    call.command(&org.name, &view.plugin_id, action).await
}

/// `get`: the plugin, limited to `only` when asked.
pub async fn get(call: &Call<'_>, req: PluginRequest) -> Result<Value, SpaceError> {
    let (view, _) = call
        .requested(&req, NamespaceAccess::View, "spaceone plugin.get")
        .await?;
    let doc = serde_json::to_value(info(call.state, &view)?).unwrap_or_default();
    Ok(match req.only.filter(|o| !o.is_empty()) {
        Some(only) => query::project(&doc, &only),
        None => doc,
    })
}

/// `get_versions`: the tags of the plugin's image, newest first.
pub async fn versions(call: &Call<'_>, req: PluginRequest) -> Result<VersionsInfo, SpaceError> {
    let (view, _) = call
        .requested(&req, NamespaceAccess::View, "spaceone plugin.get_versions")
        .await?;
    // Registering a plugin (which needs read access to its image) publishes the image's tags
    // to the domain as the plugin's versions.
    let image = ImageRef::parse(&view.image)?;
    let db = call.state.db();
    let mut versions = Vec::new();
    if let Some(repo) = repositories::get(
        db.as_ref(),
        image.namespace.as_str(),
        image.repository.as_str(),
    )
    .await?
    {
        versions = tags::live(db.as_ref(), repo.id, MAX_VERSIONS)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        spaceone_plugin::sort_versions(&mut versions);
    }
    Ok(VersionsInfo {
        version: versions.clone(),
        total_count: versions.len() as i32,
        results: versions,
    })
}

/// A `query` given as JSON text (a query string's) read as JSON.
fn query_value(q: Option<Value>) -> Result<Value, SpaceError> {
    match q {
        None | Some(Value::Null) => Ok(json!({})),
        Some(Value::String(s)) => {
            serde_json::from_str(&s).map_err(|e| SpaceError::invalid(format!("query: {e}")))
        }
        Some(v) => Ok(v),
    }
}

/// `list`: the plugins the caller may see that match.
pub async fn list(call: &Call<'_>, q: PluginQuery) -> Result<PluginsInfo, SpaceError> {
    check_repository(q.repository_id.as_deref())?;
    let query = query_value(q.query)?;
    let state = q.state.filter(|s| !s.is_empty() && s != "NONE");
    if let Some(s) = &state
        && s != "ENABLED"
        && s != "DISABLED"
    {
        return Err(SpaceError::invalid("state must be ENABLED or DISABLED"));
    }
    let exact: Vec<(&str, Option<String>)> = vec![
        ("plugin_id", q.plugin_id),
        ("name", q.name),
        ("state", state),
        ("service_type", q.resource_type.or(q.service_type)),
        ("provider", q.provider),
        (
            "registry_type",
            q.registry_type
                .filter(|r| r != spaceone_plugin::REGISTRY_TYPES[0]),
        ),
    ];
    let docs: Vec<Value> = call
        .plugins(call.domain_of(&q.domain_id))
        .await?
        .into_iter()
        .filter(|d| {
            exact.iter().all(|(k, v)| {
                v.as_ref()
                    .filter(|v| !v.is_empty())
                    .is_none_or(|v| d[*k] == Value::String(v.clone()))
            })
        })
        .collect();
    let (results, total) = query::list(docs, &query, &KEYWORD_KEYS)?;
    Ok(PluginsInfo {
        results,
        total_count: total.min(i32::MAX as usize) as i32,
    })
}

/// `stat`: SpaceONE's statistics query over the plugins the caller may see.
pub async fn stat(call: &Call<'_>, q: PluginStatQuery) -> Result<StatInfo, SpaceError> {
    check_repository(q.repository_id.as_deref())?;
    let query = match q.query {
        None | Some(Value::Null) => return Err(SpaceError::required("query")),
        other => query_value(other)?,
    };
    let docs = call.plugins(call.domain_of(&q.domain_id)).await?;
    let (results, total) = query::stat(docs, &query)?;
    Ok(StatInfo {
        results,
        total_count: total.map(|t| t.min(i32::MAX as usize) as i32),
    })
}
