//! Organizations: namespaces owned by a group rather than a user.

use uuid::Uuid;

use crate::access::TeamRole;
use crate::aggregate::Aggregate;
use crate::application::{ApplicationCommand, Applications};
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{Email, NamespaceName};
use crate::prototype::{PrototypeCommand, Prototypes};
use crate::proxy_cache::{self, ProxyCacheCommand, ProxyCacheConfig};
use crate::robot::{self, RobotCommand, Robots};
use crate::team::{self, TeamCommand, TeamName, Teams};

pub fn stream(id: Uuid) -> String {
    format!("organization-{id}")
}

/// The longest tag expiration an organization may set: one year.
pub const MAX_TAG_EXPIRATION_S: u64 = 365 * 24 * 3600;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Organization {
    pub id: Option<Uuid>,
    pub name: Option<NamespaceName>,
    pub email: Option<Email>,
    pub invoice_email: bool,
    pub invoice_email_address: Option<Email>,
    pub tag_expiration_s: u64,
    pub deleted: bool,
    /// The DigitalOcean registry whose repositories this organization holds, if any.
    pub registry_id: Option<Uuid>,
    pub teams: Teams,
    pub robots: Robots,
    pub prototypes: Prototypes,
    pub applications: Applications,
    /// The upstream registry the organization caches, if it is a proxy cache.
    pub proxy_cache: Option<ProxyCacheConfig>,
}

impl Organization {
    pub fn is_live(&self) -> bool {
        self.id.is_some() && !self.deleted
    }
}

/// The changes of an update; a field left `None` is left alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationChanges {
    pub email: Option<Email>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<Email>,
    pub tag_expiration_s: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrganizationCommand {
    Create {
        organization_id: Uuid,
        name: NamespaceName,
        email: Option<Email>,
        /// Created to hold this registry's repositories.
        registry_id: Option<Uuid>,
        /// The creator, made the first member of the `owners` team.
        creator: Option<Creator>,
    },
    Update(OrganizationChanges),
    Delete,
    Team(TeamCommand),
    Robot(RobotCommand),
    Prototype(PrototypeCommand),
    Application(ApplicationCommand),
    ProxyCache(ProxyCacheCommand),
}

/// Who creates an organization, and the id of the `owners` team that will hold them.
#[derive(Debug, Clone, PartialEq)]
pub struct Creator {
    pub user_id: Uuid,
    pub username: String,
    pub owners_team_id: Uuid,
}

/// Default tag expiration of a new organization (Quay's default: two weeks).
pub const DEFAULT_TAG_EXPIRATION_S: u64 = 14 * 24 * 3600;

impl Aggregate for Organization {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        use DomainEvent::*;
        match event {
            OrganizationCreated {
                organization_id,
                name,
                email,
            } => {
                self = Organization {
                    id: Some(*organization_id),
                    name: Some(name.clone()),
                    email: email.clone(),
                    tag_expiration_s: DEFAULT_TAG_EXPIRATION_S,
                    ..Default::default()
                };
            }
            OrganizationEmailChanged { email, .. } => self.email = Some(email.clone()),
            OrganizationInvoicingChanged {
                invoice_email,
                invoice_email_address,
                ..
            } => {
                self.invoice_email = *invoice_email;
                self.invoice_email_address = invoice_email_address.clone();
            }
            OrganizationTagExpirationChanged {
                tag_expiration_s, ..
            } => self.tag_expiration_s = *tag_expiration_s,
            OrganizationDeleted { .. } => self.deleted = true,
            OrganizationRegistryAttached { registry_id, .. } => {
                self.registry_id = Some(*registry_id)
            }
            OrganizationProxyCacheCreated { config, .. } => self.proxy_cache = Some(config.clone()),
            OrganizationProxyCacheDeleted { .. } => self.proxy_cache = None,
            other => {
                self.teams.evolve(other);
                self.robots.evolve(other);
                self.prototypes.evolve(other);
                self.applications.evolve(other);
            }
        }
        self
    }
}

fn live(state: &Organization) -> Result<(Uuid, NamespaceName), DomainError> {
    match (state.is_live(), state.id, &state.name) {
        (true, Some(id), Some(name)) => Ok((id, name.clone())),
        _ => Err(not_found()),
    }
}

fn not_found() -> DomainError {
    DomainError::NotFound("Organization not found".into())
}

pub fn decide(
    state: &Organization,
    command: &OrganizationCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        OrganizationCommand::Create {
            organization_id,
            name,
            email,
            registry_id,
            creator,
        } => {
            if state.id.is_some() {
                return Err(DomainError::AlreadyExists(
                    "A user or organization with this name already exists".into(),
                ));
            }
            let mut events = vec![DomainEvent::OrganizationCreated {
                organization_id: *organization_id,
                name: name.clone(),
                email: email.clone(),
            }];
            if let Some(registry_id) = registry_id {
                events.push(DomainEvent::OrganizationRegistryAttached {
                    organization_id: *organization_id,
                    registry_id: *registry_id,
                });
            }
            if let Some(creator) = creator {
                let owners = TeamName::parse(team::OWNERS)?;
                let mut teams = Teams::default();
                for command in [
                    TeamCommand::Put {
                        team_id: creator.owners_team_id,
                        name: owners.clone(),
                        role: TeamRole::Admin,
                        description: None,
                    },
                    TeamCommand::AddMember {
                        name: owners,
                        member_id: creator.user_id,
                        member: creator.username.clone(),
                        is_robot: false,
                    },
                ] {
                    for e in teams.decide(*organization_id, &command)? {
                        teams.evolve(&e);
                        events.push(e);
                    }
                }
            }
            Ok(events)
        }
        OrganizationCommand::Team(command) => {
            let (id, _) = live(state)?;
            if let TeamCommand::AddMember {
                member,
                is_robot: true,
                ..
            } = command
            {
                // Only the organization's own robots may join its teams.
                let short = robot::split_full_name(member)
                    .filter(|(ns, _)| Some(*ns) == state.name.as_ref().map(|n| n.as_str()))
                    .map(|(_, short)| short);
                if short.and_then(|s| state.robots.get(s)).is_none() {
                    return Err(DomainError::InvalidArgument(format!(
                        "Robot {member} is not a robot of this organization"
                    )));
                }
            }
            state.teams.decide(id, command)
        }
        OrganizationCommand::Prototype(command) => {
            let (id, _) = live(state)?;
            state.prototypes.decide(id, command)
        }
        OrganizationCommand::Application(command) => {
            let (id, _) = live(state)?;
            state.applications.decide(id, command)
        }
        OrganizationCommand::Robot(command) => {
            let (id, name) = live(state)?;
            state.robots.decide(id, name.as_str(), command)
        }
        OrganizationCommand::ProxyCache(command) => {
            let (id, name) = live(state)?;
            proxy_cache::decide(id, &name, state.proxy_cache.as_ref(), command)
        }
        OrganizationCommand::Update(changes) => {
            if !state.is_live() {
                return Err(not_found());
            }
            let (organization_id, name) = (
                state.id.unwrap_or_default(),
                state.name.clone().ok_or_else(not_found)?,
            );
            let mut events = Vec::new();
            if let Some(email) = &changes.email
                && state.email.as_ref() != Some(email)
            {
                events.push(DomainEvent::OrganizationEmailChanged {
                    organization_id,
                    name: name.clone(),
                    email: email.clone(),
                });
            }
            let invoice_email = changes.invoice_email.unwrap_or(state.invoice_email);
            let invoice_address = changes
                .invoice_email_address
                .clone()
                .or_else(|| state.invoice_email_address.clone());
            if invoice_email != state.invoice_email
                || invoice_address != state.invoice_email_address
            {
                events.push(DomainEvent::OrganizationInvoicingChanged {
                    organization_id,
                    name: name.clone(),
                    invoice_email,
                    invoice_email_address: invoice_address,
                });
            }
            if let Some(seconds) = changes.tag_expiration_s {
                let seconds = u64::try_from(seconds)
                    .ok()
                    .filter(|s| *s <= MAX_TAG_EXPIRATION_S)
                    .ok_or_else(|| {
                        DomainError::InvalidArgument(format!(
                            "Invalid tag_expiration_s {seconds}: must be between 0 and {MAX_TAG_EXPIRATION_S}"
                        ))
                    })?;
                if seconds != state.tag_expiration_s {
                    events.push(DomainEvent::OrganizationTagExpirationChanged {
                        organization_id,
                        name,
                        tag_expiration_s: seconds,
                    });
                }
            }
            Ok(events)
        }
        OrganizationCommand::Delete => {
            if !state.is_live() {
                return Err(not_found());
            }
            Ok(vec![DomainEvent::OrganizationDeleted {
                organization_id: state.id.unwrap_or_default(),
                name: state.name.clone().ok_or_else(not_found)?,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> Organization {
        let events = decide(
            &Organization::default(),
            &OrganizationCommand::Create {
                organization_id: Uuid::new_v4(),
                name: NamespaceName::parse("acme").unwrap(),
                email: None,
                registry_id: None,
                creator: Some(Creator {
                    user_id: Uuid::from_u128(7),
                    username: "alice".into(),
                    owners_team_id: Uuid::new_v4(),
                }),
            },
        )
        .unwrap();
        Organization::from_history(&events)
    }

    #[test]
    fn the_creator_owns_a_new_organization() {
        let org = created();
        assert_eq!(org.teams.role_of(Uuid::from_u128(7)), Some(TeamRole::Admin));
    }

    #[test]
    fn only_the_organizations_own_robots_join_its_teams() {
        let org = created();
        let add = |member: &str| {
            OrganizationCommand::Team(TeamCommand::AddMember {
                name: TeamName::parse(team::OWNERS).unwrap(),
                member_id: Uuid::new_v4(),
                member: member.into(),
                is_robot: true,
            })
        };
        assert!(decide(&org, &add("other+ci")).is_err());
        assert!(decide(&org, &add("acme+ci")).is_err());
        let make = OrganizationCommand::Robot(RobotCommand::Create {
            robot_id: Uuid::new_v4(),
            shortname: robot::RobotShortname::parse("ci").unwrap(),
            description: String::new(),
            unstructured_metadata: serde_json::Value::Null,
            token_sha256: "b".repeat(64),
        });
        let events = decide(&org, &make).unwrap();
        let org = events.iter().fold(org, |s, e| s.evolve(e));
        assert_eq!(decide(&org, &add("acme+ci")).unwrap().len(), 1);
    }

    #[test]
    fn update_emits_only_real_changes() {
        let org = created();
        let same = OrganizationChanges {
            tag_expiration_s: Some(DEFAULT_TAG_EXPIRATION_S as i64),
            ..Default::default()
        };
        assert!(
            decide(&org, &OrganizationCommand::Update(same))
                .unwrap()
                .is_empty()
        );
        let change = OrganizationChanges {
            email: Some(Email::parse("a@b.io").unwrap()),
            tag_expiration_s: Some(60),
            ..Default::default()
        };
        assert_eq!(
            decide(&org, &OrganizationCommand::Update(change))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn bad_expiration_and_deleted_org_are_refused() {
        let org = created();
        let bad = OrganizationChanges {
            tag_expiration_s: Some(-1),
            ..Default::default()
        };
        assert!(matches!(
            decide(&org, &OrganizationCommand::Update(bad)),
            Err(DomainError::InvalidArgument(_))
        ));
        let events = decide(&org, &OrganizationCommand::Delete).unwrap();
        let gone = events.iter().fold(org, |s, e| s.evolve(e));
        assert!(matches!(
            decide(&gone, &OrganizationCommand::Delete),
            Err(DomainError::NotFound(_))
        ));
    }
}
