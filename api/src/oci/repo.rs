//! Opening the repository a registry request names: parse the name, authenticate for the
//! action, and find the repository — or, for a push, where it will be. The rules (the
//! namespace exists, its registry takes writes, a new repository fits in the tier) are the
//! command service's; this module only asks.

use annals_commands::{Envelope, PushTarget, RepositoryRef, Scope};
use annals_domain::access::{Denial, Need, Subject, allows};
use annals_domain::{NamespaceKind, NamespaceName, RepositoryName};
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::repositories::{self, RepositoryView};
use axum::http::request::Parts;

use super::auth::{self, RegistryCaller};
use super::error::OciError;
use crate::access::guard::{self, Attempt};
use crate::access::standing;
use crate::context;
use crate::state::AppState;

/// A repository opened for reading, and who opened it.
pub struct Opened {
    pub caller: Option<RegistryCaller>,
    pub target: RepositoryRef,
    pub repo: RepositoryView,
    pub namespace: NamespaceView,
    pub envelope: Envelope,
}

impl Opened {
    /// The metadata scope of events about this repository.
    pub fn scope(&self) -> Scope {
        let kind = if self.namespace.is_organization() {
            NamespaceKind::Organization
        } else {
            NamespaceKind::User
        };
        Scope::namespace(self.namespace.id, self.target.namespace.clone(), kind)
            .with_repository(self.repo.id, self.target.name.as_str())
    }
}

/// A repository opened for a push. It need not exist: the push's first manifest creates it.
pub struct Pushing {
    pub caller: RegistryCaller,
    pub target: RepositoryRef,
    pub push: PushTarget,
    pub envelope: Envelope,
}

/// `namespace/name` as the OCI API gives it.
pub fn parse_name(name: &str) -> Result<RepositoryRef, OciError> {
    let (namespace, repo) = name.split_once('/').ok_or_else(|| {
        OciError::name_invalid(format!(
            "invalid repository name {name:?}: use namespace/name"
        ))
    })?;
    Ok(RepositoryRef {
        namespace: NamespaceName::parse(namespace)
            .map_err(|e| OciError::name_invalid(e.to_string()))?,
        name: RepositoryName::parse(repo).map_err(|e| OciError::name_invalid(e.to_string()))?,
    })
}

/// The envelope of a registry caller's commands (an anonymous puller acts as `anonymous`).
pub fn envelope(caller: Option<&RegistryCaller>, parts: &Parts) -> Envelope {
    match caller {
        Some(c) => context::envelope(&c.caller, parts),
        None => context::anonymous_envelope(parts),
    }
}

fn scope(name: &str, push: bool) -> String {
    format!(
        "repository:{name}:{}",
        if push { "pull,push" } else { "pull" }
    )
}

/// Asks the rules whether `caller` may do `need`; a refusal of an authenticated caller is
/// recorded, an anonymous one is challenged.
#[allow(clippy::too_many_arguments)]
async fn check(
    state: &AppState,
    parts: &Parts,
    caller: Option<&RegistryCaller>,
    need: Need,
    scope: Scope,
    action: &str,
    name: &str,
    challenge_scope: &str,
) -> Result<(), OciError> {
    let who = caller.map(|c| &c.caller);
    match guard::require(state, parts, who, need, scope, Attempt::new(action, name)).await {
        Ok(()) => Ok(()),
        Err(_) if who.is_none() => Err(OciError::unauthorized(auth::challenge(
            state,
            Some(challenge_scope),
        ))),
        Err(Denial::Unauthenticated) => Err(OciError::unauthorized(auth::challenge(
            state,
            Some(challenge_scope),
        ))),
        Err(denial) => Err(OciError::denied(match denial {
            Denial::InsufficientScope(_) => "these credentials do not allow this",
            _ => "not allowed on this repository",
        })),
    }
}

/// Opens an existing repository for reading: the caller must be able to read it (anyone may
/// read a public one).
pub async fn open(state: &AppState, parts: &Parts, name: &str) -> Result<Opened, OciError> {
    let target = parse_name(name)?;
    let scope = scope(name, false);
    let caller = auth::identify(state, parts, Some(&scope)).await?;
    let db = state.db();
    let (namespace, found) = tokio::try_join!(
        namespaces::by_name(db.as_ref(), target.namespace.as_str()),
        repositories::get(db.as_ref(), target.namespace.as_str(), target.name.as_str()),
    )?;
    let (Some(namespace), Some(repo)) = (namespace, found) else {
        // An anonymous client learns nothing about what exists.
        return Err(if caller.is_none() {
            OciError::unauthorized(auth::challenge(state, Some(&scope)))
        } else {
            OciError::name_unknown(name)
        });
    };
    let standing = standing::repository(state, caller.as_ref().map(|c| &c.caller), &repo).await?;
    check(
        state,
        parts,
        caller.as_ref(),
        Need::ReadRepository(standing),
        guard::log_scope(&namespace, Some(&repo)),
        "pull",
        name,
        &scope,
    )
    .await?;
    let envelope = envelope(caller.as_ref(), parts);
    Ok(Opened {
        caller,
        target,
        repo,
        namespace,
        envelope,
    })
}

/// Opens a repository for a push: the caller must be able to write to it, or to create it in
/// its namespace when it does not exist yet; the namespace must exist and take writes (no
/// collection holds its registry read-only), and a repository the push would create must fit
/// in the registry's tier.
pub async fn open_push(state: &AppState, parts: &Parts, name: &str) -> Result<Pushing, OciError> {
    open_for_change(state, parts, name, Change::Push).await
}

/// Opens a repository for what only its owners may do (deleting blobs): the caller must
/// administer it, or, while it has no manifest yet, administer its namespace.
pub async fn open_admin(state: &AppState, parts: &Parts, name: &str) -> Result<Pushing, OciError> {
    open_for_change(state, parts, name, Change::Delete).await
}

/// What a request opening a repository for a change will do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Push,
    Delete,
}

async fn open_for_change(
    state: &AppState,
    parts: &Parts,
    name: &str,
    change: Change,
) -> Result<Pushing, OciError> {
    let target = parse_name(name)?;
    let scope = scope(name, true);
    let caller = auth::identify(state, parts, Some(&scope))
        .await?
        .ok_or_else(|| OciError::unauthorized(auth::challenge(state, Some(&scope))))?;
    let db = state.db();
    let (namespace, found) = tokio::try_join!(
        namespaces::by_name(db.as_ref(), target.namespace.as_str()),
        repositories::get(db.as_ref(), target.namespace.as_str(), target.name.as_str()),
    )?;
    let namespace = namespace.ok_or_else(|| OciError::name_unknown(name))?;
    let need = change_need(state, &caller.caller, &namespace, found.as_ref(), change).await?;
    let action = match change {
        Change::Push => "push",
        Change::Delete => "delete",
    };
    check(
        state,
        parts,
        Some(&caller),
        need,
        guard::log_scope(&namespace, found.as_ref()),
        action,
        name,
        &scope,
    )
    .await?;
    let push = state
        .commands
        .check_push(&target, &caller.caller.actor())
        .await
        .map_err(|e| match OciError::from(e) {
            e if e.code == "NAME_UNKNOWN" => OciError::name_unknown(name),
            e => e,
        })?;
    let envelope = envelope(Some(&caller), parts);
    Ok(Pushing {
        caller,
        target,
        push,
        envelope,
    })
}

/// The repository `source` names, when `caller` may mount its blobs: one it may read, or —
/// while it has no manifest yet — one it may push to (the blobs are an upload of its own).
pub async fn mount_source(
    state: &AppState,
    caller: &crate::access::Caller,
    source: &RepositoryRef,
) -> Result<Option<uuid::Uuid>, OciError> {
    let db = state.db();
    let (namespace, found) = tokio::try_join!(
        namespaces::by_name(db.as_ref(), source.namespace.as_str()),
        repositories::get(db.as_ref(), source.namespace.as_str(), source.name.as_str()),
    )?;
    let Some(namespace) = namespace else {
        return Ok(None);
    };
    Ok(match found {
        Some(repo) => may_read(state, caller, &repo).await?.then_some(repo.id),
        None if allows(
            &caller.subject,
            &change_need(state, caller, &namespace, None, Change::Push).await?,
        ) =>
        {
            state
                .commands
                .check_push(source, &caller.actor())
                .await
                .ok()
                .map(|p| p.repository_id)
        }
        None => None,
    })
}

/// Whether `caller` may read (pull from) `repo`.
pub async fn may_read(
    state: &AppState,
    caller: &crate::access::Caller,
    repo: &RepositoryView,
) -> Result<bool, OciError> {
    let standing = standing::repository(state, Some(caller), repo).await?;
    Ok(allows(&caller.subject, &Need::ReadRepository(standing)))
}

/// What `change` to `found` asks of `caller`: a push writes to it (or, when it does not exist
/// yet, creates it in `namespace`); a delete administers it (or, while it has no manifest yet,
/// its namespace).
async fn change_need(
    state: &AppState,
    caller: &crate::access::Caller,
    namespace: &NamespaceView,
    found: Option<&RepositoryView>,
    change: Change,
) -> Result<Need, annals_projections::sql::DbError> {
    Ok(match found {
        Some(repo) => {
            let standing = standing::repository(state, Some(caller), repo).await?;
            match change {
                Change::Push => Need::WriteRepository(standing),
                Change::Delete => Need::AdminRepository(standing),
            }
        }
        None => {
            let standing = standing::namespace(state, caller, namespace.id).await?;
            match change {
                Change::Push => Need::CreateRepository(standing),
                Change::Delete => Need::AdminNamespace(standing),
            }
        }
    })
}

/// Which of `asked` (`pull`, `push`, `delete`) `caller` may do on the repository `name` now:
/// what a token's `access` claim says. Asking is not acting, so nothing is recorded.
pub async fn granted_actions(
    state: &AppState,
    caller: Option<&crate::access::Caller>,
    name: &str,
    asked: &[String],
) -> Result<Vec<String>, OciError> {
    let Ok(target) = parse_name(name) else {
        return Ok(Vec::new());
    };
    let db = state.db();
    let (namespace, found) = tokio::try_join!(
        namespaces::by_name(db.as_ref(), target.namespace.as_str()),
        repositories::get(db.as_ref(), target.namespace.as_str(), target.name.as_str()),
    )?;
    let Some(namespace) = namespace else {
        return Ok(Vec::new());
    };
    let subject = caller.map_or_else(Subject::anonymous, |c| c.subject);
    let read = match (&found, caller) {
        (Some(repo), _) => allows(
            &subject,
            &Need::ReadRepository(standing::repository(state, caller, repo).await?),
        ),
        // A proxy cache's members may pull what it has not fetched yet.
        (None, Some(c)) if namespace.is_organization() => {
            annals_projections::queries::proxy_cache::config(db.as_ref(), namespace.id)
                .await?
                .is_some()
                && super::proxy::may_pull_through(state, c, &namespace).await?
        }
        (None, _) => false,
    };
    let write = match caller {
        Some(c) => allows(
            &subject,
            &change_need(state, c, &namespace, found.as_ref(), Change::Push).await?,
        ),
        None => false,
    };
    Ok(asked
        .iter()
        .filter(|a| match a.as_str() {
            "pull" => read,
            "push" | "delete" => write,
            _ => false,
        })
        .cloned()
        .collect())
}
