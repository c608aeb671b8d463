//! DigitalOcean registry commands: a registry is created together with the organization that
//! holds its repositories (one batch: the namespace reservation, the organization, the
//! registry), changes tier, is deleted with them (one batch again), and runs garbage collections whose every step is an event
//! on the registry's stream.

use annals_domain::gc::{GcStatus, GcType};
use annals_domain::organization::{self, Organization, OrganizationCommand};
use annals_domain::registry::{self, Registry, RegistryCommand};
use annals_domain::reservation::{self, NameScope, Reservation, ReservationCommand};
use annals_domain::{Digest, DomainError, DomainEvent, NamespaceKind, NamespaceName};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateRegistry {
    pub name: String,
    pub tier: String,
    pub region: String,
    /// The account that owns it (one registry per account).
    pub owner_id: Uuid,
}

fn registry_scope(r: &Registry) -> Scope {
    match (r.namespace_id, r.name.clone()) {
        (Some(id), Some(name)) => Scope::namespace(id, name, NamespaceKind::Organization),
        _ => Scope::default(),
    }
}

impl CommandService {
    pub async fn create_registry(
        &self,
        envelope: &Envelope,
        command: CreateRegistry,
    ) -> Result<Done, CommandError> {
        let name = NamespaceName::parse(&command.name)?;
        let registry_id = registry::id_for_owner(command.owner_id);
        let organization_id = envelope.derived_id("organization");
        self.run(envelope, || async {
            let (names, org, reg): (Loaded<Reservation>, Loaded<Organization>, Loaded<Registry>) =
                tokio::try_join!(
                    self.load(reservation::namespace_stream(&name)),
                    self.load(organization::stream(organization_id)),
                    self.load(registry::stream(registry_id)),
                )?;
            let registered = registry::decide(
                &reg.state,
                &RegistryCommand::Create {
                    registry_id,
                    name: name.clone(),
                    namespace_id: organization_id,
                    owner_id: command.owner_id,
                    tier: command.tier.clone(),
                    region: command.region.clone(),
                },
            )?;
            let reserved = reservation::decide(
                &names.state,
                &ReservationCommand::Reserve {
                    name: name.to_string(),
                    owner_id: organization_id,
                    scope: NameScope::Namespace,
                },
            )?;
            let created = organization::decide(
                &org.state,
                &OrganizationCommand::Create {
                    organization_id,
                    name: name.clone(),
                    email: None,
                    registry_id: Some(registry_id),
                    creator: envelope.creator(),
                },
            )?;
            let mut plan = Plan::new(Scope::namespace(
                organization_id,
                name.clone(),
                NamespaceKind::Organization,
            ));
            plan.push(&names.stream, names.expected(), reserved)
                .push(&org.stream, org.expected(), created)
                .push(&reg.stream, reg.expected(), registered);
            Ok(plan)
        })
        .await
    }

    /// Applies a registry command to the account's registry.
    pub async fn change_registry(
        &self,
        envelope: &Envelope,
        owner_id: Uuid,
        command: RegistryCommand,
    ) -> Result<Done, CommandError> {
        let registry_id = registry::id_for_owner(owner_id);
        self.run(envelope, || async {
            let reg: Loaded<Registry> = self.load(registry::stream(registry_id)).await?;
            let events = registry::decide(&reg.state, &command)?;
            let mut plan = Plan::new(registry_scope(&reg.state));
            plan.push(&reg.stream, reg.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Deletes the account's registry together with the organization that holds its
    /// repositories and that organization's name: one batch, so a crash leaves both or neither.
    pub async fn delete_registry(
        &self,
        envelope: &Envelope,
        owner_id: Uuid,
    ) -> Result<Done, CommandError> {
        let registry_id = registry::id_for_owner(owner_id);
        self.run(envelope, || async {
            let reg: Loaded<Registry> = self.load(registry::stream(registry_id)).await?;
            let deleted = registry::decide(&reg.state, &RegistryCommand::Delete)?;
            let mut plan = Plan::new(registry_scope(&reg.state));
            plan.push(&reg.stream, reg.expected(), deleted);
            let Some(organization_id) = reg.state.namespace_id else {
                return Ok(plan);
            };
            let org: Loaded<Organization> =
                self.load(organization::stream(organization_id)).await?;
            // Deleted already through the Quay API (its name may even belong to another now).
            if org.state.is_live() {
                self.plan_organization_deletion(&org, &mut plan).await?;
            }
            Ok(plan)
        })
        .await
    }

    /// Moves the account's registry to another tier, if what it holds fits in it.
    pub async fn change_subscription(
        &self,
        envelope: &Envelope,
        owner_id: Uuid,
        tier: String,
    ) -> Result<Done, CommandError> {
        let registry_id = registry::id_for_owner(owner_id);
        self.run(envelope, || async {
            let reg: Loaded<Registry> = self.load(registry::stream(registry_id)).await?;
            let stored_bytes = match reg.state.namespace_id {
                Some(namespace_id) => self.facts().namespace_stored_bytes(namespace_id).await?,
                None => 0,
            };
            let events = registry::decide(
                &reg.state,
                &RegistryCommand::ChangeSubscription {
                    tier: tier.clone(),
                    stored_bytes,
                },
            )?;
            let mut plan = Plan::new(registry_scope(&reg.state));
            plan.push(&reg.stream, reg.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Starts a garbage collection; its id is derived from the command id.
    pub async fn start_gc(
        &self,
        envelope: &Envelope,
        owner_id: Uuid,
        gc_type: &str,
    ) -> Result<(Uuid, Done), CommandError> {
        let gc_type = GcType::parse(gc_type)?;
        let gc_id = envelope.derived_id("garbage-collection");
        let done = self
            .change_registry(
                envelope,
                owner_id,
                RegistryCommand::StartCollection { gc_id, gc_type },
            )
            .await?;
        Ok((gc_id, done))
    }

    /// Records a collection's progress, by registry id (the worker knows the registry, not the owner).
    pub async fn gc_event(
        &self,
        envelope: &Envelope,
        registry_id: Uuid,
        gc_id: Uuid,
        step: GcStep,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let reg: Loaded<Registry> = self.load(registry::stream(registry_id)).await?;
            if reg.state.active.as_ref().is_none_or(|a| a.id != gc_id) {
                return Err(DomainError::NotFound(format!(
                    "garbage collection {gc_id} is not active"
                ))
                .into());
            }
            let events = match &step {
                GcStep::Status(status) => registry::decide(
                    &reg.state,
                    &RegistryCommand::AdvanceCollection {
                        gc_id,
                        status: *status,
                    },
                )?,
                // Deleted files are recorded even while cancelling: they are gone either way.
                GcStep::BlobsDeleted(blobs) => {
                    vec![DomainEvent::GarbageCollectionBlobsDeleted {
                        registry_id,
                        gc_id,
                        freed_bytes: blobs.iter().map(|(_, s)| s).sum(),
                        blobs: blobs.clone(),
                    }]
                }
                GcStep::Finished {
                    status,
                    blobs_deleted,
                    freed_bytes,
                    error,
                } => {
                    if !status.is_final() {
                        return Err(DomainError::InvalidArgument(format!(
                            "{status} is not a final status"
                        ))
                        .into());
                    }
                    vec![DomainEvent::GarbageCollectionFinished {
                        registry_id,
                        gc_id,
                        status: *status,
                        blobs_deleted: *blobs_deleted,
                        freed_bytes: *freed_bytes,
                        error: error.clone(),
                    }]
                }
            };
            let mut plan = Plan::new(registry_scope(&reg.state));
            plan.push(&reg.stream, reg.expected(), events);
            Ok(plan)
        })
        .await
    }
}

/// One step a garbage-collection worker records.
#[derive(Debug, Clone, PartialEq)]
pub enum GcStep {
    Status(GcStatus),
    BlobsDeleted(Vec<(Digest, u64)>),
    Finished {
        status: GcStatus,
        blobs_deleted: u64,
        freed_bytes: u64,
        error: Option<String>,
    },
}
