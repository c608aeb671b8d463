//! Name reservations: the streams that make names unique. A namespace name, or a repository name
//! within one namespace, has its own stream; reserving it appends with the stream's expected
//! version, so two concurrent creators cannot both win.

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{NamespaceName, RepositoryName};

/// What kind of name a reservation guards; it only shapes the refusal message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameScope {
    Namespace,
    Repository,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reservation {
    /// Who holds the name now.
    pub owner: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReservationCommand {
    Reserve {
        name: String,
        owner_id: Uuid,
        scope: NameScope,
    },
    Release {
        name: String,
        owner_id: Uuid,
    },
}

pub fn namespace_stream(name: &NamespaceName) -> String {
    format!("reservation-namespace-{name}")
}

pub fn repository_stream(namespace_id: Uuid, name: &RepositoryName) -> String {
    format!("reservation-repository-{}-{name}", namespace_id.simple())
}

impl Aggregate for Reservation {
    fn evolve(self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::NameReserved { owner_id, .. } => Reservation {
                owner: Some(*owner_id),
            },
            DomainEvent::NameReleased { .. } => Reservation { owner: None },
            _ => self,
        }
    }
}

pub fn decide(
    state: &Reservation,
    command: &ReservationCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        ReservationCommand::Reserve {
            name,
            owner_id,
            scope,
        } => match state.owner {
            Some(owner) if owner == *owner_id => Ok(vec![]),
            Some(_) => Err(DomainError::AlreadyExists(match scope {
                NameScope::Namespace => {
                    "A user or organization with this name already exists".into()
                }
                NameScope::Repository => "Repository already exists".into(),
            })),
            None => Ok(vec![DomainEvent::NameReserved {
                name: name.clone(),
                owner_id: *owner_id,
            }]),
        },
        ReservationCommand::Release { name, owner_id } => {
            if state.owner == Some(*owner_id) {
                Ok(vec![DomainEvent::NameReleased {
                    name: name.clone(),
                    owner_id: *owner_id,
                }])
            } else {
                Ok(vec![])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_name_cannot_be_reserved_by_another_owner() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let reserve = |owner_id| ReservationCommand::Reserve {
            name: "x".into(),
            owner_id,
            scope: NameScope::Repository,
        };
        let events = decide(&Reservation::default(), &reserve(a)).unwrap();
        let state = Reservation::from_history(&events);
        assert_eq!(state.owner, Some(a));
        assert!(matches!(
            decide(&state, &reserve(b)),
            Err(DomainError::AlreadyExists(_))
        ));
        assert!(decide(&state, &reserve(a)).unwrap().is_empty());
        let released = decide(
            &state,
            &ReservationCommand::Release {
                name: "x".into(),
                owner_id: a,
            },
        )
        .unwrap();
        let state = released.iter().fold(state, |s, e| s.evolve(e));
        assert_eq!(decide(&state, &reserve(b)).unwrap().len(), 1);
    }
}
