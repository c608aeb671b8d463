//! SpaceONE plugin commands. A plugin lives on its own stream; its domain is an organization,
//! resolved and guarded by every command, so no plugin outlives its domain and a plugin of
//! another domain is never reached.

use annals_domain::spaceone_plugin::{self, SpacePlugin, SpacePluginCommand};
use annals_domain::{DomainError, NamespaceKind, NamespaceName};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::namespaces::Namespace;
use crate::service::{CommandService, Done, Plan};

/// What a SpaceONE plugin command acts on.
#[derive(Debug, Clone)]
pub enum SpacePluginAction {
    /// Register the plugin `plugin_id` (chosen by the client or made by
    /// `spaceone_plugin::plugin_id_for`).
    Register {
        plugin_id: String,
        spec: annals_domain::spaceone_plugin::PluginSpec,
    },
    Update(annals_domain::spaceone_plugin::PluginChanges),
    Enable,
    Disable,
    Deregister,
}

impl CommandService {
    /// The organization a SpaceONE domain names: a user's namespace is no domain.
    async fn resolve_domain(&self, domain: &str) -> Result<Namespace, CommandError> {
        let not_found = || DomainError::NotFound(format!("Domain {domain} not found"));
        let name = NamespaceName::parse(domain).map_err(|_| not_found())?;
        let ns = self.resolve_namespace(&name).await.map_err(|e| match e {
            CommandError::Domain(DomainError::NotFound(_)) => not_found().into(),
            other => other,
        })?;
        if ns.kind != NamespaceKind::Organization {
            return Err(not_found().into());
        }
        Ok(ns)
    }

    /// Runs `action` on the plugin `plugin_id` of the domain `domain`.
    pub async fn spaceone_plugin_command(
        &self,
        envelope: &Envelope,
        domain: &str,
        plugin_id: &str,
        action: SpacePluginAction,
    ) -> Result<Done, CommandError> {
        if !spaceone_plugin::is_plugin_id(plugin_id) {
            return Err(match action {
                SpacePluginAction::Register { .. } => DomainError::InvalidArgument(format!(
                    "plugin_id must be 1 to {} of a-z, 0-9, -, _ and .",
                    spaceone_plugin::MAX_ID_CHARS
                )),
                _ => DomainError::NotFound("Plugin not found".into()),
            }
            .into());
        }
        self.run(envelope, || async {
            let ns = self.resolve_domain(domain).await?;
            let plugin: Loaded<SpacePlugin> = self.load(spaceone_plugin::stream(plugin_id)).await?;
            let organization_id = ns.id;
            let command = match &action {
                SpacePluginAction::Register { plugin_id, spec } => {
                    let image = crate::RepositoryRef {
                        namespace: spec.image.namespace.clone(),
                        name: spec.image.repository.clone(),
                    };
                    let image_exists = match self.load_repository(&image).await {
                        Ok(_) => true,
                        Err(CommandError::Domain(DomainError::NotFound(_))) => false,
                        Err(e) => return Err(e),
                    };
                    SpacePluginCommand::Register {
                        plugin_id: plugin_id.clone(),
                        organization_id,
                        spec: spec.clone(),
                        image_exists,
                    }
                }
                SpacePluginAction::Update(changes) => SpacePluginCommand::Update {
                    organization_id,
                    changes: changes.clone(),
                },
                SpacePluginAction::Enable => SpacePluginCommand::Enable { organization_id },
                SpacePluginAction::Disable => SpacePluginCommand::Disable { organization_id },
                SpacePluginAction::Deregister => SpacePluginCommand::Deregister { organization_id },
            };
            let events = spaceone_plugin::decide(&plugin.state, &command)?;
            let mut plan = Plan::new(ns.scope());
            ns.guard_owner(&mut plan);
            plan.push(&plugin.stream, plugin.expected(), events);
            Ok(plan)
        })
        .await
    }
}
