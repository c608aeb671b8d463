//! `/superuser/keys...` and `/superuser/approvedkeys/{kid}`: service keys, for superusers. A new
//! key is an Ed25519 key pair made here: its public half is kept as a JWK (`kid` is the RFC 7638
//! thumbprint), its private half is answered once, as PKCS#8 PEM, and never stored. A key made
//! by a superuser is approved at once (Quay's `Super User API` approval).

use annals_domain::service_key::ServiceKeyCommand;
use annals_projections::queries::service_keys::{self, ServiceKeyView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::Super;
use super::log_range::format_datetime;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Approval {
    /// `ServiceKeyApprovalType.SUPERUSER`.
    pub approval_type: String,
    pub approver: Option<String>,
    pub approved_date: Option<String>,
    pub notes: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceKey {
    pub kid: String,
    pub name: String,
    pub service: String,
    pub created_date: String,
    pub expiration_date: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
    pub rotation_duration: Option<i64>,
}

/// `{keys: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceKeys {
    pub keys: Vec<ServiceKey>,
}

fn time(micros: i64) -> String {
    format_datetime(DateTime::from_timestamp_micros(micros).unwrap_or_default())
}

fn view(k: ServiceKeyView) -> ServiceKey {
    ServiceKey {
        created_date: time(k.created_at),
        expiration_date: k.expiration.map(time),
        metadata: serde_json::from_str(&k.metadata)
            .ok()
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({})),
        jwk: serde_json::from_str(&k.jwk).unwrap_or_else(|_| serde_json::json!({})),
        approval: k.approver.map(|approver| Approval {
            approval_type: "ServiceKeyApprovalType.SUPERUSER".into(),
            approver: Some(approver),
            approved_date: k.approved_at.map(time),
            notes: k.approval_notes.unwrap_or_default(),
        }),
        kid: k.kid,
        name: k.name,
        service: k.service,
        rotation_duration: None,
    }
}

async fn find(state: &AppState, kid: &str) -> Result<ServiceKeyView, QuayError> {
    service_keys::get(state.db().as_ref(), kid)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Could not find key {kid}")))
}

/// List all service keys.
#[utoipa::path(get, path = "/api/v1/superuser/keys", operation_id = "listServiceKeys", tag = "superuser",
    responses((status = 200, description = "`{keys: [...]}`", body = ServiceKeys)))]
pub async fn list(
    State(state): State<AppState>,
    _su: Super,
) -> Result<Json<ServiceKeys>, QuayError> {
    let found = service_keys::list(state.db().as_ref()).await?;
    Ok(Json(ServiceKeys {
        keys: found.into_iter().map(view).collect(),
    }))
}

/// Seconds since the epoch, as Quay's key routes take an expiration; `None` for none.
fn expiration(at: Option<i64>) -> Result<Option<DateTime<Utc>>, QuayError> {
    at.map(|s| {
        DateTime::from_timestamp(s, 0)
            .ok_or_else(|| QuayError::invalid_request("Invalid expiration"))
    })
    .transpose()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewServiceKey {
    /// The service authenticating with this key.
    #[schema(pattern = "^[a-z0-9_-]+$", max_length = 255)]
    pub service: String,
    /// The friendly name of a service key.
    #[serde(default)]
    pub name: String,
    /// The key/value pairs of this key's metadata.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// If specified, the extra notes for the key.
    #[serde(default)]
    pub notes: String,
    /// The expiration date as seconds since the epoch (null: none).
    #[schema(minimum = 0, maximum = 253_402_300_799_i64)]
    pub expiration: Option<i64>,
}

/// A new key, with its private half (shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedServiceKey {
    pub kid: String,
    pub name: String,
    pub service: String,
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
    /// PKCS#8 PEM.
    pub private_key: String,
}

/// The public JWK of `key` and its RFC 7638 thumbprint.
fn jwk(key: &SigningKey) -> (serde_json::Value, String) {
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    // The thumbprint hashes the required members in lexicographic order, without spaces.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"});
    (jwk, kid)
}

/// Creates a service key (approved, as a superuser made it).
#[utoipa::path(post, path = "/api/v1/superuser/keys", operation_id = "createServiceKey", tag = "superuser",
    request_body = NewServiceKey,
    responses((status = 200, description = "The key, with its private half (shown once)", body = CreatedServiceKey),
        (status = 400, description = "Invalid service, name, metadata or expiration")))]
pub async fn create(
    State(state): State<AppState>,
    Super(ctx): Super,
    QuayJson(body): QuayJson<NewServiceKey>,
) -> Result<Json<CreatedServiceKey>, QuayError> {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let key = SigningKey::from_bytes(&seed);
    let (public_key, kid) = jwk(&key);
    let private_key = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(QuayError::internal)?
        .to_string();
    let create = ServiceKeyCommand::Create {
        kid: kid.clone(),
        name: body.name.clone(),
        service: body.service.clone(),
        metadata: body.metadata,
        expiration: expiration(body.expiration)?,
        jwk: public_key.clone(),
        now: Utc::now(),
    };
    let done = state
        .commands
        .service_key_command(&ctx.envelope, &kid, create)
        .await?;
    let approve = ServiceKeyCommand::Approve {
        approver: ctx.caller.username.clone(),
        notes: body.notes,
    };
    let approved = state
        .commands
        .service_key_command(&ctx.envelope.follow_up("approve"), &kid, approve)
        .await?;
    state.settle(&done).await;
    state.settle(&approved).await;
    Ok(Json(CreatedServiceKey {
        kid,
        name: body.name,
        service: body.service,
        public_key,
        private_key,
    }))
}

/// Returns information about a service key.
#[utoipa::path(get, path = "/api/v1/superuser/keys/{kid}", operation_id = "getServiceKey", tag = "superuser",
    params(("kid" = String, Path, description = "The unique identifier for a service key")),
    responses((status = 200, description = "The key", body = ServiceKey)))]
pub async fn get(
    State(state): State<AppState>,
    _su: Super,
    Path(kid): Path<String>,
) -> Result<Json<ServiceKey>, QuayError> {
    Ok(Json(view(find(&state, &kid).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ServiceKeyChange {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Seconds since the epoch (null: none).
    #[schema(minimum = 0, maximum = 253_402_300_799_i64)]
    pub expiration: Option<i64>,
}

/// Updates information about a service key.
#[utoipa::path(put, path = "/api/v1/superuser/keys/{kid}", operation_id = "updateServiceKey", tag = "superuser",
    request_body = ServiceKeyChange,
    params(("kid" = String, Path, description = "The unique identifier for a service key")),
    responses((status = 200, description = "The key", body = ServiceKey)))]
pub async fn update(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(kid): Path<String>,
    QuayJson(body): QuayJson<ServiceKeyChange>,
) -> Result<Json<ServiceKey>, QuayError> {
    let current = find(&state, &kid).await?;
    let command = ServiceKeyCommand::Update {
        name: body.name.unwrap_or(current.name),
        metadata: body
            .metadata
            .unwrap_or_else(|| serde_json::from_str(&current.metadata).unwrap_or_default()),
        expiration: match body.expiration {
            Some(_) => expiration(body.expiration)?,
            None => current.expiration.and_then(DateTime::from_timestamp_micros),
        },
        now: Utc::now(),
    };
    let done = state
        .commands
        .service_key_command(&ctx.envelope, &kid, command)
        .await?;
    state.settle(&done).await;
    Ok(Json(view(find(&state, &kid).await?)))
}

/// Deletes a service key.
#[utoipa::path(delete, path = "/api/v1/superuser/keys/{kid}", operation_id = "deleteServiceKey", tag = "superuser",
    params(("kid" = String, Path, description = "The unique identifier for a service key")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(kid): Path<String>,
) -> Result<StatusCode, QuayError> {
    find(&state, &kid).await?;
    let done = state
        .commands
        .service_key_command(&ctx.envelope, &kid, ServiceKeyCommand::Delete)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ApprovalInput {
    /// Optional approval notes.
    #[serde(default)]
    pub notes: String,
}

/// Approves a service key.
#[utoipa::path(post, path = "/api/v1/superuser/approvedkeys/{kid}", operation_id = "approveServiceKey", tag = "superuser",
    request_body = ApprovalInput,
    params(("kid" = String, Path, description = "The unique identifier for a service key")),
    responses((status = 201, description = "Approved", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Already approved")))]
pub async fn approve(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(kid): Path<String>,
    QuayJson(body): QuayJson<ApprovalInput>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    find(&state, &kid).await?;
    let command = ServiceKeyCommand::Approve {
        approver: ctx.caller.username.clone(),
        notes: body.notes,
    };
    let done = state
        .commands
        .service_key_command(&ctx.envelope, &kid, command)
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("Created")))
}
