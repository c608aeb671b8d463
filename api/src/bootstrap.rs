//! First start: with an empty event store, create a superuser so someone can call the API. Its
//! token comes from configuration, or is random and printed once (only its SHA-256 is stored).

use annals_commands::{CommandService, CreateUser, Envelope};
use annals_domain::Actor;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::context::token_digest;

pub const DEFAULT_USER: &str = "admin";

/// The superuser created, and the token when it was generated (so it must be shown).
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrapped {
    pub username: String,
    pub generated_token: Option<String>,
    pub position: u64,
}

/// Creates the superuser if the event store is empty; None when it is not.
pub async fn bootstrap(
    commands: &CommandService,
    user: Option<&str>,
    token: Option<&str>,
) -> anyhow::Result<Option<Bootstrapped>> {
    if commands.store().head().await? > 0 {
        return Ok(None);
    }
    let username = user
        .filter(|u| !u.is_empty())
        .unwrap_or(DEFAULT_USER)
        .to_owned();
    let (secret, generated) = match token.filter(|t| !t.is_empty()) {
        Some(t) => (t.to_owned(), None),
        None => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let t = format!("annals_{}", URL_SAFE_NO_PAD.encode(bytes));
            (t.clone(), Some(t))
        }
    };
    let command = CreateUser {
        username: username.clone(),
        email: None,
        super_user: true,
        token: Some(("bootstrap".into(), token_digest(&secret))),
        password_hash: None,
    };
    let done = commands
        .create_user(&Envelope::new(Actor::system()), command)
        .await?;
    Ok(Some(Bootstrapped {
        username,
        generated_token: generated,
        position: done.position,
    }))
}
