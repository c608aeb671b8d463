//! Who is calling the registry. Clients authenticate with HTTP basic auth (a user name and an API
//! token or registry credential — the same credentials as the management API) or with a bearer
//! token from the Docker token flow (`/token`), which is an HMAC-signed claim of the user, whether
//! it may push, and its expiry. An anonymous client gets a `WWW-Authenticate` challenge pointing
//! at `/token`, and may pull public repositories.

use std::sync::OnceLock;

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
}

/// How long a bearer token from `/token` is valid.
pub const TOKEN_TTL_S: i64 = 300;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    name: String,
    su: bool,
    w: bool,
    exp: i64,
}

/// The key bearer tokens are signed with: 32 random bytes kept beside the blobs, so tokens stay
/// valid across restarts and every server sharing the blob store accepts them.
fn signing_key(state: &AppState) -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = state.blobs.root().join("token-signing.key");
        if let Ok(key) = std::fs::read(&path)
            && key.len() == 32
        {
            return key;
        }
        let key: [u8; 32] = rand::random();
        let tmp = path.with_extension("tmp");
        if std::fs::write(&tmp, key)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .is_err()
        {
            tracing::warn!(
                "could not persist the registry token key; tokens end with this process"
            );
        }
        std::fs::read(&path)
            .ok()
            .filter(|k| k.len() == 32)
            .unwrap_or(key.to_vec())
    })
}

fn sign(state: &AppState, payload: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(signing_key(state)).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A bearer token for `who`.
pub fn issue_token(state: &AppState, who: &RegistryCaller) -> String {
    let claims = Claims {
        sub: who.caller.user_id,
        name: who.caller.username.clone(),
        su: who.caller.super_user,
        w: who.can_write,
        exp: chrono::Utc::now().timestamp() + TOKEN_TTL_S,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signature = sign(state, &payload);
    format!("{payload}.{signature}")
}

fn verify_token(state: &AppState, token: &str) -> Option<RegistryCaller> {
    let (payload, signature) = token.split_once('.')?;
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key(state)).ok()?;
    mac.update(payload.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.exp > chrono::Utc::now().timestamp()).then_some(RegistryCaller {
        caller: Caller {
            user_id: claims.sub,
            username: claims.name,
            super_user: claims.su,
        },
        can_write: claims.w,
    })
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

/// Checks a user name and secret: an API token (read-write) or a registry credential.
pub async fn check_password(
    state: &AppState,
    username: &str,
    secret: &str,
) -> Result<Option<RegistryCaller>, OciError> {
    let digest = token_digest(secret);
    let db = state.db();
    if let Some(user) = tokens::user_for_token(db.as_ref(), &digest).await? {
        return Ok((user.name == username).then_some(RegistryCaller {
            caller: Caller {
                user_id: user.id,
                username: user.name,
                super_user: user.super_user,
            },
            can_write: true,
        }));
    }
    if let Some((user, read_write, expires_at)) =
        tokens::registry_credential(db.as_ref(), &digest).await?
    {
        let live = expires_at.is_none_or(|e| e > chrono::Utc::now().timestamp_micros());
        return Ok((live && user.name == username).then_some(RegistryCaller {
            caller: Caller {
                user_id: user.id,
                username: user.name,
                super_user: user.super_user,
            },
            can_write: read_write,
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
        let who = verify_token(state, rest.trim()).ok_or_else(refused)?;
        // An anonymous token (from `/token` without credentials) is no identity.
        return Ok((!who.caller.user_id.is_nil()).then_some(who));
    }
    Err(refused())
}
