//! Teams of an organization: a role (`member`, `creator`, `admin`), a description, members
//! (users and the organization's robots) and email invites. They live on the organization's
//! stream. Every organization has an `owners` team of role admin, made with it and holding its
//! creator, that cannot be deleted or lose its role.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::access::TeamRole;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::Email;

pub const OWNERS: &str = "owners";
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Members (and invites) a team holds at most.
pub const MAX_MEMBERS: usize = 10_000;

/// A team name: `^[a-z][a-z0-9]+$`, at most 255 characters, as Quay.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if first_ok && rest_ok && (2..=255).contains(&s.len()) {
            Ok(TeamName(s.to_owned()))
        } else {
            Err(DomainError::InvalidName(format!(
                "Invalid team name '{s}': must match ^[a-z][a-z0-9]+$"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub is_robot: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: Uuid,
    pub role: TeamRole,
    pub description: String,
    pub members: BTreeMap<Uuid, Member>,
    pub invites: BTreeSet<String>,
}

/// The teams of one organization, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Teams(pub BTreeMap<String, Team>);

#[derive(Debug, Clone, PartialEq)]
pub enum TeamCommand {
    /// Creates the team, or changes its role and description.
    Put {
        team_id: Uuid,
        name: TeamName,
        role: TeamRole,
        description: Option<String>,
    },
    Delete {
        name: TeamName,
    },
    AddMember {
        name: TeamName,
        member_id: Uuid,
        member: String,
        is_robot: bool,
    },
    RemoveMember {
        name: TeamName,
        member_id: Uuid,
    },
    /// Removes a user from every team of the organization.
    RemoveFromAll {
        member_id: Uuid,
    },
    Invite {
        name: TeamName,
        email: Email,
    },
    DeleteInvite {
        name: TeamName,
        email: Email,
    },
}

impl Teams {
    pub fn get(&self, name: &str) -> Option<&Team> {
        self.0.get(name)
    }

    /// The strongest role of the teams `member_id` belongs to.
    pub fn role_of(&self, member_id: Uuid) -> Option<TeamRole> {
        self.0
            .values()
            .filter(|t| t.members.contains_key(&member_id))
            .map(|t| t.role)
            .max()
    }

    pub fn evolve(&mut self, event: &DomainEvent) {
        use DomainEvent::*;
        match event {
            TeamCreated {
                team_id,
                name,
                role,
                description,
                ..
            } => {
                self.0.insert(
                    name.clone(),
                    Team {
                        id: *team_id,
                        role: *role,
                        description: description.clone(),
                        members: BTreeMap::new(),
                        invites: BTreeSet::new(),
                    },
                );
            }
            TeamRoleChanged { name, role, .. } => {
                if let Some(t) = self.0.get_mut(name) {
                    t.role = *role;
                }
            }
            TeamDescriptionChanged {
                name, description, ..
            } => {
                if let Some(t) = self.0.get_mut(name) {
                    t.description = description.clone();
                }
            }
            TeamDeleted { name, .. } => {
                self.0.remove(name);
            }
            TeamMemberAdded {
                team,
                member_id,
                member,
                is_robot,
                ..
            } => {
                if let Some(t) = self.0.get_mut(team) {
                    t.members.insert(
                        *member_id,
                        Member {
                            name: member.clone(),
                            is_robot: *is_robot,
                        },
                    );
                }
            }
            TeamMemberRemoved {
                team, member_id, ..
            } => {
                if let Some(t) = self.0.get_mut(team) {
                    t.members.remove(member_id);
                }
            }
            TeamMemberInvited { team, email, .. } => {
                if let Some(t) = self.0.get_mut(team) {
                    t.invites.insert(email.as_str().to_owned());
                }
            }
            TeamInviteDeleted { team, email, .. } => {
                if let Some(t) = self.0.get_mut(team) {
                    t.invites.remove(email.as_str());
                }
            }
            // A deleted robot leaves every team.
            RobotDeleted { robot_id, .. } => {
                for t in self.0.values_mut() {
                    t.members.remove(robot_id);
                }
            }
            _ => {}
        }
    }

    pub fn decide(
        &self,
        organization_id: Uuid,
        command: &TeamCommand,
    ) -> Result<Vec<DomainEvent>, DomainError> {
        use DomainEvent::*;
        match command {
            TeamCommand::Put {
                team_id,
                name,
                role,
                description,
            } => {
                if let Some(d) = description
                    && d.chars().count() > MAX_DESCRIPTION_CHARS
                {
                    return Err(DomainError::InvalidArgument(format!(
                        "The description is longer than {MAX_DESCRIPTION_CHARS} characters"
                    )));
                }
                let Some(team) = self.0.get(name.as_str()) else {
                    return Ok(vec![TeamCreated {
                        organization_id,
                        team_id: *team_id,
                        name: name.as_str().to_owned(),
                        role: *role,
                        description: description.clone().unwrap_or_default(),
                    }]);
                };
                let mut events = Vec::new();
                if team.role != *role {
                    if name.as_str() == OWNERS {
                        return Err(DomainError::InvalidArgument(
                            "Cannot change the role of the owners team".into(),
                        ));
                    }
                    events.push(TeamRoleChanged {
                        organization_id,
                        team_id: team.id,
                        name: name.as_str().to_owned(),
                        role: *role,
                    });
                }
                if let Some(d) = description
                    && *d != team.description
                {
                    events.push(TeamDescriptionChanged {
                        organization_id,
                        team_id: team.id,
                        name: name.as_str().to_owned(),
                        description: d.clone(),
                    });
                }
                Ok(events)
            }
            TeamCommand::Delete { name } => {
                let team = self.existing(name)?;
                if name.as_str() == OWNERS {
                    return Err(DomainError::InvalidArgument(
                        "Deleting team 'owners' would leave the organization without an admin"
                            .into(),
                    ));
                }
                Ok(vec![TeamDeleted {
                    organization_id,
                    team_id: team.id,
                    name: name.as_str().to_owned(),
                }])
            }
            TeamCommand::AddMember {
                name,
                member_id,
                member,
                is_robot,
            } => {
                let team = self.existing(name)?;
                if team.members.contains_key(member_id) {
                    return Ok(vec![]);
                }
                if team.members.len() >= MAX_MEMBERS {
                    return Err(DomainError::InvalidArgument(format!(
                        "A team holds at most {MAX_MEMBERS} members"
                    )));
                }
                Ok(vec![TeamMemberAdded {
                    organization_id,
                    team_id: team.id,
                    team: name.as_str().to_owned(),
                    member_id: *member_id,
                    member: member.clone(),
                    is_robot: *is_robot,
                }])
            }
            TeamCommand::RemoveMember { name, member_id } => {
                let team = self.existing(name)?;
                let member = team
                    .members
                    .get(member_id)
                    .ok_or_else(|| DomainError::NotFound("The member is not in the team".into()))?;
                if name.as_str() == OWNERS && team.members.len() == 1 {
                    return Err(DomainError::InvalidArgument(
                        "Cannot remove the last member of the owners team".into(),
                    ));
                }
                Ok(vec![TeamMemberRemoved {
                    organization_id,
                    team_id: team.id,
                    team: name.as_str().to_owned(),
                    member_id: *member_id,
                    member: member.name.clone(),
                    is_robot: member.is_robot,
                }])
            }
            TeamCommand::RemoveFromAll { member_id } => {
                let mut events = Vec::new();
                for (name, team) in &self.0 {
                    let Some(member) = team.members.get(member_id) else {
                        continue;
                    };
                    if name == OWNERS && team.members.len() == 1 {
                        return Err(DomainError::InvalidArgument(
                            "Cannot remove the last member of the owners team".into(),
                        ));
                    }
                    events.push(TeamMemberRemoved {
                        organization_id,
                        team_id: team.id,
                        team: name.clone(),
                        member_id: *member_id,
                        member: member.name.clone(),
                        is_robot: member.is_robot,
                    });
                }
                if events.is_empty() {
                    return Err(DomainError::NotFound(
                        "The user is not a member of the organization".into(),
                    ));
                }
                Ok(events)
            }
            TeamCommand::Invite { name, email } => {
                let team = self.existing(name)?;
                if team.invites.contains(email.as_str()) {
                    return Ok(vec![]);
                }
                if team.invites.len() >= MAX_MEMBERS {
                    return Err(DomainError::InvalidArgument(format!(
                        "A team holds at most {MAX_MEMBERS} invites"
                    )));
                }
                Ok(vec![TeamMemberInvited {
                    organization_id,
                    team_id: team.id,
                    team: name.as_str().to_owned(),
                    email: email.clone(),
                }])
            }
            TeamCommand::DeleteInvite { name, email } => {
                let team = self.existing(name)?;
                if !team.invites.contains(email.as_str()) {
                    return Err(DomainError::NotFound("No such invite".into()));
                }
                Ok(vec![TeamInviteDeleted {
                    organization_id,
                    team_id: team.id,
                    team: name.as_str().to_owned(),
                    email: email.clone(),
                }])
            }
        }
    }

    fn existing(&self, name: &TeamName) -> Result<&Team, DomainError> {
        self.0
            .get(name.as_str())
            .ok_or_else(|| DomainError::NotFound(format!("Team '{}' not found", name.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(teams: &mut Teams, command: TeamCommand) -> Result<usize, DomainError> {
        let events = teams.decide(Uuid::nil(), &command)?;
        for e in &events {
            teams.evolve(e);
        }
        Ok(events.len())
    }

    fn name(s: &str) -> TeamName {
        TeamName::parse(s).unwrap()
    }

    fn owners_with(member: Uuid) -> Teams {
        let mut teams = Teams::default();
        let put = TeamCommand::Put {
            team_id: Uuid::new_v4(),
            name: name(OWNERS),
            role: TeamRole::Admin,
            description: None,
        };
        apply(&mut teams, put).unwrap();
        let add = TeamCommand::AddMember {
            name: name(OWNERS),
            member_id: member,
            member: "alice".into(),
            is_robot: false,
        };
        apply(&mut teams, add).unwrap();
        teams
    }

    #[test]
    fn team_names_follow_quay() {
        assert!(TeamName::parse("devs2").is_ok());
        for bad in ["d", "Devs", "dev_s", "2dev", ""] {
            assert!(TeamName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_owners_team_keeps_its_role_and_its_last_member() {
        let alice = Uuid::new_v4();
        let mut teams = owners_with(alice);
        assert_eq!(teams.role_of(alice), Some(TeamRole::Admin));
        let demote = TeamCommand::Put {
            team_id: Uuid::new_v4(),
            name: name(OWNERS),
            role: TeamRole::Member,
            description: None,
        };
        assert!(apply(&mut teams, demote).is_err());
        assert!(apply(&mut teams, TeamCommand::Delete { name: name(OWNERS) }).is_err());
        let remove = TeamCommand::RemoveMember {
            name: name(OWNERS),
            member_id: alice,
        };
        assert!(apply(&mut teams, remove).is_err());
    }

    #[test]
    fn put_creates_then_changes_only_what_differs() {
        let mut teams = Teams::default();
        let put = |role, d: &str| TeamCommand::Put {
            team_id: Uuid::new_v4(),
            name: name("devs"),
            role,
            description: Some(d.into()),
        };
        assert_eq!(apply(&mut teams, put(TeamRole::Member, "x")), Ok(1));
        assert_eq!(apply(&mut teams, put(TeamRole::Member, "x")), Ok(0));
        assert_eq!(apply(&mut teams, put(TeamRole::Creator, "y")), Ok(2));
        assert_eq!(teams.get("devs").unwrap().role, TeamRole::Creator);
    }

    #[test]
    fn members_join_leave_and_robots_leave_when_deleted() {
        let alice = Uuid::new_v4();
        let robot = Uuid::new_v4();
        let mut teams = owners_with(alice);
        let add = TeamCommand::AddMember {
            name: name(OWNERS),
            member_id: robot,
            member: "acme+ci".into(),
            is_robot: true,
        };
        assert_eq!(apply(&mut teams, add.clone()), Ok(1));
        assert_eq!(apply(&mut teams, add), Ok(0));
        teams.evolve(&DomainEvent::RobotDeleted {
            namespace_id: Uuid::nil(),
            robot_id: robot,
            name: "acme+ci".into(),
        });
        assert_eq!(teams.role_of(robot), None);
        let stranger = TeamCommand::RemoveFromAll {
            member_id: Uuid::new_v4(),
        };
        assert!(matches!(
            apply(&mut teams, stranger),
            Err(DomainError::NotFound(_))
        ));
    }
}
