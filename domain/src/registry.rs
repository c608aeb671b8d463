//! A registry in DigitalOcean's sense: one per account, over the namespace of the same name, with
//! a subscription tier whose limits apply to pushes, and at most one garbage collection at a time.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::gc::{GcStatus, GcType};
use crate::names::NamespaceName;

/// The registry stream of an account (one registry per account, so the id is derived from it).
pub fn stream(registry_id: Uuid) -> String {
    format!("registry-{registry_id}")
}

/// The registry id of an account.
pub fn id_for_owner(owner_id: Uuid) -> Uuid {
    Uuid::new_v5(&owner_id, b"registry")
}

/// A subscription tier and what it includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub slug: &'static str,
    pub name: &'static str,
    /// 0 means unlimited.
    pub included_repositories: u64,
    pub included_storage_bytes: u64,
    /// Where overage is not allowed, the included storage is a hard limit on pushes.
    pub allow_storage_overage: bool,
    pub included_bandwidth_bytes: u64,
    pub monthly_price_in_cents: u64,
}

pub const TIERS: [Tier; 3] = [
    Tier {
        slug: "starter",
        name: "Starter",
        included_repositories: 1,
        included_storage_bytes: 500 * 1024 * 1024,
        allow_storage_overage: false,
        included_bandwidth_bytes: 500 * 1024 * 1024,
        monthly_price_in_cents: 0,
    },
    Tier {
        slug: "basic",
        name: "Basic",
        included_repositories: 5,
        included_storage_bytes: 5 * 1024 * 1024 * 1024,
        allow_storage_overage: true,
        included_bandwidth_bytes: 5 * 1024 * 1024 * 1024,
        monthly_price_in_cents: 500,
    },
    Tier {
        slug: "professional",
        name: "Professional",
        included_repositories: 0,
        included_storage_bytes: 100 * 1024 * 1024 * 1024,
        allow_storage_overage: true,
        included_bandwidth_bytes: 100 * 1024 * 1024 * 1024,
        monthly_price_in_cents: 2000,
    },
];

pub const REGIONS: [&str; 6] = ["nyc3", "sfo3", "ams3", "sgp1", "fra1", "syd1"];

pub fn tier(slug: &str) -> Result<Tier, DomainError> {
    TIERS.into_iter().find(|t| t.slug == slug).ok_or_else(|| {
        DomainError::InvalidArgument(format!(
            "invalid subscription tier {slug:?}: use one of {:?}",
            TIERS.map(|t| t.slug)
        ))
    })
}

/// What a registry holds now, for the tier's limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub repositories: u64,
    pub storage_bytes: u64,
}

impl Tier {
    /// Whether a push that adds `new_repositories` and `new_bytes` stays within the tier.
    pub fn check_push(
        &self,
        usage: Usage,
        new_repositories: u64,
        new_bytes: u64,
    ) -> Result<(), DomainError> {
        if self.included_repositories > 0
            && new_repositories > 0
            && usage.repositories + new_repositories > self.included_repositories
        {
            return Err(DomainError::Forbidden(format!(
                "the {} tier allows {} repositories; upgrade the subscription to push more",
                self.slug, self.included_repositories
            )));
        }
        if !self.allow_storage_overage
            && new_bytes > 0
            && usage.storage_bytes + new_bytes > self.included_storage_bytes
        {
            return Err(DomainError::Forbidden(format!(
                "the {} tier includes {} bytes of storage and {} are used; upgrade the subscription to push more",
                self.slug, self.included_storage_bytes, usage.storage_bytes
            )));
        }
        Ok(())
    }

    /// Whether a registry with this usage may move to this tier.
    pub fn eligible(&self, usage: Usage) -> Vec<&'static str> {
        let mut reasons = Vec::new();
        if self.included_repositories > 0 && usage.repositories > self.included_repositories {
            reasons.push("OverRepositoryLimit");
        }
        if !self.allow_storage_overage && usage.storage_bytes > self.included_storage_bytes {
            reasons.push("OverStorageLimit");
        }
        reasons
    }
}

/// One garbage collection as the registry remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: Uuid,
    pub gc_type: GcType,
    pub status: GcStatus,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    pub id: Option<Uuid>,
    pub name: Option<NamespaceName>,
    pub namespace_id: Option<Uuid>,
    pub tier: Option<String>,
    pub deleted: bool,
    /// The collection not yet finished, if any.
    pub active: Option<Collection>,
    /// Every collection ever started, for cancel requests naming an old one.
    pub collections: Vec<Uuid>,
    /// The live repositories of its namespace, counted against the tier.
    pub repositories: BTreeSet<Uuid>,
}

impl Registry {
    pub fn is_live(&self) -> bool {
        self.id.is_some() && !self.deleted
    }

    /// Pushes are refused while a collection holds the registry read-only.
    pub fn read_only(&self) -> bool {
        self.active
            .as_ref()
            .is_some_and(|c| c.status.blocks_writes())
    }

    /// Refuses a change to the content of the registry's repositories while a collection holds
    /// it read-only (only the collection itself changes content then).
    pub fn check_writable(&self) -> Result<(), DomainError> {
        self.check_writable_by(None)
    }

    /// [`Self::check_writable`], for a change made by `collection` when it is one: the active
    /// collection itself deletes what it collects while everyone else waits.
    pub fn check_writable_by(&self, collection: Option<Uuid>) -> Result<(), DomainError> {
        match &self.active {
            Some(gc) if collection == Some(gc.id) => Ok(()),
            Some(gc) if gc.status.blocks_writes() => Err(DomainError::Unavailable(format!(
                "the registry is read-only while garbage collection {} runs ({})",
                gc.id, gc.status
            ))),
            _ => Ok(()),
        }
    }

    /// The tier's rules for a push that adds `new_bytes` to a namespace that stores
    /// `stored_bytes` now, and whether the registry takes writes at all.
    pub fn check_storage(&self, stored_bytes: u64, new_bytes: u64) -> Result<(), DomainError> {
        self.check_writable()?;
        self.current_tier()?.check_push(
            Usage {
                repositories: self.repositories.len() as u64,
                storage_bytes: stored_bytes,
            },
            0,
            new_bytes,
        )
    }

    /// Whether the tier's storage is a hard limit (then a push needs the namespace's usage).
    pub fn limits_storage(&self) -> bool {
        self.current_tier().is_ok_and(|t| !t.allow_storage_overage)
    }

    fn current_tier(&self) -> Result<Tier, DomainError> {
        tier(self.tier.as_deref().unwrap_or_default())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RegistryCommand {
    Create {
        registry_id: Uuid,
        name: NamespaceName,
        namespace_id: Uuid,
        owner_id: Uuid,
        tier: String,
        region: String,
    },
    /// Move to another tier; `stored_bytes` is what the namespace stores now.
    ChangeSubscription {
        tier: String,
        stored_bytes: u64,
    },
    Delete,
    /// A repository is being created in the registry's namespace: within the tier, and not
    /// while a collection holds the registry read-only.
    AddRepository {
        repository_id: Uuid,
    },
    /// A repository of the namespace is being deleted.
    RemoveRepository {
        repository_id: Uuid,
    },
    StartCollection {
        gc_id: Uuid,
        gc_type: GcType,
    },
    CancelCollection {
        gc_id: Uuid,
    },
    /// The worker moved the collection on.
    AdvanceCollection {
        gc_id: Uuid,
        status: GcStatus,
    },
}

impl Aggregate for Registry {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        use DomainEvent::*;
        match event {
            RegistryCreated {
                registry_id,
                name,
                namespace_id,
                tier,
                ..
            } => {
                self = Registry {
                    id: Some(*registry_id),
                    name: Some(name.clone()),
                    namespace_id: Some(*namespace_id),
                    tier: Some(tier.clone()),
                    // A registry created again after a deletion keeps its collection history.
                    collections: std::mem::take(&mut self.collections),
                    ..Registry::default()
                }
            }
            RegistrySubscriptionChanged { tier, .. } => self.tier = Some(tier.clone()),
            RegistryDeleted { .. } => self.deleted = true,
            RegistryRepositoryAdded { repository_id, .. } => {
                self.repositories.insert(*repository_id);
            }
            RegistryRepositoryRemoved { repository_id, .. } => {
                self.repositories.remove(repository_id);
            }
            GarbageCollectionRequested { gc_id, gc_type, .. } => {
                self.active = Some(Collection {
                    id: *gc_id,
                    gc_type: *gc_type,
                    status: GcStatus::Requested,
                });
                self.collections.push(*gc_id);
            }
            GarbageCollectionStatusChanged { gc_id, status, .. } => {
                if let Some(active) = self.active.as_mut().filter(|a| a.id == *gc_id) {
                    active.status = *status;
                }
            }
            GarbageCollectionFinished { gc_id, .. }
                if self.active.as_ref().is_some_and(|a| a.id == *gc_id) =>
            {
                self.active = None;
            }
            _ => {}
        }
        self
    }
}

pub fn decide(
    state: &Registry,
    command: &RegistryCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    use DomainEvent::*;
    if let RegistryCommand::Create {
        registry_id,
        name,
        namespace_id,
        owner_id,
        tier: slug,
        region,
    } = command
    {
        if state.is_live() {
            return Err(DomainError::AlreadyExists(
                "a registry already exists for this account".into(),
            ));
        }
        tier(slug)?;
        if !REGIONS.contains(&region.as_str()) {
            return Err(DomainError::InvalidArgument(format!(
                "invalid region {region:?}: use one of {REGIONS:?}"
            )));
        }
        return Ok(vec![RegistryCreated {
            registry_id: *registry_id,
            name: name.clone(),
            namespace_id: *namespace_id,
            owner_id: *owner_id,
            tier: slug.clone(),
            region: region.clone(),
        }]);
    }
    let (Some(registry_id), Some(name), true) = (state.id, state.name.clone(), state.is_live())
    else {
        return Err(DomainError::NotFound("registry not found".into()));
    };
    Ok(match command {
        RegistryCommand::Create { .. } => unreachable!("handled above"),
        RegistryCommand::ChangeSubscription {
            tier: slug,
            stored_bytes,
        } => {
            let t = tier(slug)?;
            let reasons = t.eligible(Usage {
                repositories: state.repositories.len() as u64,
                storage_bytes: *stored_bytes,
            });
            if !reasons.is_empty() {
                return Err(DomainError::Forbidden(format!(
                    "the registry is not eligible for the {slug} tier: {}",
                    reasons.join(", ")
                )));
            }
            if state.tier.as_deref() == Some(slug.as_str()) {
                vec![]
            } else {
                vec![RegistrySubscriptionChanged {
                    registry_id,
                    name,
                    tier: slug.clone(),
                }]
            }
        }
        RegistryCommand::Delete => {
            if state.active.is_some() {
                return Err(DomainError::Forbidden(
                    "a garbage collection is running; cancel it or wait for it to end".into(),
                ));
            }
            vec![RegistryDeleted { registry_id, name }]
        }
        RegistryCommand::AddRepository { repository_id } => {
            state.check_writable()?;
            if state.repositories.contains(repository_id) {
                return Ok(vec![]);
            }
            state.current_tier()?.check_push(
                Usage {
                    repositories: state.repositories.len() as u64,
                    storage_bytes: 0,
                },
                1,
                0,
            )?;
            vec![RegistryRepositoryAdded {
                registry_id,
                repository_id: *repository_id,
            }]
        }
        RegistryCommand::RemoveRepository { repository_id } => {
            state.check_writable()?;
            if !state.repositories.contains(repository_id) {
                return Ok(vec![]);
            }
            vec![RegistryRepositoryRemoved {
                registry_id,
                repository_id: *repository_id,
            }]
        }
        RegistryCommand::StartCollection { gc_id, gc_type } => {
            if let Some(active) = &state.active {
                return Err(DomainError::AlreadyExists(format!(
                    "garbage collection {} is already active",
                    active.id
                )));
            }
            vec![GarbageCollectionRequested {
                registry_id,
                name,
                gc_id: *gc_id,
                gc_type: *gc_type,
            }]
        }
        RegistryCommand::CancelCollection { gc_id } => match &state.active {
            Some(active) if active.id == *gc_id => {
                if active.status == GcStatus::Cancelling {
                    vec![]
                } else {
                    vec![GarbageCollectionStatusChanged {
                        registry_id,
                        gc_id: *gc_id,
                        status: GcStatus::Cancelling,
                    }]
                }
            }
            _ if state.collections.contains(gc_id) => {
                return Err(DomainError::Forbidden(format!(
                    "garbage collection {gc_id} has already ended"
                )));
            }
            _ => {
                return Err(DomainError::NotFound(format!(
                    "garbage collection {gc_id} not found"
                )));
            }
        },
        RegistryCommand::AdvanceCollection { gc_id, status } => {
            let Some(active) = state.active.as_ref().filter(|a| a.id == *gc_id) else {
                return Err(DomainError::NotFound(format!(
                    "garbage collection {gc_id} is not active"
                )));
            };
            // A cancel request wins over the worker's next step, except a final one.
            if active.status == GcStatus::Cancelling && !status.is_final() {
                return Err(DomainError::Forbidden(
                    "the collection is being cancelled".into(),
                ));
            }
            if active.status == *status || status.is_final() {
                // Final statuses are recorded by GarbageCollectionFinished (see the worker).
                vec![]
            } else {
                vec![GarbageCollectionStatusChanged {
                    registry_id,
                    gc_id: *gc_id,
                    status: *status,
                }]
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> Registry {
        let cmd = RegistryCommand::Create {
            registry_id: Uuid::new_v4(),
            name: NamespaceName::parse("acme").unwrap(),
            namespace_id: Uuid::new_v4(),
            owner_id: Uuid::new_v4(),
            tier: "basic".into(),
            region: "fra1".into(),
        };
        Registry::from_history(&decide(&Registry::default(), &cmd).unwrap())
    }

    fn apply(state: Registry, command: RegistryCommand) -> Registry {
        decide(&state, &command)
            .unwrap()
            .iter()
            .fold(state, |s, e| s.evolve(e))
    }

    #[test]
    fn one_collection_at_a_time_and_cancel_moves_it_to_cancelling() {
        let gc = Uuid::new_v4();
        let r = apply(
            created(),
            RegistryCommand::StartCollection {
                gc_id: gc,
                gc_type: GcType::UnreferencedBlobsOnly,
            },
        );
        assert!(matches!(
            decide(
                &r,
                &RegistryCommand::StartCollection {
                    gc_id: Uuid::new_v4(),
                    gc_type: GcType::UnreferencedBlobsOnly
                }
            ),
            Err(DomainError::AlreadyExists(_))
        ));
        assert!(!r.read_only());
        let r = apply(
            r,
            RegistryCommand::AdvanceCollection {
                gc_id: gc,
                status: GcStatus::WaitingForWrites,
            },
        );
        assert!(r.read_only());
        let r = apply(r, RegistryCommand::CancelCollection { gc_id: gc });
        assert_eq!(r.active.as_ref().unwrap().status, GcStatus::Cancelling);
        assert!(
            decide(
                &r,
                &RegistryCommand::AdvanceCollection {
                    gc_id: gc,
                    status: GcStatus::DeletingBlobs
                }
            )
            .is_err()
        );
        assert!(matches!(
            decide(
                &r,
                &RegistryCommand::CancelCollection {
                    gc_id: Uuid::new_v4()
                }
            ),
            Err(DomainError::NotFound(_))
        ));
    }

    #[test]
    fn repositories_count_against_the_tier_and_wait_for_a_collection() {
        let r = apply(
            created(),
            RegistryCommand::ChangeSubscription {
                tier: "starter".into(),
                stored_bytes: 0,
            },
        );
        let first = Uuid::new_v4();
        let r = apply(
            r,
            RegistryCommand::AddRepository {
                repository_id: first,
            },
        );
        // The same repository again changes nothing; a second one is over the starter tier.
        assert_eq!(
            decide(
                &r,
                &RegistryCommand::AddRepository {
                    repository_id: first
                }
            ),
            Ok(vec![])
        );
        let second = RegistryCommand::AddRepository {
            repository_id: Uuid::new_v4(),
        };
        assert!(matches!(
            decide(&r, &second),
            Err(DomainError::Forbidden(_))
        ));
        assert!(matches!(
            decide(
                &r,
                &RegistryCommand::ChangeSubscription {
                    tier: "starter".into(),
                    stored_bytes: 600 * 1024 * 1024
                }
            ),
            Err(DomainError::Forbidden(_))
        ));
        let r = apply(
            r,
            RegistryCommand::RemoveRepository {
                repository_id: first,
            },
        );
        assert!(decide(&r, &second).is_ok());
        assert!(r.check_storage(0, 10).is_ok());
        assert!(r.check_storage(500 * 1024 * 1024, 1).is_err());

        let gc = Uuid::new_v4();
        let r = apply(
            r,
            RegistryCommand::StartCollection {
                gc_id: gc,
                gc_type: GcType::UnreferencedBlobsOnly,
            },
        );
        let r = apply(
            r,
            RegistryCommand::AdvanceCollection {
                gc_id: gc,
                status: GcStatus::WaitingForWrites,
            },
        );
        assert!(matches!(
            decide(&r, &second),
            Err(DomainError::Unavailable(_))
        ));
        assert!(matches!(
            r.check_storage(0, 1),
            Err(DomainError::Unavailable(_))
        ));
    }

    #[test]
    fn tiers_limit_repositories_and_hard_storage() {
        let starter = tier("starter").unwrap();
        let one = Usage {
            repositories: 1,
            storage_bytes: 0,
        };
        assert!(starter.check_push(one, 1, 0).is_err());
        assert!(starter.check_push(one, 0, 10).is_ok());
        assert!(
            starter
                .check_push(one, 0, starter.included_storage_bytes + 1)
                .is_err()
        );
        let pro = tier("professional").unwrap();
        assert!(
            pro.check_push(
                Usage {
                    repositories: 10_000,
                    storage_bytes: 0
                },
                1,
                0
            )
            .is_ok()
        );
        assert!(tier("gold").is_err());
    }
}
