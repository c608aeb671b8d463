//! Opening the repository a registry request names: parse the name, authenticate for the
//! action, find the repository (creating it on the first push, within the namespace's registry
//! tier), and refuse writes while a garbage collection holds the registry read-only.

use annals_commands::{CommandError, CreateRepository, Envelope, RepositoryRef, Scope};
use annals_domain::registry::{self, Usage};
use annals_domain::{Actor, ActorKind, DomainError, NamespaceKind, NamespaceName, RepositoryName};
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::repositories::{self, RepositoryView};
use annals_projections::queries::{content, registries};
use axum::http::request::Parts;

use super::auth::{self, RegistryCaller};
use super::error::OciError;
use crate::context;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
}

/// An opened repository and who opened it.
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
        None => {
            let mut e = context::envelope(
                &context::Caller {
                    user_id: uuid::Uuid::nil(),
                    username: "anonymous".into(),
                    super_user: false,
                },
                parts,
            );
            e.actor = Actor {
                kind: ActorKind::System,
                name: "anonymous".into(),
                id: None,
            };
            e
        }
    }
}

pub async fn open(
    state: &AppState,
    parts: &Parts,
    name: &str,
    action: Action,
) -> Result<Opened, OciError> {
    let target = parse_name(name)?;
    let scope = format!(
        "repository:{name}:{}",
        if action == Action::Push {
            "pull,push"
        } else {
            "pull"
        }
    );
    let caller = auth::identify(state, &parts.headers, Some(&scope)).await?;
    let challenge = || OciError::unauthorized(auth::challenge(state, Some(&scope)));
    if action == Action::Push {
        let who = caller.as_ref().ok_or_else(challenge)?;
        if !who.can_write {
            return Err(OciError::denied("these credentials are read-only"));
        }
    }
    let db = state.db();
    let namespace = namespaces::by_name(db.as_ref(), target.namespace.as_str()).await?;
    let found =
        repositories::get(db.as_ref(), target.namespace.as_str(), target.name.as_str()).await?;
    let envelope = envelope(caller.as_ref(), parts);
    let (repo, namespace) = match (found, namespace) {
        (Some(repo), Some(ns)) => (repo, ns),
        (_, None) if caller.is_none() => return Err(challenge()),
        (_, None) => return Err(OciError::name_unknown(name)),
        (None, Some(_)) if action == Action::Pull => {
            return Err(if caller.is_none() {
                challenge()
            } else {
                OciError::name_unknown(name)
            });
        }
        (None, Some(ns)) => {
            check_writable(state, &ns).await?;
            check_tier(state, &ns, 1, 0).await?;
            let created = state
                .commands
                .create_repository(
                    &envelope.follow_up("create-repository"),
                    CreateRepository {
                        namespace: ns.name.clone(),
                        name: target.name.to_string(),
                        visibility: "private".into(),
                        description: String::new(),
                        kind: None,
                    },
                )
                .await;
            match created {
                Ok(done) => state.settle(&done).await,
                // Someone else's push created it first.
                Err(CommandError::Domain(DomainError::AlreadyExists(_))) => {}
                Err(e) => return Err(e.into()),
            }
            let repo =
                repositories::get(db.as_ref(), target.namespace.as_str(), target.name.as_str())
                    .await?
                    .ok_or_else(|| OciError::name_unknown(name))?;
            (repo, ns)
        }
    };
    if caller.is_none() && !repo.is_public() {
        return Err(challenge());
    }
    if action == Action::Push {
        check_writable(state, &namespace).await?;
    }
    Ok(Opened {
        caller,
        target,
        repo,
        namespace,
        envelope,
    })
}

/// Refuses writes while a garbage collection holds the namespace's registry read-only.
pub async fn check_writable(state: &AppState, namespace: &NamespaceView) -> Result<(), OciError> {
    let db = state.db();
    if let Some(gc) = registries::active_gc(db.as_ref(), &namespace.name).await?
        && !matches!(gc.status.as_str(), "requested")
    {
        return Err(OciError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            format!(
                "the registry is read-only while garbage collection {} runs ({})",
                gc.id, gc.status
            ),
        )
        .with_header(axum::http::header::RETRY_AFTER, "10"));
    }
    Ok(())
}

/// Applies the registry tier's limits (when the namespace is a DigitalOcean registry) to a push
/// that adds repositories or bytes.
pub async fn check_tier(
    state: &AppState,
    namespace: &NamespaceView,
    new_repositories: u64,
    new_bytes: u64,
) -> Result<(), OciError> {
    let db = state.db();
    let Some(reg) = registries::by_name(db.as_ref(), &namespace.name).await? else {
        return Ok(());
    };
    let tier = registry::tier(&reg.tier)?;
    let (repositories, storage_bytes) = content::namespace_usage(db.as_ref(), namespace.id).await?;
    tier.check_push(
        Usage {
            repositories,
            storage_bytes,
        },
        new_repositories,
        new_bytes,
    )?;
    Ok(())
}
