//! Who issued a command. Every event records its actor.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    Robot,
    Token,
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub name: String,
    /// The user or robot id; None for the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
}

impl Actor {
    pub fn system() -> Self {
        Actor {
            kind: ActorKind::System,
            name: "annals".into(),
            id: None,
        }
    }

    pub fn user(id: Uuid, name: impl Into<String>) -> Self {
        Actor {
            kind: ActorKind::User,
            name: name.into(),
            id: Some(id),
        }
    }

    /// A robot account, by its full name `namespace+shortname`.
    pub fn robot(id: Uuid, name: impl Into<String>) -> Self {
        Actor {
            kind: ActorKind::Robot,
            name: name.into(),
            id: Some(id),
        }
    }
}
