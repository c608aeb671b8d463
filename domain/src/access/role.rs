//! Roles: on a repository (`read < write < admin`) and of a team in its organization
//! (`member < creator < admin`).

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoRole {
    Read,
    Write,
    Admin,
}

impl RepoRole {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "read" => Ok(RepoRole::Read),
            "write" => Ok(RepoRole::Write),
            "admin" => Ok(RepoRole::Admin),
            _ => Err(DomainError::InvalidArgument(format!(
                "Invalid role '{s}': must be one of read, write, admin"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RepoRole::Read => "read",
            RepoRole::Write => "write",
            RepoRole::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeamRole {
    /// Members hold the repository permissions granted to the team.
    Member,
    /// ... and may create repositories in the organization.
    Creator,
    /// ... and administer the whole organization.
    Admin,
}

impl TeamRole {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "member" => Ok(TeamRole::Member),
            "creator" => Ok(TeamRole::Creator),
            "admin" => Ok(TeamRole::Admin),
            _ => Err(DomainError::InvalidArgument(format!(
                "Invalid role '{s}': must be one of member, creator, admin"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Creator => "creator",
            TeamRole::Admin => "admin",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse_their_names_only() {
        assert!(RepoRole::Read < RepoRole::Write && RepoRole::Write < RepoRole::Admin);
        assert!(TeamRole::Member < TeamRole::Creator && TeamRole::Creator < TeamRole::Admin);
        for r in [RepoRole::Read, RepoRole::Write, RepoRole::Admin] {
            assert_eq!(RepoRole::parse(r.as_str()).unwrap(), r);
        }
        assert!(RepoRole::parse("owner").is_err());
        assert!(TeamRole::parse("Admin").is_err());
    }
}
