//! Event subscriptions: a webhook endpoint that is sent the events of the log that match its
//! selector, each subscription on its own stream `eventsubscription-<id>`. Creating, pausing,
//! resuming and deleting are events; the signing secret is not (it is the delivery worker's,
//! kept in its own table), so the log never holds it.
//!
//! [`Selector`] is also what `GET /events/v1/stream` filters with: event types, a namespace and
//! a repository, matched against the [`EventScope`] an event's metadata names.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;

/// The longest webhook URL.
pub const MAX_URL_CHARS: usize = 2048;
/// The most event types one selector names.
pub const MAX_TYPES: usize = 64;
/// The longest event type name a selector may name.
pub const MAX_TYPE_CHARS: usize = 128;
/// The longest pause reason recorded.
pub const MAX_REASON_CHARS: usize = 1024;

pub fn stream(subscription_id: Uuid) -> String {
    format!("eventsubscription-{subscription_id}")
}

/// Which events a consumer wants. Empty parts match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Event types (`repository.created.v1`); empty: all.
    #[serde(default)]
    pub types: Vec<String>,
    /// Only events of this namespace (by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only events of this namespace id: a subscription pins the namespace it was created for,
    /// so a namespace deleted and made again by someone else under the same name is not it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<Uuid>,
    /// Only events of a repository of this name (in the namespace, when one is named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// The namespace and repository an event concerns, as its metadata records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventScope<'a> {
    pub namespace_id: Option<Uuid>,
    pub namespace: Option<&'a str>,
    pub repository: Option<&'a str>,
}

/// An event type name: a lowercase word of letters, digits, `_`, `.` and `-`.
pub fn valid_type(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_TYPE_CHARS
        && t.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

impl Selector {
    /// Checks the parts a client chose; duplicates are dropped.
    pub fn validated(mut self) -> Result<Self, DomainError> {
        if self.types.len() > MAX_TYPES {
            return Err(DomainError::InvalidArgument(format!(
                "at most {MAX_TYPES} event types may be selected"
            )));
        }
        if let Some(bad) = self.types.iter().find(|t| !valid_type(t)) {
            return Err(DomainError::InvalidArgument(format!(
                "not an event type: {:?}",
                bad.chars().take(MAX_TYPE_CHARS).collect::<String>()
            )));
        }
        self.types.sort();
        self.types.dedup();
        if let Some(ns) = &self.namespace {
            crate::names::NamespaceName::parse(ns)?;
        }
        if let Some(repo) = &self.repository
            && (repo.is_empty() || repo.len() > 255 || repo.chars().any(char::is_control))
        {
            return Err(DomainError::InvalidArgument(
                "not a repository name".to_owned(),
            ));
        }
        Ok(self)
    }

    pub fn matches(&self, event_type: &str, scope: EventScope<'_>) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t == event_type))
            && self
                .namespace_id
                .is_none_or(|id| scope.namespace_id == Some(id))
            && self
                .namespace
                .as_deref()
                .is_none_or(|n| scope.namespace == Some(n))
            && self
                .repository
                .as_deref()
                .is_none_or(|r| scope.repository == Some(r))
    }
}

/// A webhook URL: `http` or `https`, a host, no whitespace or control characters, bounded.
pub fn check_url(url: &str) -> Result<(), DomainError> {
    let bad = |why: &str| Err(DomainError::InvalidArgument(format!("url {why}")));
    if url.chars().count() > MAX_URL_CHARS {
        return bad(&format!("is longer than {MAX_URL_CHARS} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => bad("must be an http:// or https:// URL with a host"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionStatus {
    Active,
    Paused,
    Deleted,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Paused => "paused",
            SubscriptionStatus::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventSubscription {
    pub id: Option<Uuid>,
    pub status: Option<SubscriptionStatus>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionCommand {
    /// Subscribe `url` to the events after `from_position` that `selector` matches.
    Create {
        subscription_id: Uuid,
        url: String,
        selector: Selector,
        from_position: u64,
    },
    /// The delivery worker gave up on it for now: `reason`, with its checkpoint.
    Pause {
        reason: String,
        checkpoint: u64,
    },
    /// Deliver again, from its checkpoint.
    Resume,
    Delete,
}

impl Aggregate for EventSubscription {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::EventSubscriptionCreated {
                subscription_id, ..
            } => {
                self.id = Some(*subscription_id);
                self.status = Some(SubscriptionStatus::Active);
            }
            DomainEvent::EventSubscriptionPaused { .. } => {
                self.status = Some(SubscriptionStatus::Paused)
            }
            DomainEvent::EventSubscriptionResumed { .. } => {
                self.status = Some(SubscriptionStatus::Active)
            }
            DomainEvent::EventSubscriptionDeleted { .. } => {
                self.status = Some(SubscriptionStatus::Deleted)
            }
            _ => {}
        }
        self
    }
}

pub fn decide(
    state: &EventSubscription,
    command: &SubscriptionCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let live = || match (state.id, state.status) {
        (Some(id), Some(status)) if status != SubscriptionStatus::Deleted => Ok((id, status)),
        _ => Err(DomainError::NotFound("No such subscription".into())),
    };
    match command {
        SubscriptionCommand::Create {
            subscription_id,
            url,
            selector,
            from_position,
        } => {
            if state.id.is_some() {
                return Err(DomainError::AlreadyExists("the subscription exists".into()));
            }
            check_url(url)?;
            let selector = selector.clone().validated()?;
            if *from_position > i64::MAX as u64 {
                return Err(DomainError::InvalidArgument("from is out of range".into()));
            }
            Ok(vec![DomainEvent::EventSubscriptionCreated {
                subscription_id: *subscription_id,
                url: url.clone(),
                selector,
                from_position: *from_position,
            }])
        }
        SubscriptionCommand::Pause { reason, checkpoint } => {
            let (subscription_id, status) = live()?;
            if status == SubscriptionStatus::Paused {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::EventSubscriptionPaused {
                subscription_id,
                reason: reason.chars().take(MAX_REASON_CHARS).collect(),
                checkpoint: *checkpoint,
            }])
        }
        SubscriptionCommand::Resume => {
            let (subscription_id, status) = live()?;
            if status == SubscriptionStatus::Active {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::EventSubscriptionResumed {
                subscription_id,
            }])
        }
        SubscriptionCommand::Delete => {
            let (subscription_id, _) = live()?;
            Ok(vec![DomainEvent::EventSubscriptionDeleted {
                subscription_id,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("https://example.com/hook").is_ok());
        assert!(check_url("HTTP://127.0.0.1:9/x").is_ok());
        for bad in [
            "ftp://x",
            "http://",
            "http:///x",
            "https://a b",
            "javascript:x",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://a/{}", "x".repeat(MAX_URL_CHARS))).is_err());
    }

    #[test]
    fn selectors_match_what_they_name() {
        let id = Uuid::from_u128(7);
        let s = Selector {
            types: vec!["repository.created.v1".into()],
            namespace: Some("acme".into()),
            namespace_id: Some(id),
            repository: None,
        }
        .validated()
        .unwrap();
        let scope = EventScope {
            namespace_id: Some(id),
            namespace: Some("acme"),
            repository: Some("web"),
        };
        assert!(s.matches("repository.created.v1", scope));
        assert!(!s.matches("repository.deleted.v1", scope));
        assert!(!s.matches("repository.created.v1", EventScope::default()));
        assert!(Selector::default().matches("x.v1", EventScope::default()));
        assert!(
            Selector {
                types: vec!["Bad Type".into()],
                ..Default::default()
            }
            .validated()
            .is_err()
        );
    }

    #[test]
    fn lifecycle() {
        let id = Uuid::from_u128(1);
        let created = decide(
            &EventSubscription::default(),
            &SubscriptionCommand::Create {
                subscription_id: id,
                url: "http://127.0.0.1/h".into(),
                selector: Selector::default(),
                from_position: 3,
            },
        )
        .unwrap();
        let state = EventSubscription::from_history(&created);
        let paused = decide(
            &state,
            &SubscriptionCommand::Pause {
                reason: "down".into(),
                checkpoint: 5,
            },
        )
        .unwrap();
        let state = state.evolve(&paused[0]);
        assert_eq!(state.status, Some(SubscriptionStatus::Paused));
        assert!(
            decide(
                &state,
                &SubscriptionCommand::Pause {
                    reason: "again".into(),
                    checkpoint: 5
                }
            )
            .unwrap()
            .is_empty()
        );
        let resumed = decide(&state, &SubscriptionCommand::Resume).unwrap();
        let state = state.evolve(&resumed[0]);
        let deleted = decide(&state, &SubscriptionCommand::Delete).unwrap();
        let state = state.evolve(&deleted[0]);
        assert!(decide(&state, &SubscriptionCommand::Resume).is_err());
    }
}
