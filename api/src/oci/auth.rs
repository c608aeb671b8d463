//! Who is calling the registry. Clients authenticate with HTTP basic auth (a user name and an API
//! token or registry credential — the same credentials as the management API) or with a bearer
//! token from the Docker token flow (`/token`), which is an HMAC-signed claim of the user, whether
//! it may push, the credential it was made from, and its expiry. A bearer token never outlives
//! that credential, and every use re-checks it, so an expired or revoked credential stops every
//! token made from it. An anonymous client gets a `WWW-Authenticate` challenge pointing at
//! `/token`, and may pull public repositories.

use annals_domain::access::Scope;
use annals_projections::queries::namespaces;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::error::OciError;
use crate::access::{Caller, CredentialKind, refusals, resolve};
use crate::context::token_digest;
use crate::state::AppState;

/// An authenticated registry client.
#[derive(Debug, Clone)]
pub struct RegistryCaller {
    pub caller: Caller,
    /// The SHA-256 of the credential it authenticated with: every bearer token made from it
    /// re-checks it.
    pub source: String,
}

impl RegistryCaller {
    /// Whether its credential lets it push and delete at all (its role on each repository is
    /// checked as well).
    pub fn can_write(&self) -> bool {
        self.caller.subject.scopes.contains(Scope::RepoWrite)
    }
}

/// How long a bearer token from `/token` is valid at most.
pub const TOKEN_TTL_S: i64 = 300;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user or robot; nil for an anonymous token.
    sub: Uuid,
    name: String,
    exp: i64,
    /// The SHA-256 of the credential the token was made from.
    #[serde(default)]
    src: String,
    /// What the holder may do, as Docker's token specification says it: each request is still
    /// checked against the holder's permissions as they are then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    access: Vec<Grant>,
}

/// One entry of a token's `access` claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

fn sign(state: &AppState, payload: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&state.token_key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A bearer token for `who`, and how many seconds it is valid: the token's lifetime, or less
/// when the credential it is made from expires sooner.
pub fn issue_token(
    state: &AppState,
    who: Option<&RegistryCaller>,
    access: Vec<Grant>,
) -> (String, i64) {
    let now = chrono::Utc::now().timestamp();
    let exp = who
        .and_then(|w| w.caller.expires_at)
        .map_or(now + TOKEN_TTL_S, |e| e.min(now + TOKEN_TTL_S));
    let claims = Claims {
        sub: who.map_or(Uuid::nil(), |w| w.caller.user_id),
        name: who.map(|w| w.caller.username.clone()).unwrap_or_default(),
        exp,
        src: who.map(|w| w.source.clone()).unwrap_or_default(),
        access,
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

/// The `src` of a token issued for a password login: the account's id follows.
const PASSWORD_SOURCE: &str = "password:";

/// The caller a credential (by its SHA-256) stands for now: `None` once it has expired or is
/// gone.
async fn check_source(state: &AppState, digest: &str) -> Result<Option<RegistryCaller>, OciError> {
    if let Some(id) = digest.strip_prefix(PASSWORD_SOURCE) {
        let Ok(id) = uuid::Uuid::parse_str(id) else {
            return Ok(None);
        };
        let user = namespaces::by_id(state.db().as_ref(), id).await?;
        return Ok(user
            .filter(|u| !u.is_organization())
            .map(|u| RegistryCaller {
                caller: resolve::password_caller(u.id, &u.name, u.super_user),
                source: digest.to_owned(),
            }));
    }
    Ok(resolve::by_digest(state, digest)
        .await?
        .map(|caller| RegistryCaller {
            caller,
            source: digest.to_owned(),
        }))
}

/// The caller of a registry request: `Ok(None)` for an anonymous one, an error for credentials
/// that do not check out (a failed login that names a live user is recorded).
pub async fn identify(
    state: &AppState,
    parts: &Parts,
    scope: Option<&str>,
) -> Result<Option<RegistryCaller>, OciError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let refused = || OciError::unauthorized(challenge(state, scope));
    let value = value.to_str().map_err(|_| refused())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(refused)?;
    if scheme.eq_ignore_ascii_case("basic") {
        let (user, secret) = resolve::basic_pair(value).ok_or_else(refused)?;
        if let Some(caller) = resolve::basic(state, &user, &secret).await? {
            // A token issued for a password login is checked against the account; any other
            // against its credential.
            let source = match caller.kind {
                CredentialKind::Password => format!("{PASSWORD_SOURCE}{}", caller.user_id),
                _ => token_digest(&secret),
            };
            return Ok(Some(RegistryCaller { caller, source }));
        }
        let envelope = super::repo::envelope(None, parts);
        refusals::login_failed_as(state, &envelope, &user, "registry").await;
        return Err(refused());
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let claims = verify_token(state, rest.trim()).ok_or_else(refused)?;
        // An anonymous token (from `/token` without credentials) is no identity.
        if claims.sub.is_nil() {
            return Ok(None);
        }
        // The credential it was made from must still stand for the same principal.
        return check_source(state, &claims.src)
            .await?
            .filter(|who| who.caller.user_id == claims.sub)
            .map(Some)
            .ok_or_else(refused);
    }
    Err(refused())
}
