//! Repositories: a named collection of images inside a namespace.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::access::RepoRole;
use crate::delegate::Delegate;

use crate::aggregate::Aggregate;
use crate::content::Content;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::mirror::Mirror;
use crate::names::{NamespaceName, RepositoryName};
use crate::values::{NamespaceKind, RepositoryKind, RepositoryState, Visibility};

pub fn stream(id: Uuid) -> String {
    format!("repository-{id}")
}

/// The id the next repository called `name` in the namespace gets, from the version of the
/// name's reservation stream: every writer that finds the name free agrees on it, so blobs
/// pushed before the first manifest are recorded on the stream of the repository that manifest
/// will create; a name freed and taken again gets a new id.
pub fn next_id(
    namespace_id: Uuid,
    name: &RepositoryName,
    reservation_version: Option<u64>,
) -> Uuid {
    let generation = reservation_version.map_or(0, |v| v + 1);
    Uuid::new_v5(
        &namespace_id,
        format!("repository {name} #{generation}").as_bytes(),
    )
}

/// Where a repository's pulls are recorded: apart from its own stream, so that reads never make
/// a push wait or conflict.
pub fn pulls_stream(id: Uuid) -> String {
    format!("pulls-{id}")
}

/// The longest description a repository keeps (64 KiB of Markdown).
pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Repository {
    pub id: Option<Uuid>,
    pub namespace_id: Option<Uuid>,
    pub namespace: Option<NamespaceName>,
    pub namespace_kind: Option<NamespaceKind>,
    pub name: Option<RepositoryName>,
    pub visibility: Option<Visibility>,
    pub description: String,
    pub state: Option<RepositoryState>,
    pub kind: Option<RepositoryKind>,
    pub deleted: bool,
    /// Manifests, tags and labels.
    pub content: Content,
    /// Roles granted on this repository, by delegate (user, robot or team) id.
    pub permissions: BTreeMap<Uuid, (Delegate, RepoRole)>,
    /// The upstream it mirrors, if any.
    pub mirror: Option<Mirror>,
}

/// Grants a repository holds at most.
pub const MAX_PERMISSIONS: usize = 10_000;

impl Repository {
    pub fn is_live(&self) -> bool {
        self.id.is_some() && !self.deleted
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRepository {
    pub repository_id: Uuid,
    pub namespace_id: Uuid,
    pub namespace_kind: NamespaceKind,
    pub namespace: NamespaceName,
    pub name: RepositoryName,
    pub visibility: Visibility,
    pub description: String,
    pub kind: RepositoryKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RepositoryCommand {
    Create(NewRepository),
    ChangeDescription(String),
    ChangeVisibility(Visibility),
    ChangeState(RepositoryState),
    Delete,
    SetPermission { delegate: Delegate, role: RepoRole },
    RemovePermission { delegate_id: Uuid },
}

impl Aggregate for Repository {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        use DomainEvent::*;
        match event {
            RepositoryCreated {
                repository_id,
                namespace_id,
                namespace_kind,
                namespace,
                name,
                visibility,
                description,
                kind,
            } => {
                self = Repository {
                    id: Some(*repository_id),
                    namespace_id: Some(*namespace_id),
                    namespace: Some(namespace.clone()),
                    namespace_kind: Some(*namespace_kind),
                    name: Some(name.clone()),
                    visibility: Some(*visibility),
                    description: description.clone(),
                    state: Some(RepositoryState::Normal),
                    kind: Some(*kind),
                    deleted: false,
                    content: Content::default(),
                    permissions: BTreeMap::new(),
                    mirror: None,
                }
            }
            RepositoryDescriptionChanged { description, .. } => {
                self.description = description.clone()
            }
            RepositoryVisibilityChanged { visibility, .. } => self.visibility = Some(*visibility),
            RepositoryStateChanged { state, .. } => self.state = Some(*state),
            RepositoryDeleted { .. } => self.deleted = true,
            RepositoryPermissionSet { delegate, role, .. } => {
                self.permissions
                    .insert(delegate.id, (delegate.clone(), *role));
            }
            RepositoryPermissionRemoved { delegate, .. } => {
                self.permissions.remove(&delegate.id);
            }
            RepositoryMirrorCreated { .. }
            | RepositoryMirrorChanged { .. }
            | RepositoryMirrorEnabled { .. }
            | RepositoryMirrorDisabled { .. }
            | RepositoryMirrorSyncRequested { .. }
            | RepositoryMirrorSyncCancelled { .. }
            | RepositoryMirrorSyncStarted { .. }
            | RepositoryMirrorTagSynced { .. }
            | RepositoryMirrorTagSyncFailed { .. }
            | RepositoryMirrorSyncFinished { .. } => Mirror::evolve(&mut self.mirror, event),
            other => self.content.evolve(other),
        }
        self
    }
}

fn check_description(description: &str) -> Result<(), DomainError> {
    if description.len() > MAX_DESCRIPTION_BYTES {
        return Err(DomainError::InvalidArgument(format!(
            "The description is {} bytes long; at most {MAX_DESCRIPTION_BYTES} are allowed",
            description.len()
        )));
    }
    Ok(())
}

pub fn decide(
    state: &Repository,
    command: &RepositoryCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    if let RepositoryCommand::Create(new) = command {
        if state.id.is_some() {
            return Err(DomainError::AlreadyExists(
                "Repository already exists".into(),
            ));
        }
        check_description(&new.description)?;
        return Ok(vec![DomainEvent::RepositoryCreated {
            repository_id: new.repository_id,
            namespace_id: new.namespace_id,
            namespace_kind: new.namespace_kind,
            namespace: new.namespace.clone(),
            name: new.name.clone(),
            visibility: new.visibility,
            description: new.description.clone(),
            kind: new.kind,
        }]);
    }
    let (Some(repository_id), true) = (state.id, state.is_live()) else {
        return Err(DomainError::NotFound("Repository not found".into()));
    };
    let event = match command {
        RepositoryCommand::Create(_) => unreachable!("handled above"),
        RepositoryCommand::ChangeDescription(description) => {
            check_description(description)?;
            (*description != state.description).then(|| DomainEvent::RepositoryDescriptionChanged {
                repository_id,
                description: description.clone(),
            })
        }
        RepositoryCommand::ChangeVisibility(visibility) => (state.visibility != Some(*visibility))
            .then_some(DomainEvent::RepositoryVisibilityChanged {
                repository_id,
                visibility: *visibility,
            }),
        RepositoryCommand::ChangeState(new_state) => {
            (state.state != Some(*new_state)).then_some(DomainEvent::RepositoryStateChanged {
                repository_id,
                state: *new_state,
            })
        }
        RepositoryCommand::SetPermission { delegate, role } => {
            let previous = state.permissions.get(&delegate.id).map(|(_, r)| *r);
            if previous.is_none() && state.permissions.len() >= MAX_PERMISSIONS {
                return Err(DomainError::InvalidArgument(format!(
                    "A repository holds at most {MAX_PERMISSIONS} permissions"
                )));
            }
            (previous != Some(*role)).then(|| DomainEvent::RepositoryPermissionSet {
                repository_id,
                delegate: delegate.clone(),
                role: *role,
                previous,
            })
        }
        RepositoryCommand::RemovePermission { delegate_id } => {
            let (delegate, role) = state.permissions.get(delegate_id).ok_or_else(|| {
                DomainError::NotFound("No permission for this delegate on the repository".into())
            })?;
            Some(DomainEvent::RepositoryPermissionRemoved {
                repository_id,
                delegate: delegate.clone(),
                role: *role,
            })
        }
        RepositoryCommand::Delete => Some(DomainEvent::RepositoryDeleted {
            repository_id,
            namespace: state
                .namespace
                .clone()
                .ok_or_else(|| DomainError::NotFound("Repository not found".into()))?,
            name: state
                .name
                .clone()
                .ok_or_else(|| DomainError::NotFound("Repository not found".into()))?,
        }),
    };
    Ok(event.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> Repository {
        let new = NewRepository {
            repository_id: Uuid::new_v4(),
            namespace_id: Uuid::new_v4(),
            namespace_kind: NamespaceKind::Organization,
            namespace: NamespaceName::parse("acme").unwrap(),
            name: RepositoryName::parse("web").unwrap(),
            visibility: Visibility::Private,
            description: String::new(),
            kind: RepositoryKind::Image,
        };
        Repository::from_history(
            &decide(&Repository::default(), &RepositoryCommand::Create(new)).unwrap(),
        )
    }

    #[test]
    fn unchanged_values_emit_nothing() {
        let repo = created();
        assert!(
            decide(
                &repo,
                &RepositoryCommand::ChangeVisibility(Visibility::Private)
            )
            .unwrap()
            .is_empty()
        );
        assert_eq!(
            decide(
                &repo,
                &RepositoryCommand::ChangeVisibility(Visibility::Public)
            )
            .unwrap()
            .len(),
            1
        );
        assert!(
            decide(
                &repo,
                &RepositoryCommand::ChangeState(RepositoryState::Normal)
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn a_deleted_repository_refuses_changes() {
        let repo = created();
        let gone = decide(&repo, &RepositoryCommand::Delete)
            .unwrap()
            .iter()
            .fold(repo, |s, e| s.evolve(e));
        assert!(matches!(
            decide(&gone, &RepositoryCommand::ChangeDescription("x".into())),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn oversized_descriptions_are_refused() {
        let repo = created();
        let long = "x".repeat(MAX_DESCRIPTION_BYTES + 1);
        assert!(decide(&repo, &RepositoryCommand::ChangeDescription(long)).is_err());
    }
}
