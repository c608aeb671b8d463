//! Resolving a namespace name to its owner — a live organization or user — and guarding it.
//!
//! Every command on something inside a namespace (a repository, its content) appends an empty
//! guard to the owner's stream at the version it read, so a concurrent deletion of the
//! namespace conflicts with it: whichever commits second re-plans and finds the other's
//! result. When the namespace holds a DigitalOcean registry, the registry is loaded too: its
//! tier and garbage-collection state decide whether content may change.

use annals_domain::access::RepoRole;
use annals_domain::delegate::Delegate;
use annals_domain::organization::{self, Organization};
use annals_domain::prototype::Prototypes;
use annals_domain::proxy_cache::{self, ProxyCacheConfig};
use annals_domain::registry::{self, Registry, RegistryCommand};
use annals_domain::reservation::{self, Reservation};
use annals_domain::user::{self, User};
use annals_domain::{DomainError, DomainEvent, NamespaceKind, NamespaceName};
use annals_store::ExpectedVersion;
use uuid::Uuid;

use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Plan};

/// A live namespace as a command read it.
#[derive(Debug, Clone)]
pub(crate) struct Namespace {
    pub id: Uuid,
    pub name: NamespaceName,
    pub kind: NamespaceKind,
    owner_stream: String,
    owner_version: Option<u64>,
    /// The live DigitalOcean registry over the namespace, if any.
    pub registry: Option<Loaded<Registry>>,
    /// An organization's default permissions.
    prototypes: Prototypes,
    /// The upstream an organization caches, if it is a proxy cache.
    pub proxy_cache: Option<ProxyCacheConfig>,
}

impl Namespace {
    pub fn scope(&self) -> Scope {
        Scope::namespace(self.id, self.name.clone(), self.kind)
    }

    /// Guards the owner at the version read, so a concurrent deletion of the namespace
    /// conflicts with `plan`.
    pub fn guard_owner(&self, plan: &mut Plan) {
        plan.push(
            &self.owner_stream,
            ExpectedVersion::from_current(self.owner_version),
            vec![],
        );
    }

    /// Appends `events` (none: a guard) to the registry's stream at the version read, so a
    /// collection or a tier change in between conflicts with `plan`.
    pub fn guard_registry(&self, plan: &mut Plan, events: Vec<DomainEvent>) {
        if let Some(reg) = &self.registry {
            plan.push(&reg.stream, reg.expected(), events);
        }
    }

    /// What the namespace's registry (if any) records of `command`: nothing without one.
    pub fn decide_registry(
        &self,
        command: &RegistryCommand,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        self.registry
            .as_ref()
            .map_or(Ok(vec![]), |reg| registry::decide(&reg.state, command))
    }

    /// The grants a repository created here by `creator` receives from the prototypes.
    pub fn default_permissions(&self, creator: Option<&Delegate>) -> Vec<(Delegate, RepoRole)> {
        self.prototypes.grants_for(creator)
    }

    /// Both guards; what every change of a repository's content carries.
    pub fn guard(&self, plan: &mut Plan) {
        self.guard_owner(plan);
        self.guard_registry(plan, vec![]);
    }

    /// Refuses content changes by anyone but the cache itself in a proxy-cache organization.
    pub fn check_proxy_cache(&self, actor: &annals_domain::Actor) -> Result<(), DomainError> {
        proxy_cache::check_write(self.proxy_cache.as_ref(), actor)
    }

    /// Refuses content changes while a collection holds the registry read-only, unless
    /// `collection` is that collection.
    pub fn check_writable(&self, collection: Option<Uuid>) -> Result<(), DomainError> {
        self.registry
            .as_ref()
            .map_or(Ok(()), |r| r.state.check_writable_by(collection))
    }
}

impl CommandService {
    /// The live owner of a namespace name, or NotFound.
    pub(crate) async fn resolve_namespace(
        &self,
        name: &NamespaceName,
    ) -> Result<Namespace, CommandError> {
        let not_found = || DomainError::NotFound(format!("Namespace {name} does not exist"));
        let names: Loaded<Reservation> = self.load(reservation::namespace_stream(name)).await?;
        let owner = names.state.owner.ok_or_else(not_found)?;
        // Users and organizations share the namespace; the owner's own stream says which it is
        // and whether it is still live (it may have been deleted since the name was read). An
        // id is one or the other for good: an organization's stream that was never written
        // means a user.
        let org: Loaded<Organization> = self.load(organization::stream(owner)).await?;
        let (kind, stream, version, registry_id, prototypes, proxy_cache) = if org.version.is_some()
        {
            if !org.state.is_live() {
                return Err(not_found().into());
            }
            (
                NamespaceKind::Organization,
                org.stream,
                org.version,
                org.state.registry_id,
                org.state.prototypes,
                org.state.proxy_cache,
            )
        } else {
            let account: Loaded<User> = self.load(user::stream(owner)).await?;
            if !account.state.is_live() {
                return Err(not_found().into());
            }
            (
                NamespaceKind::User,
                account.stream,
                account.version,
                None,
                Prototypes::default(),
                None,
            )
        };
        let registry = match registry_id {
            Some(id) => {
                let reg: Loaded<Registry> = self.load(registry::stream(id)).await?;
                reg.state.is_live().then_some(reg)
            }
            None => None,
        };
        Ok(Namespace {
            id: owner,
            name: name.clone(),
            kind,
            owner_stream: stream,
            owner_version: version,
            registry,
            prototypes,
            proxy_cache,
        })
    }
}
