//! Repository commands. A repository is addressed as `namespace/name`; its id is found through
//! the reservation of its name within the namespace.

use annals_domain::repository::{self, NewRepository, Repository, RepositoryCommand};
use annals_domain::reservation::{self, NameScope, Reservation, ReservationCommand};
use annals_domain::{
    DomainError, NamespaceName, RepositoryKind, RepositoryName, RepositoryState, Visibility,
};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateRepository {
    pub namespace: String,
    pub name: String,
    pub visibility: String,
    pub description: String,
    pub kind: Option<String>,
}

/// `namespace/name`, as the Quay routes address a repository.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryRef {
    pub namespace: NamespaceName,
    pub name: RepositoryName,
}

impl RepositoryRef {
    /// Splits `namespace/name` at the first `/` (repository names may contain more).
    pub fn parse(path: &str) -> Result<Self, DomainError> {
        let not_found = || DomainError::NotFound(format!("Repository {path} not found"));
        let (namespace, name) = path.split_once('/').ok_or_else(not_found)?;
        Ok(RepositoryRef {
            namespace: NamespaceName::parse(namespace).map_err(|_| not_found())?,
            name: RepositoryName::parse(name).map_err(|_| not_found())?,
        })
    }
}

impl std::fmt::Display for RepositoryRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl CommandService {
    /// Creates a repository: reserves its name in the namespace, appends its creation, and
    /// guards the owning organization's stream so a concurrent deletion of it conflicts.
    pub async fn create_repository(
        &self,
        envelope: &Envelope,
        command: CreateRepository,
    ) -> Result<Done, CommandError> {
        let namespace = NamespaceName::parse(&command.namespace)?;
        let name = RepositoryName::parse(&command.name)?;
        let visibility = Visibility::parse(&command.visibility)?;
        let kind = command
            .kind
            .as_deref()
            .map(RepositoryKind::parse)
            .transpose()?
            .unwrap_or(RepositoryKind::Image);
        let repository_id = envelope.derived_id("repository");
        self.run(envelope, || async {
            let (namespace_id, namespace_kind, owner) = self.resolve_namespace(&namespace).await?;
            // The name's reservation and the new repository's stream do not depend on each
            // other: read both at once.
            let (names, repo): (Loaded<Reservation>, Loaded<Repository>) = tokio::try_join!(
                self.load(reservation::repository_stream(namespace_id, &name)),
                self.load(repository::stream(repository_id)),
            )?;
            let reserved = reservation::decide(
                &names.state,
                &ReservationCommand::Reserve {
                    name: format!("{namespace}/{name}"),
                    owner_id: repository_id,
                    scope: NameScope::Repository,
                },
            )?;
            let created = repository::decide(
                &repo.state,
                &RepositoryCommand::Create(NewRepository {
                    repository_id,
                    namespace_id,
                    namespace_kind,
                    namespace: namespace.clone(),
                    name: name.clone(),
                    visibility,
                    description: command.description.clone(),
                    kind,
                }),
            )?;
            let scope = Scope::namespace(namespace_id, namespace.clone(), namespace_kind)
                .with_repository(repository_id, name.as_str());
            let mut plan = Plan::new(scope);
            plan.push(&owner.stream, owner.expected(), vec![])
                .push(&names.stream, names.expected(), reserved)
                .push(&repo.stream, repo.expected(), created);
            Ok(plan)
        })
        .await
    }

    pub async fn change_repository_description(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        description: String,
    ) -> Result<Done, CommandError> {
        self.change_repository(
            envelope,
            target,
            RepositoryCommand::ChangeDescription(description),
        )
        .await
    }

    pub async fn change_repository_visibility(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        visibility: &str,
    ) -> Result<Done, CommandError> {
        let visibility = Visibility::parse(visibility)?;
        self.change_repository(
            envelope,
            target,
            RepositoryCommand::ChangeVisibility(visibility),
        )
        .await
    }

    pub async fn change_repository_state(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        state: &str,
    ) -> Result<Done, CommandError> {
        let state = RepositoryState::parse(state)?;
        self.change_repository(envelope, target, RepositoryCommand::ChangeState(state))
            .await
    }

    /// Deletes the repository and frees its name in the namespace.
    pub async fn delete_repository(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (names, repo) = self.load_repository(target).await?;
            let deleted = repository::decide(&repo.state, &RepositoryCommand::Delete)?;
            let released = reservation::decide(
                &names.state,
                &ReservationCommand::Release {
                    name: target.to_string(),
                    owner_id: repo.state.id.unwrap_or_default(),
                },
            )?;
            let mut plan = Plan::new(repository_scope(&repo));
            plan.push(&repo.stream, repo.expected(), deleted).push(
                &names.stream,
                names.expected(),
                released,
            );
            Ok(plan)
        })
        .await
    }

    async fn change_repository(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: RepositoryCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (_, repo) = self.load_repository(target).await?;
            let events = repository::decide(&repo.state, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            plan.push(&repo.stream, repo.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// The live repository at `target` and the reservation that names it.
    pub(crate) async fn load_repository(
        &self,
        target: &RepositoryRef,
    ) -> Result<(Loaded<Reservation>, Loaded<Repository>), CommandError> {
        let not_found = || DomainError::NotFound(format!("Repository {target} not found"));
        let (namespace_id, _, _) =
            self.resolve_namespace(&target.namespace)
                .await
                .map_err(|e| match e {
                    CommandError::Domain(DomainError::NotFound(_)) => not_found().into(),
                    other => other,
                })?;
        let names: Loaded<Reservation> = self
            .load(reservation::repository_stream(namespace_id, &target.name))
            .await?;
        let id = names.state.owner.ok_or_else(not_found)?;
        let repo: Loaded<Repository> = self.load(repository::stream(id)).await?;
        if !repo.state.is_live() {
            return Err(not_found().into());
        }
        Ok((names, repo))
    }
}

pub(crate) fn repository_scope(repo: &Loaded<Repository>) -> Scope {
    let s = &repo.state;
    match (s.namespace_id, s.namespace.clone(), s.id, s.name.as_ref()) {
        (Some(ns_id), Some(ns), Some(id), Some(name)) => {
            // The kind is fixed at creation; the created event recorded it.
            Scope::namespace(
                ns_id,
                ns,
                s.namespace_kind
                    .unwrap_or(annals_domain::NamespaceKind::User),
            )
            .with_repository(id, name.as_str())
        }
        _ => Scope::default(),
    }
}
