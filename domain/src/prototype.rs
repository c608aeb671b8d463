//! Default permission prototypes of an organization: a delegate (user, robot or team) gets a
//! role on every repository created in the organization — by anyone, or only by
//! `activating_user` when it is set.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::access::RepoRole;
use crate::delegate::{Delegate, DelegateKind};
use crate::error::DomainError;
use crate::event::DomainEvent;

/// Prototypes an organization holds at most.
pub const MAX_PROTOTYPES: usize = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Prototype {
    pub role: RepoRole,
    pub delegate: Delegate,
    pub activating_user: Option<Delegate>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prototypes(pub BTreeMap<Uuid, Prototype>);

#[derive(Debug, Clone, PartialEq)]
pub enum PrototypeCommand {
    Create {
        prototype_id: Uuid,
        role: RepoRole,
        delegate: Delegate,
        activating_user: Option<Delegate>,
    },
    Change {
        prototype_id: Uuid,
        role: RepoRole,
    },
    Delete {
        prototype_id: Uuid,
    },
}

impl Prototypes {
    /// The grants a repository created by `creator` receives.
    pub fn grants_for(&self, creator: Option<&Delegate>) -> Vec<(Delegate, RepoRole)> {
        self.0
            .values()
            .filter(|p| match &p.activating_user {
                None => true,
                Some(who) => creator.is_some_and(|c| c.id == who.id),
            })
            .map(|p| (p.delegate.clone(), p.role))
            .collect()
    }

    pub fn evolve(&mut self, event: &DomainEvent) {
        match event {
            DomainEvent::PrototypeCreated {
                prototype_id,
                role,
                delegate,
                activating_user,
                ..
            } => {
                self.0.insert(
                    *prototype_id,
                    Prototype {
                        role: *role,
                        delegate: delegate.clone(),
                        activating_user: activating_user.clone(),
                    },
                );
            }
            DomainEvent::PrototypeChanged {
                prototype_id, role, ..
            } => {
                if let Some(p) = self.0.get_mut(prototype_id) {
                    p.role = *role;
                }
            }
            DomainEvent::PrototypeDeleted { prototype_id, .. } => {
                self.0.remove(prototype_id);
            }
            // A deleted robot or team no longer receives grants.
            DomainEvent::RobotDeleted { robot_id, .. } => {
                self.0.retain(|_, p| p.delegate.id != *robot_id)
            }
            DomainEvent::TeamDeleted { team_id, .. } => {
                self.0.retain(|_, p| p.delegate.id != *team_id)
            }
            _ => {}
        }
    }

    pub fn decide(
        &self,
        organization_id: Uuid,
        command: &PrototypeCommand,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        match command {
            PrototypeCommand::Create {
                prototype_id,
                role,
                delegate,
                activating_user,
            } => {
                if self.0.contains_key(prototype_id) {
                    return Ok(vec![]);
                }
                if self.0.len() >= MAX_PROTOTYPES {
                    return Err(DomainError::InvalidArgument(format!(
                        "An organization holds at most {MAX_PROTOTYPES} prototypes"
                    )));
                }
                if activating_user
                    .as_ref()
                    .is_some_and(|a| a.kind == DelegateKind::Team)
                {
                    return Err(DomainError::InvalidArgument(
                        "The activating user must be a user".into(),
                    ));
                }
                Ok(vec![DomainEvent::PrototypeCreated {
                    organization_id,
                    prototype_id: *prototype_id,
                    role: *role,
                    delegate: delegate.clone(),
                    activating_user: activating_user.clone(),
                }])
            }
            PrototypeCommand::Change { prototype_id, role } => {
                let p = self.existing(prototype_id)?;
                Ok((p.role != *role)
                    .then_some(DomainEvent::PrototypeChanged {
                        organization_id,
                        prototype_id: *prototype_id,
                        role: *role,
                    })
                    .into_iter()
                    .collect())
            }
            PrototypeCommand::Delete { prototype_id } => {
                self.existing(prototype_id)?;
                Ok(vec![DomainEvent::PrototypeDeleted {
                    organization_id,
                    prototype_id: *prototype_id,
                }])
            }
        }
    }

    fn existing(&self, id: &Uuid) -> Result<&Prototype, DomainError> {
        self.0
            .get(id)
            .ok_or_else(|| DomainError::NotFound("Unknown permission prototype".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delegate(kind: DelegateKind, n: u128) -> Delegate {
        Delegate {
            kind,
            id: Uuid::from_u128(n),
            name: format!("d{n}"),
        }
    }

    #[test]
    fn prototypes_apply_to_their_activating_user_only() {
        let mut p = Prototypes::default();
        let alice = delegate(DelegateKind::User, 1);
        for command in [
            PrototypeCommand::Create {
                prototype_id: Uuid::from_u128(10),
                role: RepoRole::Write,
                delegate: delegate(DelegateKind::Team, 2),
                activating_user: None,
            },
            PrototypeCommand::Create {
                prototype_id: Uuid::from_u128(11),
                role: RepoRole::Read,
                delegate: delegate(DelegateKind::Robot, 3),
                activating_user: Some(alice.clone()),
            },
        ] {
            for e in p.decide(Uuid::nil(), &command).unwrap() {
                p.evolve(&e);
            }
        }
        assert_eq!(p.grants_for(Some(&alice)).len(), 2);
        assert_eq!(
            p.grants_for(Some(&delegate(DelegateKind::User, 9))).len(),
            1
        );
        p.evolve(&DomainEvent::TeamDeleted {
            organization_id: Uuid::nil(),
            team_id: Uuid::from_u128(2),
            name: "d2".into(),
        });
        assert_eq!(p.grants_for(None).len(), 0);
        let gone = PrototypeCommand::Delete {
            prototype_id: Uuid::from_u128(99),
        };
        assert!(matches!(
            p.decide(Uuid::nil(), &gone),
            Err(DomainError::NotFound(_))
        ));
    }
}
