//! Repository commands. A repository is addressed as `namespace/name`; its id is found through
//! the reservation of its name within the namespace.

use annals_domain::access::RepoRole;
use annals_domain::delegate::Delegate;
use annals_domain::registry::RegistryCommand;
use annals_domain::repository::{self, NewRepository, Repository, RepositoryCommand};
use annals_domain::reservation::{self, NameScope, Reservation, ReservationCommand};
use annals_domain::{
    DomainError, DomainEvent, NamespaceName, RepositoryKind, RepositoryName, RepositoryState,
    Visibility,
};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::namespaces::Namespace;
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
    /// Creates a repository: reserves its name in the namespace, appends its creation, counts it
    /// against the namespace's registry tier, and guards the namespace's owner so a concurrent
    /// deletion of it conflicts.
    pub async fn create_repository(
        &self,
        envelope: &Envelope,
        command: CreateRepository,
    ) -> Result<Done, CommandError> {
        let namespace = NamespaceName::parse(&command.namespace)?;
        let name = RepositoryName::parse(&command.name)?;
        let new = NewRepositoryFields {
            visibility: Visibility::parse(&command.visibility)?,
            description: command.description.clone(),
            kind: command
                .kind
                .as_deref()
                .map(RepositoryKind::parse)
                .transpose()?
                .unwrap_or(RepositoryKind::Image),
        };
        self.run(envelope, || async {
            let ns = self.resolve_namespace(&namespace).await?;
            let slot = self.repository_slot(&ns, &name).await?;
            if slot.existing().is_some() {
                return Err(DomainError::AlreadyExists("Repository already exists".into()).into());
            }
            let mut plan = Plan::new(slot.scope(&ns));
            slot.plan_creation(&ns, &new, envelope.delegate(), vec![], &mut plan)?;
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

    /// Deletes the repository, frees its name in the namespace and its place in the tier.
    pub async fn delete_repository(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, names, repo) = self.load_repository(target).await?;
            let repository_id = repo.state.id.unwrap_or_default();
            let deleted = repository::decide(&repo.state, &RepositoryCommand::Delete)?;
            let released = reservation::decide(
                &names.state,
                &ReservationCommand::Release {
                    name: target.to_string(),
                    owner_id: repository_id,
                },
            )?;
            let uncounted =
                ns.decide_registry(&RegistryCommand::RemoveRepository { repository_id })?;
            let mut plan = Plan::new(repository_scope(&repo));
            ns.guard_owner(&mut plan);
            ns.guard_registry(&mut plan, uncounted);
            plan.push(&repo.stream, repo.expected(), deleted).push(
                &names.stream,
                names.expected(),
                released,
            );
            Ok(plan)
        })
        .await
    }

    pub(crate) async fn change_repository(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: RepositoryCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            let events = repository::decide(&repo.state, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            ns.guard_owner(&mut plan);
            plan.push(&repo.stream, repo.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// The live repository at `target`, the reservation that names it and its namespace.
    pub(crate) async fn load_repository(
        &self,
        target: &RepositoryRef,
    ) -> Result<(Namespace, Loaded<Reservation>, Loaded<Repository>), CommandError> {
        let not_found = || DomainError::NotFound(format!("Repository {target} not found"));
        let ns = self
            .resolve_namespace(&target.namespace)
            .await
            .map_err(|e| match e {
                CommandError::Domain(DomainError::NotFound(_)) => not_found().into(),
                other => other,
            })?;
        let slot = self.repository_slot(&ns, &target.name).await?;
        if slot.existing().is_none() {
            return Err(not_found().into());
        }
        Ok((ns, slot.names, slot.repo))
    }

    /// Where a repository of this name lives or will live: the name's reservation and the
    /// stream of the live repository that holds it, or else of the one it would create.
    pub(crate) async fn repository_slot(
        &self,
        ns: &Namespace,
        name: &RepositoryName,
    ) -> Result<Slot, CommandError> {
        let names: Loaded<Reservation> = self
            .load(reservation::repository_stream(ns.id, name))
            .await?;
        let id = names
            .state
            .owner
            .unwrap_or_else(|| repository::next_id(ns.id, name, names.version));
        let repo: Loaded<Repository> = self.load(repository::stream(id)).await?;
        Ok(Slot {
            id,
            name: name.clone(),
            names,
            repo,
        })
    }
}

/// How a repository created by a command starts.
#[derive(Debug, Clone)]
pub(crate) struct NewRepositoryFields {
    pub visibility: Visibility,
    pub description: String,
    pub kind: RepositoryKind,
}

impl NewRepositoryFields {
    /// What a push that creates its repository gives it, as in Quay: private, no description.
    pub fn pushed() -> Self {
        NewRepositoryFields {
            visibility: Visibility::Private,
            description: String::new(),
            kind: RepositoryKind::Image,
        }
    }
}

/// A repository name in a namespace and the streams behind it.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// The live repository's id, or the id the next one gets.
    pub id: Uuid,
    pub name: RepositoryName,
    pub names: Loaded<Reservation>,
    pub repo: Loaded<Repository>,
}

impl Slot {
    /// The live repository, if the name holds one.
    pub fn existing(&self) -> Option<&Repository> {
        (self.names.state.owner == Some(self.id) && self.repo.state.is_live())
            .then_some(&self.repo.state)
    }

    pub fn scope(&self, ns: &Namespace) -> Scope {
        ns.scope().with_repository(self.id, self.name.as_str())
    }

    /// Adds the repository's creation to `plan`, followed on its stream by `then`: the name's
    /// reservation, the creation, its place in the registry's tier, and the owner's guard.
    pub fn plan_creation(
        &self,
        ns: &Namespace,
        fields: &NewRepositoryFields,
        creator: Option<Delegate>,
        then: Vec<DomainEvent>,
        plan: &mut Plan,
    ) -> Result<(), CommandError> {
        let reserved = reservation::decide(
            &self.names.state,
            &ReservationCommand::Reserve {
                name: format!("{}/{}", ns.name, self.name),
                owner_id: self.id,
                scope: NameScope::Repository,
            },
        )?;
        let mut created = repository::decide(
            &self.repo.state,
            &RepositoryCommand::Create(NewRepository {
                repository_id: self.id,
                namespace_id: ns.id,
                namespace_kind: ns.kind,
                namespace: ns.name.clone(),
                name: self.name.clone(),
                visibility: fields.visibility,
                description: fields.description.clone(),
                kind: fields.kind,
            }),
        )?;
        let counted = ns.decide_registry(&RegistryCommand::AddRepository {
            repository_id: self.id,
        })?;
        // As in Quay, whoever creates a repository in an organization administers it (in a
        // user's own namespace the owner already does), and the namespace's default
        // permissions apply.
        let mut grants: Vec<(Delegate, RepoRole)> = creator
            .iter()
            .filter(|c| c.id != ns.id)
            .map(|c| (c.clone(), RepoRole::Admin))
            .collect();
        grants.extend(ns.default_permissions(creator.as_ref()));
        let mut state = created
            .iter()
            .fold(self.repo.state.clone(), annals_domain::Aggregate::evolve);
        for (delegate, role) in grants {
            for e in
                repository::decide(&state, &RepositoryCommand::SetPermission { delegate, role })?
            {
                state = annals_domain::Aggregate::evolve(state, &e);
                created.push(e);
            }
        }
        created.extend(then);
        ns.guard_owner(plan);
        ns.guard_registry(plan, counted);
        plan.push(&self.names.stream, self.names.expected(), reserved)
            .push(&self.repo.stream, self.repo.expected(), created);
        Ok(())
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
