//! Global messages a superuser shows to every user of the registry (a maintenance notice, a
//! warning). They live on one stream, `messages`.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;

pub const STREAM: &str = "messages";
/// Messages shown at once, at most.
pub const MAX_MESSAGES: usize = 100;
/// The longest message.
pub const MAX_CONTENT_CHARS: usize = 10_000;
pub const SEVERITIES: [&str; 3] = ["info", "warning", "error"];
pub const MEDIA_TYPES: [&str; 2] = ["text/markdown", "text/plain"];

/// The live messages, by id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Messages(pub BTreeSet<Uuid>);

#[derive(Debug, Clone, PartialEq)]
pub enum MessageCommand {
    Create {
        message_id: Uuid,
        content: String,
        severity: String,
        media_type: String,
    },
    Delete {
        message_id: Uuid,
    },
}

impl Aggregate for Messages {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::MessageCreated { message_id, .. } => {
                self.0.insert(*message_id);
            }
            DomainEvent::MessageDeleted { message_id } => {
                self.0.remove(message_id);
            }
            _ => {}
        }
        self
    }
}

pub fn decide(state: &Messages, command: &MessageCommand) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        MessageCommand::Create {
            message_id,
            content,
            severity,
            media_type,
        } => {
            if state.0.contains(message_id) {
                return Ok(vec![]);
            }
            if content.trim().is_empty() || content.chars().count() > MAX_CONTENT_CHARS {
                return Err(DomainError::InvalidArgument(format!(
                    "A message has 1 to {MAX_CONTENT_CHARS} characters"
                )));
            }
            if !SEVERITIES.contains(&severity.as_str()) {
                return Err(DomainError::InvalidArgument(format!(
                    "severity must be one of {SEVERITIES:?}"
                )));
            }
            if !MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(DomainError::InvalidArgument(format!(
                    "media_type must be one of {MEDIA_TYPES:?}"
                )));
            }
            if state.0.len() >= MAX_MESSAGES {
                return Err(DomainError::InvalidArgument(format!(
                    "At most {MAX_MESSAGES} messages are shown at once: delete one first"
                )));
            }
            Ok(vec![DomainEvent::MessageCreated {
                message_id: *message_id,
                content: content.clone(),
                severity: severity.clone(),
                media_type: media_type.clone(),
            }])
        }
        MessageCommand::Delete { message_id } => {
            if !state.0.contains(message_id) {
                return Err(DomainError::NotFound(format!("No message {message_id}")));
            }
            Ok(vec![DomainEvent::MessageDeleted {
                message_id: *message_id,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(id: u128, severity: &str) -> MessageCommand {
        MessageCommand::Create {
            message_id: Uuid::from_u128(id),
            content: "maintenance at noon".into(),
            severity: severity.into(),
            media_type: "text/plain".into(),
        }
    }

    #[test]
    fn messages_are_validated_made_and_deleted() {
        let mut state = Messages::default();
        assert!(decide(&state, &create(1, "loud")).is_err());
        for e in decide(&state, &create(1, "warning")).unwrap() {
            state = state.evolve(&e);
        }
        assert!(
            decide(&state, &create(1, "warning")).unwrap().is_empty(),
            "a retry"
        );
        let delete = MessageCommand::Delete {
            message_id: Uuid::from_u128(1),
        };
        for e in decide(&state, &delete).unwrap() {
            state = state.evolve(&e);
        }
        assert!(matches!(
            decide(&state, &delete),
            Err(DomainError::NotFound(_))
        ));
    }
}
