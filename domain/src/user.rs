//! Users: accounts that act on the registry and own a namespace of their own.

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use std::collections::{BTreeMap, BTreeSet};

use crate::names::{Email, NamespaceName, RepositoryName};
use crate::robot::{RobotCommand, Robots};

pub fn stream(id: Uuid) -> String {
    format!("user-{id}")
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub id: Option<Uuid>,
    pub username: Option<NamespaceName>,
    pub super_user: bool,
    pub tokens: Vec<Uuid>,
    /// The Argon2id hash (PHC string) of the password, once one is set.
    pub password_hash: Option<String>,
    /// Live app-specific tokens: id → title.
    pub app_tokens: BTreeMap<Uuid, String>,
    /// Starred repositories, by id.
    pub starred: BTreeSet<Uuid>,
    pub robots: Robots,
}

/// App-specific tokens a user holds at most.
pub const MAX_APP_TOKENS: usize = 500;
/// Repositories a user stars at most.
pub const MAX_STARRED: usize = 10_000;
/// The longest app-token title.
pub const MAX_TITLE_CHARS: usize = 255;

impl User {
    pub fn is_live(&self) -> bool {
        self.id.is_some()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create {
        user_id: Uuid,
        username: NamespaceName,
        email: Option<Email>,
        super_user: bool,
    },
    IssueToken {
        token_id: Uuid,
        name: String,
        token_sha256: String,
    },
    /// A registry credential (DigitalOcean's docker-credentials): read-only unless `read_write`,
    /// valid until `expires_at` when set.
    IssueRegistryCredential {
        credential_id: Uuid,
        token_sha256: String,
        read_write: bool,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    SetPassword {
        password_hash: String,
    },
    CreateAppToken {
        token_id: Uuid,
        title: String,
        token_sha256: String,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    RevokeAppToken {
        token_id: Uuid,
    },
    IssueOAuthToken {
        token_id: Uuid,
        client_id: String,
        scopes: Vec<String>,
        token_sha256: String,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    Star {
        repository_id: Uuid,
        namespace: NamespaceName,
        repository: RepositoryName,
    },
    Unstar {
        repository_id: Uuid,
        namespace: NamespaceName,
        repository: RepositoryName,
    },
    Robot(RobotCommand),
}

impl Aggregate for User {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        match event {
            DomainEvent::UserCreated {
                user_id,
                username,
                super_user,
                ..
            } => {
                self.id = Some(*user_id);
                self.username = Some(username.clone());
                self.super_user = *super_user;
            }
            DomainEvent::TokenIssued { token_id, .. } => self.tokens.push(*token_id),
            DomainEvent::RegistryCredentialIssued { credential_id, .. } => {
                self.tokens.push(*credential_id)
            }
            DomainEvent::OAuthTokenIssued { token_id, .. } => self.tokens.push(*token_id),
            DomainEvent::UserPasswordSet { password_hash, .. } => {
                self.password_hash = Some(password_hash.clone())
            }
            DomainEvent::AppTokenCreated {
                token_id, title, ..
            } => {
                self.app_tokens.insert(*token_id, title.clone());
            }
            DomainEvent::AppTokenRevoked { token_id, .. } => {
                self.app_tokens.remove(token_id);
            }
            DomainEvent::RepositoryStarred { repository_id, .. } => {
                self.starred.insert(*repository_id);
            }
            DomainEvent::RepositoryUnstarred { repository_id, .. } => {
                self.starred.remove(repository_id);
            }
            other => self.robots.evolve(other),
        }
        self
    }
}

pub fn decide(state: &User, command: &UserCommand) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        UserCommand::Create {
            user_id,
            username,
            email,
            super_user,
        } => {
            if state.id.is_some() {
                return Err(DomainError::AlreadyExists("The user already exists".into()));
            }
            Ok(vec![DomainEvent::UserCreated {
                user_id: *user_id,
                username: username.clone(),
                email: email.clone(),
                super_user: *super_user,
            }])
        }
        UserCommand::IssueToken {
            token_id,
            name,
            token_sha256,
        } => {
            let user_id = existing(state)?;
            require_sha256(token_sha256, "A token")?;
            if state.tokens.contains(token_id) {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::TokenIssued {
                user_id,
                token_id: *token_id,
                name: name.clone(),
                token_sha256: token_sha256.clone(),
            }])
        }
        UserCommand::IssueRegistryCredential {
            credential_id,
            token_sha256,
            read_write,
            expires_at,
        } => {
            let user_id = existing(state)?;
            require_sha256(token_sha256, "A credential")?;
            if state.tokens.contains(credential_id) {
                return Ok(vec![]);
            }
            Ok(vec![DomainEvent::RegistryCredentialIssued {
                user_id,
                credential_id: *credential_id,
                token_sha256: token_sha256.clone(),
                read_write: *read_write,
                expires_at: *expires_at,
            }])
        }
        other => decide_account(state, other),
    }
}

fn decide_account(state: &User, command: &UserCommand) -> Result<Vec<DomainEvent>, DomainError> {
    let user_id = existing(state)?;
    Ok(match command {
        UserCommand::SetPassword { password_hash } => {
            if !password_hash.starts_with("$argon2id$") {
                return Err(DomainError::InvalidArgument(
                    "A password is recorded by its Argon2id hash only".into(),
                ));
            }
            vec![DomainEvent::UserPasswordSet {
                user_id,
                password_hash: password_hash.clone(),
            }]
        }
        UserCommand::CreateAppToken {
            token_id,
            title,
            token_sha256,
            expires_at,
        } => {
            require_sha256(token_sha256, "An app token")?;
            let title = title.trim();
            if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
                return Err(DomainError::InvalidArgument(format!(
                    "The title must be 1 to {MAX_TITLE_CHARS} characters"
                )));
            }
            if state.app_tokens.contains_key(token_id) {
                return Ok(vec![]);
            }
            if state.app_tokens.len() >= MAX_APP_TOKENS {
                return Err(DomainError::InvalidArgument(format!(
                    "A user holds at most {MAX_APP_TOKENS} app tokens"
                )));
            }
            vec![DomainEvent::AppTokenCreated {
                user_id,
                token_id: *token_id,
                title: title.to_owned(),
                token_sha256: token_sha256.clone(),
                expires_at: *expires_at,
            }]
        }
        UserCommand::RevokeAppToken { token_id } => {
            let title = state
                .app_tokens
                .get(token_id)
                .ok_or_else(|| DomainError::NotFound("App token not found".into()))?;
            vec![DomainEvent::AppTokenRevoked {
                user_id,
                token_id: *token_id,
                title: title.clone(),
            }]
        }
        UserCommand::IssueOAuthToken {
            token_id,
            client_id,
            scopes,
            token_sha256,
            expires_at,
        } => {
            require_sha256(token_sha256, "A token")?;
            if state.tokens.contains(token_id) {
                return Ok(vec![]);
            }
            vec![DomainEvent::OAuthTokenIssued {
                user_id,
                token_id: *token_id,
                client_id: client_id.clone(),
                scopes: scopes.clone(),
                token_sha256: token_sha256.clone(),
                expires_at: *expires_at,
            }]
        }
        UserCommand::Star {
            repository_id,
            namespace,
            repository,
        } => {
            if state.starred.contains(repository_id) {
                return Ok(vec![]);
            }
            if state.starred.len() >= MAX_STARRED {
                return Err(DomainError::InvalidArgument(format!(
                    "A user stars at most {MAX_STARRED} repositories"
                )));
            }
            vec![DomainEvent::RepositoryStarred {
                user_id,
                repository_id: *repository_id,
                namespace: namespace.clone(),
                repository: repository.clone(),
            }]
        }
        UserCommand::Unstar {
            repository_id,
            namespace,
            repository,
        } => {
            if !state.starred.contains(repository_id) {
                return Ok(vec![]);
            }
            vec![DomainEvent::RepositoryUnstarred {
                user_id,
                repository_id: *repository_id,
                namespace: namespace.clone(),
                repository: repository.clone(),
            }]
        }
        UserCommand::Robot(command) => {
            let name = state
                .username
                .as_ref()
                .ok_or_else(|| DomainError::NotFound("User not found".into()))?;
            state.robots.decide(user_id, name.as_str(), command)?
        }
        _ => unreachable_command()?,
    })
}

fn unreachable_command() -> Result<Vec<DomainEvent>, DomainError> {
    Err(DomainError::InvalidArgument(
        "Unsupported user command".into(),
    ))
}

fn existing(state: &User) -> Result<Uuid, DomainError> {
    state
        .id
        .ok_or_else(|| DomainError::NotFound("User not found".into()))
}

/// Secrets are never stored: a token or credential is recorded by its hex SHA-256 alone.
pub(crate) fn require_sha256(sha256: &str, what: &str) -> Result<(), DomainError> {
    if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(DomainError::InvalidArgument(format!(
            "{what} is recorded by its SHA-256 only"
        )))
    }
}
