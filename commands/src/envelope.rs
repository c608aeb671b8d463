//! The envelope every command travels in.

use annals_domain::Actor;
use annals_domain::ActorKind;
use annals_domain::delegate::{Delegate, DelegateKind};
use annals_domain::organization::Creator;
use uuid::Uuid;

/// Who issued a command, from where, and under which idempotency key. Its fields end up in the
/// metadata of every event the command appends.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Idempotency key: a command id that was already appended answers its first result and
    /// appends nothing. Clients may choose it (the `Idempotency-Key` header); otherwise it is new.
    pub command_id: Uuid,
    pub actor: Actor,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Groups every command caused by one request or workflow.
    pub correlation_id: Uuid,
    /// The command or event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// The command id came from the client (an idempotency key), so it may have been appended
    /// before; a fresh id cannot have been, and needs no lookup.
    pub client_chosen_id: bool,
    /// The request id (`x-request-id`) of the request that issued the command.
    pub request_id: Option<String>,
    /// A hash of the request that chose the command id: a repeat of the id with another
    /// request is refused (`CommandError::KeyReused`).
    pub fingerprint: Option<String>,
}

impl Envelope {
    /// A fresh envelope for `actor` with new command and correlation ids.
    pub fn new(actor: Actor) -> Self {
        let command_id = Uuid::now_v7();
        Envelope {
            command_id,
            actor,
            client_ip: None,
            user_agent: None,
            correlation_id: command_id,
            causation_id: None,
            client_chosen_id: false,
            request_id: None,
            fingerprint: None,
        }
    }

    /// Uses a client's idempotency key as the command id.
    pub fn with_command_id(mut self, command_id: Uuid) -> Self {
        self.command_id = command_id;
        self.correlation_id = command_id;
        self.client_chosen_id = true;
        self
    }

    /// Records the hash of the request that chose the command id.
    pub fn with_fingerprint(mut self, fingerprint: String) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }

    /// The envelope of a further command issued by the same request (a push that first creates
    /// its repository, say): same actor and correlation, caused by this command, with its own
    /// command id — derived, so a client's retry with the same idempotency key derives it again.
    pub fn follow_up(&self, purpose: &str) -> Envelope {
        Envelope {
            command_id: self.derived_id(purpose),
            causation_id: Some(self.command_id),
            ..self.clone()
        }
    }

    /// A stable id derived from the command id, so a retried command creates the same aggregate.
    pub fn derived_id(&self, purpose: &str) -> Uuid {
        Uuid::new_v5(&self.command_id, purpose.as_bytes())
    }

    /// The creator of an organization this envelope creates: its actor when that is a user,
    /// made the first member of the `owners` team.
    pub fn creator(&self) -> Option<Creator> {
        match (self.actor.kind, self.actor.id) {
            (ActorKind::User, Some(user_id)) => Some(Creator {
                user_id,
                username: self.actor.name.clone(),
                owners_team_id: self.derived_id("owners"),
            }),
            _ => None,
        }
    }

    /// The actor as a permission delegate, when it is a user or a robot.
    pub fn delegate(&self) -> Option<Delegate> {
        let kind = match self.actor.kind {
            ActorKind::User => DelegateKind::User,
            ActorKind::Robot => DelegateKind::Robot,
            _ => return None,
        };
        Some(Delegate {
            kind,
            id: self.actor.id?,
            name: self.actor.name.clone(),
        })
    }
}
