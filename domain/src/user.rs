//! Users: accounts that act on the registry and own a namespace of their own.

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{Email, NamespaceName};

pub fn stream(id: Uuid) -> String {
    format!("user-{id}")
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    pub id: Option<Uuid>,
    pub username: Option<NamespaceName>,
    pub super_user: bool,
    pub tokens: Vec<Uuid>,
}

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
            _ => {}
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
    }
}

fn existing(state: &User) -> Result<Uuid, DomainError> {
    state
        .id
        .ok_or_else(|| DomainError::NotFound("User not found".into()))
}

/// Secrets are never stored: a token or credential is recorded by its hex SHA-256 alone.
fn require_sha256(sha256: &str, what: &str) -> Result<(), DomainError> {
    if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(DomainError::InvalidArgument(format!(
            "{what} is recorded by its SHA-256 only"
        )))
    }
}
