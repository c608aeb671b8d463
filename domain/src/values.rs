//! Small enumerated values of the registry model.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceKind {
    User,
    Organization,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepositoryKind {
    Image,
    Application,
}

/// Whether pushes are allowed: `Normal` yes, `ReadOnly` no, `Mirror` only by the mirror worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepositoryState {
    Normal,
    ReadOnly,
    Mirror,
}

impl Visibility {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            _ => Err(DomainError::InvalidArgument(format!(
                "Invalid visibility '{s}': must be 'public' or 'private'"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
}

impl RepositoryKind {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "image" => Ok(RepositoryKind::Image),
            "application" => Ok(RepositoryKind::Application),
            _ => Err(DomainError::InvalidArgument(format!(
                "Invalid repo_kind '{s}': must be 'image' or 'application'"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryKind::Image => "image",
            RepositoryKind::Application => "application",
        }
    }
}

impl RepositoryState {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "NORMAL" => Ok(RepositoryState::Normal),
            "READ_ONLY" => Ok(RepositoryState::ReadOnly),
            "MIRROR" => Ok(RepositoryState::Mirror),
            _ => Err(DomainError::InvalidArgument(format!(
                "Invalid state '{s}': must be one of NORMAL, READ_ONLY, MIRROR"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryState::Normal => "NORMAL",
            RepositoryState::ReadOnly => "READ_ONLY",
            RepositoryState::Mirror => "MIRROR",
        }
    }
}

impl NamespaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NamespaceKind::User => "user",
            NamespaceKind::Organization => "organization",
        }
    }
}
