//! A namespace's storage quota (Quay's namespace quotas): at most one per namespace, with
//! `Warning` and `Reject` limits at a percentage of its bytes. It lives on its own stream,
//! `quota-<namespace id>`, so a push loads and guards it without touching the namespace's
//! account; quota and limit ids are numbers counted on that stream (never reused), as Quay's
//! clients expect numeric ids.
//!
//! Usage is what a push would make the namespace hold (the bytes of the distinct blobs its
//! manifests reference); [`Quota::check_push`] decides from the usage before and the bytes a
//! push adds whether it passes a `Reject` limit and which `Warning` limit it crosses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{NamespaceName, RepositoryName};

pub fn stream(namespace_id: Uuid) -> String {
    format!("quota-{namespace_id}")
}

/// The largest quota: what a signed 64-bit column holds, as in Quay.
pub const MAX_LIMIT_BYTES: i64 = i64::MAX;
/// What the registry answers a push that would pass a `Reject` limit (Quay's message).
pub const EXCEEDED: &str = "Quota has been exceeded on namespace";

/// What a limit does when usage reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LimitType {
    Warning,
    Reject,
}

impl LimitType {
    /// Quay's names, case-insensitively.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.to_ascii_lowercase().as_str() {
            "warning" => Ok(LimitType::Warning),
            "reject" => Ok(LimitType::Reject),
            _ => Err(DomainError::InvalidArgument(
                "Quota type must be one of [Warning, Reject]".into(),
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            LimitType::Warning => "Warning",
            LimitType::Reject => "Reject",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit_type: LimitType,
    pub threshold_percent: u8,
}

/// The live quota.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Current {
    pub quota_id: u64,
    pub limit_bytes: u64,
    pub limits: BTreeMap<u64, Limit>,
}

impl Current {
    /// The bytes a limit at `percent` allows.
    pub fn allowed(&self, percent: u8) -> u64 {
        (self.limit_bytes as u128 * percent as u128 / 100) as u64
    }
}

/// The quota stream: the live quota, if any, and the last ids given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Quota {
    pub current: Option<Current>,
    pub last_quota_id: u64,
    pub last_limit_id: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuotaCommand {
    Create {
        limit_bytes: i64,
    },
    /// `limit_bytes: None` changes nothing (Quay's PUT without a size).
    Change {
        quota_id: u64,
        limit_bytes: Option<i64>,
    },
    Delete {
        quota_id: u64,
    },
    CreateLimit {
        quota_id: u64,
        limit_type: String,
        threshold_percent: i64,
    },
    ChangeLimit {
        quota_id: u64,
        limit_id: u64,
        limit_type: Option<String>,
        threshold_percent: Option<i64>,
    },
    DeleteLimit {
        quota_id: u64,
        limit_id: u64,
    },
}

/// The namespace a quota command acts on, as its events name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub namespace_id: Uuid,
    pub namespace: NamespaceName,
}

/// A push as the quota sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PushUsage {
    pub repository_id: Uuid,
    pub repository: RepositoryName,
    /// What the namespace's manifests reference now.
    pub usage_bytes: u64,
    /// The bytes the push adds (its blobs no manifest of the namespace references yet).
    pub added_bytes: u64,
}

fn limit_bytes(value: i64) -> Result<u64, DomainError> {
    if value <= 0 {
        return Err(DomainError::InvalidArgument(format!(
            "Invalid quota size limit value: '{value}'"
        )));
    }
    Ok(value as u64)
}

fn percent(value: i64) -> Result<u8, DomainError> {
    if !(1..=100).contains(&value) {
        return Err(DomainError::InvalidArgument(
            "Quota limit threshold must be between 1 and 100".into(),
        ));
    }
    Ok(value as u8)
}

impl Quota {
    fn live(&self, quota_id: u64) -> Result<&Current, DomainError> {
        self.current
            .as_ref()
            .filter(|q| q.quota_id == quota_id)
            .ok_or_else(|| DomainError::NotFound(format!("Quota {quota_id} not found")))
    }

    fn limit(&self, quota_id: u64, limit_id: u64) -> Result<(&Current, Limit), DomainError> {
        let q = self.live(quota_id)?;
        let limit =
            q.limits.get(&limit_id).copied().ok_or_else(|| {
                DomainError::NotFound(format!("Quota limit {limit_id} not found"))
            })?;
        Ok((q, limit))
    }

    /// Refuses a push that adds bytes past a `Reject` limit; answers the `Warning` limit the
    /// push crosses (the highest, as Quay reports one), as the event that records it, and —
    /// under a `Reject` limit — the charge that serializes such pushes. A push that adds
    /// nothing (a re-tag) is never refused.
    pub fn check_push(
        &self,
        owner: &Owner,
        push: &PushUsage,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        let Some(q) = &self.current else {
            return Ok(vec![]);
        };
        let after = push.usage_bytes.saturating_add(push.added_bytes);
        let rejected = q.limits.values().any(|l| {
            l.limit_type == LimitType::Reject
                && push.added_bytes > 0
                && after > q.allowed(l.threshold_percent)
        });
        if rejected {
            return Err(DomainError::Forbidden(EXCEEDED.into()));
        }
        let crossed = q
            .limits
            .values()
            .filter(|l| l.limit_type == LimitType::Warning)
            .filter(|l| {
                let allowed = q.allowed(l.threshold_percent);
                push.usage_bytes < allowed && after >= allowed
            })
            .map(|l| l.threshold_percent)
            .max();
        let rejecting = q.limits.values().any(|l| l.limit_type == LimitType::Reject);
        let charge = (rejecting && push.added_bytes > 0).then_some(DomainEvent::QuotaCharged {
            namespace_id: owner.namespace_id,
            repository_id: push.repository_id,
            added_bytes: push.added_bytes,
            usage_bytes: after,
        });
        let warning = crossed.map(|threshold_percent| DomainEvent::QuotaWarningReached {
            namespace_id: owner.namespace_id,
            namespace: owner.namespace.clone(),
            repository_id: push.repository_id,
            repository: push.repository.clone(),
            quota_id: q.quota_id,
            limit_bytes: q.limit_bytes,
            threshold_percent,
            usage_bytes: after,
        });
        Ok(warning.into_iter().chain(charge).collect())
    }
}

impl Aggregate for Quota {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        use DomainEvent::*;
        match event {
            QuotaCreated {
                quota_id,
                limit_bytes,
                ..
            } => {
                self.last_quota_id = *quota_id;
                self.current = Some(Current {
                    quota_id: *quota_id,
                    limit_bytes: *limit_bytes,
                    limits: BTreeMap::new(),
                });
            }
            QuotaChanged { limit_bytes, .. } => {
                if let Some(q) = &mut self.current {
                    q.limit_bytes = *limit_bytes;
                }
            }
            QuotaDeleted { .. } => self.current = None,
            QuotaLimitCreated {
                limit_id,
                limit_type,
                threshold_percent,
                ..
            }
            | QuotaLimitChanged {
                limit_id,
                limit_type,
                threshold_percent,
                ..
            } => {
                self.last_limit_id = self.last_limit_id.max(*limit_id);
                if let Some(q) = &mut self.current {
                    q.limits.insert(
                        *limit_id,
                        Limit {
                            limit_type: *limit_type,
                            threshold_percent: *threshold_percent,
                        },
                    );
                }
            }
            QuotaLimitDeleted { limit_id, .. } => {
                if let Some(q) = &mut self.current {
                    q.limits.remove(limit_id);
                }
            }
            _ => {}
        }
        self
    }
}

pub fn decide(
    state: &Quota,
    owner: &Owner,
    command: &QuotaCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let namespace_id = owner.namespace_id;
    let namespace = owner.namespace.clone();
    Ok(vec![match command {
        QuotaCommand::Create { limit_bytes: bytes } => {
            if state.current.is_some() {
                return Err(DomainError::InvalidArgument(format!(
                    "Quota for '{namespace}' already exists"
                )));
            }
            DomainEvent::QuotaCreated {
                namespace_id,
                namespace,
                quota_id: state.last_quota_id + 1,
                limit_bytes: limit_bytes(*bytes)?,
            }
        }
        QuotaCommand::Change {
            quota_id,
            limit_bytes: bytes,
        } => {
            let q = state.live(*quota_id)?;
            let Some(bytes) = bytes else {
                return Ok(vec![]);
            };
            DomainEvent::QuotaChanged {
                namespace_id,
                namespace,
                quota_id: *quota_id,
                limit_bytes: limit_bytes(*bytes)?,
                previous_limit_bytes: q.limit_bytes,
            }
        }
        QuotaCommand::Delete { quota_id } => {
            let q = state.live(*quota_id)?;
            DomainEvent::QuotaDeleted {
                namespace_id,
                namespace,
                quota_id: *quota_id,
                limit_bytes: q.limit_bytes,
            }
        }
        QuotaCommand::CreateLimit {
            quota_id,
            limit_type,
            threshold_percent,
        } => {
            let q = state.live(*quota_id)?;
            let threshold_percent = percent(*threshold_percent)?;
            let limit_type = LimitType::parse(limit_type)?;
            let wanted = Limit {
                limit_type,
                threshold_percent,
            };
            if q.limits.values().any(|l| *l == wanted) {
                return Err(DomainError::InvalidArgument(
                    "Quota limit already exists".into(),
                ));
            }
            if limit_type == LimitType::Reject
                && q.limits.values().any(|l| l.limit_type == LimitType::Reject)
            {
                return Err(DomainError::InvalidArgument(
                    "Only one quota limit of type 'Reject' allowed.".into(),
                ));
            }
            DomainEvent::QuotaLimitCreated {
                namespace_id,
                namespace,
                quota_id: *quota_id,
                limit_id: state.last_limit_id + 1,
                limit_type,
                threshold_percent,
            }
        }
        QuotaCommand::ChangeLimit {
            quota_id,
            limit_id,
            limit_type,
            threshold_percent,
        } => {
            let (q, previous) = state.limit(*quota_id, *limit_id)?;
            let limit_type = match limit_type {
                Some(t) => LimitType::parse(t)?,
                None => previous.limit_type,
            };
            let threshold_percent = match threshold_percent {
                Some(p) => percent(*p)?,
                None => previous.threshold_percent,
            };
            if limit_type == LimitType::Reject
                && q.limits
                    .iter()
                    .any(|(id, l)| id != limit_id && l.limit_type == LimitType::Reject)
            {
                return Err(DomainError::InvalidArgument(
                    "Only one quota limit of type 'Reject' allowed.".into(),
                ));
            }
            DomainEvent::QuotaLimitChanged {
                namespace_id,
                namespace,
                quota_id: *quota_id,
                limit_id: *limit_id,
                limit_type,
                threshold_percent,
                previous_type: previous.limit_type,
                previous_threshold_percent: previous.threshold_percent,
            }
        }
        QuotaCommand::DeleteLimit { quota_id, limit_id } => {
            let (_, limit) = state.limit(*quota_id, *limit_id)?;
            DomainEvent::QuotaLimitDeleted {
                namespace_id,
                namespace,
                quota_id: *quota_id,
                limit_id: *limit_id,
                limit_type: limit.limit_type,
                threshold_percent: limit.threshold_percent,
            }
        }
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            namespace_id: Uuid::from_u128(1),
            namespace: NamespaceName::parse("acme").unwrap(),
        }
    }

    fn run(state: Quota, command: QuotaCommand) -> Result<Quota, DomainError> {
        Ok(decide(&state, &owner(), &command)?
            .iter()
            .fold(state, |s, e| s.evolve(e)))
    }

    fn push(usage_bytes: u64, added_bytes: u64) -> PushUsage {
        PushUsage {
            repository_id: Uuid::from_u128(2),
            repository: RepositoryName::parse("app").unwrap(),
            usage_bytes,
            added_bytes,
        }
    }

    fn with_limits() -> Quota {
        let mut q = run(Quota::default(), QuotaCommand::Create { limit_bytes: 1000 }).unwrap();
        for (t, p) in [("Warning", 50), ("warning", 80), ("Reject", 100)] {
            q = run(
                q,
                QuotaCommand::CreateLimit {
                    quota_id: 1,
                    limit_type: t.into(),
                    threshold_percent: p,
                },
            )
            .unwrap();
        }
        q
    }

    #[test]
    fn one_quota_with_bounded_sizes_and_limits() {
        for bad in [0, -5] {
            assert!(matches!(
                run(Quota::default(), QuotaCommand::Create { limit_bytes: bad }),
                Err(DomainError::InvalidArgument(_))
            ));
        }
        let q = with_limits();
        assert_eq!(q.current.as_ref().unwrap().limits.len(), 3);
        assert!(run(q.clone(), QuotaCommand::Create { limit_bytes: 5 }).is_err());
        for (t, p) in [
            ("Info", 10),
            ("Warning", 0),
            ("Warning", 101),
            ("Warning", 50),
        ] {
            let made = QuotaCommand::CreateLimit {
                quota_id: 1,
                limit_type: t.into(),
                threshold_percent: p,
            };
            assert!(run(q.clone(), made).is_err(), "{t} {p}");
        }
        let second_reject = QuotaCommand::CreateLimit {
            quota_id: 1,
            limit_type: "Reject".into(),
            threshold_percent: 90,
        };
        assert!(run(q.clone(), second_reject).is_err());
        assert!(matches!(
            run(q.clone(), QuotaCommand::Delete { quota_id: 2 }),
            Err(DomainError::NotFound(_))
        ));
        let gone = run(q, QuotaCommand::Delete { quota_id: 1 }).unwrap();
        let again = run(gone, QuotaCommand::Create { limit_bytes: 7 }).unwrap();
        let current = again.current.unwrap();
        assert_eq!((current.quota_id, current.limits.len()), (2, 0));
    }

    #[test]
    fn a_push_past_reject_is_refused_and_a_warning_is_crossed_once() {
        let q = with_limits();
        assert_eq!(
            q.check_push(&owner(), &push(900, 101)),
            Err(DomainError::Forbidden(EXCEEDED.into()))
        );
        assert!(q.check_push(&owner(), &push(1200, 0)).unwrap().is_empty());
        // Under a `Reject` limit every push that adds bytes is charged (after any warning).
        let crossed = q.check_push(&owner(), &push(100, 750)).unwrap();
        assert!(matches!(
            crossed.as_slice(),
            [
                DomainEvent::QuotaWarningReached {
                    threshold_percent: 80,
                    usage_bytes: 850,
                    ..
                },
                DomainEvent::QuotaCharged {
                    added_bytes: 750,
                    usage_bytes: 850,
                    ..
                }
            ]
        ));
        let charged_only = |events: Vec<DomainEvent>| {
            matches!(events.as_slice(), [DomainEvent::QuotaCharged { .. }])
        };
        assert!(charged_only(
            q.check_push(&owner(), &push(850, 10)).unwrap()
        ));
        assert!(charged_only(
            q.check_push(&owner(), &push(100, 100)).unwrap()
        ));
        assert!(
            Quota::default()
                .check_push(&owner(), &push(0, u64::MAX))
                .unwrap()
                .is_empty()
        );
    }
}
