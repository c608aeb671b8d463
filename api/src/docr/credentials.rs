//! Docker credentials for the registry: a fresh secret, recorded by its SHA-256 as a registry
//! credential of the caller (read-only unless `read_write`, expiring after `expiry_seconds`), in
//! the shape of a Docker `config.json`. The OCI listener accepts it as basic auth
//! `<username>:<secret>`.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::DoError;
use super::extract::{Ctx, DoQuery};
use crate::context::token_digest;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CredentialsQuery {
    read_write: Option<bool>,
    expiry_seconds: Option<i64>,
}

/// `GET /v2/registry/docker-credentials`
pub async fn docker_credentials(
    State(state): State<AppState>,
    ctx: Ctx,
    DoQuery(q): DoQuery<CredentialsQuery>,
) -> Result<Json<Value>, DoError> {
    let expiry = q.expiry_seconds.unwrap_or(0);
    if expiry < 0 {
        return Err(DoError::unprocessable(
            "expiry_seconds must be zero (no expiry) or positive",
        ));
    }
    let expires_at = match expiry {
        0 => None,
        s => Some(
            chrono::Utc::now()
                + chrono::TimeDelta::try_seconds(s)
                    .ok_or_else(|| DoError::unprocessable("expiry_seconds is too large"))?,
        ),
    };
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("docr-{}", hex::encode(bytes));
    let done = state
        .commands
        .issue_registry_credential(
            &ctx.envelope,
            ctx.caller.user_id,
            &ctx.caller.username,
            token_digest(&secret),
            q.read_write.unwrap_or(false),
            expires_at,
        )
        .await?;
    state.settle(&done).await;
    let auth = STANDARD.encode(format!("{}:{secret}", ctx.caller.username));
    Ok(Json(json!({"auths": {
        state.registry_host.as_ref(): {"auth": auth},
    }})))
}
