//! Service keys: public keys (as JWKs) that other services sign their requests with, named by
//! their JWK thumbprint `kid`, made and approved by superusers. Each lives on its own stream.

use chrono::{DateTime, Utc};

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;

/// The longest name, service or note.
pub const MAX_FIELD_CHARS: usize = 255;
/// The largest metadata, as JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

pub fn stream(kid: &str) -> String {
    format!("servicekey-{kid}")
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceKey {
    pub kid: Option<String>,
    pub approved: bool,
    pub deleted: bool,
}

impl ServiceKey {
    pub fn is_live(&self) -> bool {
        self.kid.is_some() && !self.deleted
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServiceKeyCommand {
    Create {
        kid: String,
        name: String,
        service: String,
        metadata: serde_json::Value,
        expiration: Option<DateTime<Utc>>,
        jwk: serde_json::Value,
        now: DateTime<Utc>,
    },
    Update {
        name: String,
        metadata: serde_json::Value,
        expiration: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    },
    Approve {
        approver: String,
        notes: String,
    },
    Delete,
}

impl Aggregate for ServiceKey {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::ServiceKeyCreated { kid, .. } => self.kid = Some(kid.clone()),
            DomainEvent::ServiceKeyApproved { .. } => self.approved = true,
            DomainEvent::ServiceKeyDeleted { .. } => self.deleted = true,
            _ => {}
        }
        self
    }
}

fn check_fields(
    name: &str,
    metadata: &serde_json::Value,
    expiration: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if name.chars().count() > MAX_FIELD_CHARS {
        return Err(DomainError::InvalidArgument(format!(
            "A name is at most {MAX_FIELD_CHARS} characters"
        )));
    }
    if !(metadata.is_object() || metadata.is_null())
        || metadata.to_string().len() > MAX_METADATA_BYTES
    {
        return Err(DomainError::InvalidArgument(format!(
            "metadata must be an object of at most {MAX_METADATA_BYTES} bytes"
        )));
    }
    if expiration.is_some_and(|e| e <= now) {
        return Err(DomainError::InvalidArgument(
            "The expiration must be in the future".into(),
        ));
    }
    Ok(())
}

pub fn decide(
    state: &ServiceKey,
    command: &ServiceKeyCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let not_found = || DomainError::NotFound("No such service key".into());
    match command {
        ServiceKeyCommand::Create {
            kid,
            name,
            service,
            metadata,
            expiration,
            jwk,
            now,
        } => {
            if state.kid.is_some() {
                return Ok(vec![]);
            }
            let service_ok = !service.is_empty()
                && service.chars().count() <= MAX_FIELD_CHARS
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !service_ok {
                return Err(DomainError::InvalidArgument(
                    "service must be 1 to 255 of a-z, 0-9, _ and -".into(),
                ));
            }
            check_fields(name, metadata, *expiration, *now)?;
            Ok(vec![DomainEvent::ServiceKeyCreated {
                kid: kid.clone(),
                name: name.clone(),
                service: service.clone(),
                metadata: metadata.clone(),
                expiration: *expiration,
                jwk: jwk.clone(),
            }])
        }
        ServiceKeyCommand::Update {
            name,
            metadata,
            expiration,
            now,
        } => {
            let kid = state
                .kid
                .clone()
                .filter(|_| state.is_live())
                .ok_or_else(not_found)?;
            check_fields(name, metadata, *expiration, *now)?;
            Ok(vec![DomainEvent::ServiceKeyUpdated {
                kid,
                name: name.clone(),
                metadata: metadata.clone(),
                expiration: *expiration,
            }])
        }
        ServiceKeyCommand::Approve { approver, notes } => {
            let kid = state
                .kid
                .clone()
                .filter(|_| state.is_live())
                .ok_or_else(not_found)?;
            if state.approved {
                return Err(DomainError::InvalidArgument(
                    "The key is already approved".into(),
                ));
            }
            if notes.chars().count() > MAX_FIELD_CHARS * 4 {
                return Err(DomainError::InvalidArgument(
                    "The notes are too long".into(),
                ));
            }
            Ok(vec![DomainEvent::ServiceKeyApproved {
                kid,
                approver: approver.clone(),
                notes: notes.clone(),
            }])
        }
        ServiceKeyCommand::Delete => {
            let kid = state
                .kid
                .clone()
                .filter(|_| state.is_live())
                .ok_or_else(not_found)?;
            Ok(vec![DomainEvent::ServiceKeyDeleted { kid }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_approved_once_and_deleted() {
        let now = Utc::now();
        let create = ServiceKeyCommand::Create {
            kid: "k1".into(),
            name: "builder".into(),
            service: "quay-builder".into(),
            metadata: serde_json::json!({}),
            expiration: None,
            jwk: serde_json::json!({"kty": "OKP"}),
            now,
        };
        let mut key = ServiceKey::default();
        for e in decide(&key, &create).unwrap() {
            key = key.evolve(&e);
        }
        let approve = ServiceKeyCommand::Approve {
            approver: "admin".into(),
            notes: String::new(),
        };
        for e in decide(&key, &approve).unwrap() {
            key = key.evolve(&e);
        }
        assert!(decide(&key, &approve).is_err(), "approved twice");
        let past = ServiceKeyCommand::Update {
            name: "b".into(),
            metadata: serde_json::Value::Null,
            expiration: Some(now - chrono::TimeDelta::seconds(1)),
            now,
        };
        assert!(decide(&key, &past).is_err());
        for e in decide(&key, &ServiceKeyCommand::Delete).unwrap() {
            key = key.evolve(&e);
        }
        assert!(matches!(
            decide(&key, &ServiceKeyCommand::Delete),
            Err(DomainError::NotFound(_))
        ));
    }
}
