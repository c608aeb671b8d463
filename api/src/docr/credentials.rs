//! Docker credentials for the registry: a fresh secret, recorded by its SHA-256 as a registry
//! credential of the caller (read-only unless `read_write`, expiring after `expiry_seconds`), in
//! the shape of a Docker `config.json`. The OCI listener accepts it as basic auth
//! `<username>:<secret>`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::error::DoError;
use super::extract::{Ctx, DoQuery};
use crate::context::token_digest;
use crate::state::AppState;

/// The longest credential lifetime: DigitalOcean's `expiry_seconds` is an `i32`.
pub const MAX_EXPIRY_SECONDS: i64 = i32::MAX as i64;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CredentialsQuery {
    /// Whether the credentials may push (read-only by default).
    read_write: Option<bool>,
    /// Seconds the credentials are valid; 0 (the default): no expiry.
    #[param(minimum = 0, maximum = 2_147_483_647)]
    expiry_seconds: Option<i64>,
}

/// One registry's entry in a Docker `config.json`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DockerAuth {
    /// base64 of `<username>:<secret>`.
    pub auth: String,
}

/// A Docker `config.json`: `{auths: {<registry host>: {auth}}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DockerCredentials {
    pub auths: BTreeMap<String, DockerAuth>,
}

/// Get Docker credentials.
#[utoipa::path(get, path = "/v2/registry/docker-credentials", operation_id = "registry_get_docker_credentials", tag = "registry", params(CredentialsQuery),
    responses((status = 200, body = DockerCredentials, description = "A Docker `config.json` for the registry"),
        (status = 422, description = "expiry_seconds out of bounds")))]
pub async fn docker_credentials(
    State(state): State<AppState>,
    ctx: Ctx,
    DoQuery(q): DoQuery<CredentialsQuery>,
) -> Result<Json<DockerCredentials>, DoError> {
    let expiry = q.expiry_seconds.unwrap_or(0);
    if !(0..=MAX_EXPIRY_SECONDS).contains(&expiry) {
        return Err(DoError::unprocessable(format!(
            "expiry_seconds must be between 0 (no expiry) and {MAX_EXPIRY_SECONDS}"
        )));
    }
    let expires_at = match expiry {
        0 => None,
        s => Some(
            chrono::TimeDelta::try_seconds(s)
                .and_then(|d| chrono::Utc::now().checked_add_signed(d))
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
    Ok(Json(DockerCredentials {
        auths: BTreeMap::from([(state.registry_host.to_string(), DockerAuth { auth })]),
    }))
}
