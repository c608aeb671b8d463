//! Who is calling the registry. Clients authenticate with HTTP basic auth (a user name and an API
//! token or registry credential — the same credentials as the management API) or with a bearer
//! token from the Docker token flow (`/token`), which is an HMAC-signed claim of the user, whether
//! it may push, the credential it was made from, and its expiry. A bearer token never outlives
//! that credential, and every use re-checks it, so an expired or revoked credential stops every
//! token made from it. An anonymous client gets a `WWW-Authenticate` challenge pointing at
//! `/token`, and may pull public repositories.

use annals_projections::queries::tokens;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::error::OciError;
use crate::context::{Caller, token_digest};
use crate::state::AppState;

/// An authenticated registry client.
#[derive(Debug, Clone)]
pub struct RegistryCaller {
    pub caller: Caller,
    /// Whether it may push and delete (API tokens and read-write credentials may).
    pub can_write: bool,
    /// The SHA-256 of the credential it authenticated with (empty for an anonymous token).
    pub source: String,
    /// When that credential expires (seconds since the epoch), if it does.
    pub expires_at: Option<i64>,
}

impl RegistryCaller {
    /// The anonymous client of the token endpoint: pulls public repositories only.
    pub fn anonymous() -> Self {
        RegistryCaller {
            caller: Caller {
                user_id: Uuid::nil(),
                username: String::new(),
                super_user: false,
            },
            can_write: false,
            source: String::new(),
            expires_at: None,
        }
    }
}

/// How long a bearer token from `/token` is valid at most.
pub const TOKEN_TTL_S: i64 = 300;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    name: String,
    su: bool,
    w: bool,
    exp: i64,
    /// The SHA-256 of the credential the token was made from.
    #[serde(default)]
    src: String,
}

fn sign(state: &AppState, payload: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&state.token_key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A bearer token for `who`, and how many seconds it is valid: the token's lifetime, or less
/// when the credential it is made from expires sooner.
pub fn issue_token(state: &AppState, who: &RegistryCaller) -> (String, i64) {
    let now = chrono::Utc::now().timestamp();
    let exp = who
        .expires_at
        .map_or(now + TOKEN_TTL_S, |e| e.min(now + TOKEN_TTL_S));
    let claims = Claims {
        sub: who.caller.user_id,
        name: who.caller.username.clone(),
        su: who.caller.super_user,
        w: who.can_write,
        exp,
        src: who.source.clone(),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signature = sign(state, &payload);
    (format!("{payload}.{signature}"), (exp - now).max(0))
}

/// The claims of a token signed by this server that has not expired.
fn verify_token(state: &AppState, token: &str) -> Option<Claims> {
    let (payload, signature) = token.split_once('.')?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&state.token_key).ok()?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.exp > chrono::Utc::now().timestamp()).then_some(claims)
}

/// The challenge that sends a client to the token endpoint.
pub fn challenge(state: &AppState, scope: Option<&str>) -> String {
    let host = &state.registry_host;
    let mut c = format!("Bearer realm=\"http://{host}/token\",service=\"{host}\"");
    if let Some(scope) = scope {
        c.push_str(&format!(",scope=\"{scope}\""));
    }
    c
}

/// Checks a user name and secret: an API token (read-write) or a live registry credential.
pub async fn check_password(
    state: &AppState,
    username: &str,
    secret: &str,
) -> Result<Option<RegistryCaller>, OciError> {
    Ok(check_source(state, &token_digest(secret))
        .await?
        .filter(|who| who.caller.username == username))
}

/// The caller a credential (by its SHA-256) stands for now: `None` once it has expired or is
/// gone.
async fn check_source(state: &AppState, digest: &str) -> Result<Option<RegistryCaller>, OciError> {
    let db = state.db();
    if let Some(user) = tokens::user_for_token(db.as_ref(), digest).await? {
        return Ok(Some(RegistryCaller {
            caller: Caller {
                user_id: user.id,
                username: user.name,
                super_user: user.super_user,
            },
            can_write: true,
            source: digest.to_owned(),
            expires_at: None,
        }));
    }
    if let Some((user, read_write, expires_at)) =
        tokens::registry_credential(db.as_ref(), digest).await?
    {
        let now = chrono::Utc::now().timestamp_micros();
        if expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        return Ok(Some(RegistryCaller {
            caller: Caller {
                user_id: user.id,
                username: user.name,
                super_user: user.super_user,
            },
            can_write: read_write,
            source: digest.to_owned(),
            expires_at: expires_at.map(|e| e.div_euclid(1_000_000)),
        }));
    }
    Ok(None)
}

/// The caller of a registry request: `Ok(None)` for an anonymous one, an error for credentials
/// that do not check out.
pub async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<&str>,
) -> Result<Option<RegistryCaller>, OciError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let refused = || OciError::unauthorized(challenge(state, scope));
    let value = value.to_str().map_err(|_| refused())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(refused)?;
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest.trim()).map_err(|_| refused())?;
        let decoded = String::from_utf8(decoded).map_err(|_| refused())?;
        let (user, secret) = decoded.split_once(':').ok_or_else(refused)?;
        return check_password(state, user, secret)
            .await?
            .map(Some)
            .ok_or_else(refused);
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let claims = verify_token(state, rest.trim()).ok_or_else(refused)?;
        // An anonymous token (from `/token` without credentials) is no identity.
        if claims.sub.is_nil() {
            return Ok(None);
        }
        // The credential it was made from must still stand for the same user.
        let who = check_source(state, &claims.src)
            .await?
            .filter(|who| who.caller.user_id == claims.sub)
            .ok_or_else(refused)?;
        return Ok(Some(RegistryCaller {
            can_write: claims.w && who.can_write,
            ..who
        }));
    }
    Err(refused())
}
