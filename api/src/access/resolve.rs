//! Resolving a request's credential to its [`Caller`]. The management APIs take a bearer
//! token (an API or OAuth token); the registry takes HTTP basic auth, whose password may be
//! any credential of the named user or robot — an API token, an app-specific token, a robot
//! token or a DigitalOcean registry credential. Every lookup is one indexed query on the
//! access read model, so a revoked credential stops working as soon as its revocation is
//! projected.

use annals_domain::access::{Principal, Scopes, Subject};
use annals_projections::queries::{access, tokens};
use annals_projections::sql::DbError;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use super::caller::{Caller, CredentialKind};
use super::password;
use crate::state::AppState;

/// Why a request's credential was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthFailure {
    Missing,
    Invalid,
    Unavailable(String),
}

impl From<DbError> for AuthFailure {
    fn from(e: DbError) -> Self {
        AuthFailure::Unavailable(e.to_string())
    }
}

/// The SHA-256 (hex) under which a secret is recorded.
pub fn token_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The caller a credential (by the SHA-256 of its secret) stands for now, whatever its kind:
/// `None` once it has expired or is gone.
pub async fn by_digest(state: &AppState, digest: &str) -> Result<Option<Caller>, DbError> {
    let position = state.watch.position();
    if let Some(known) = state.access_cache.credential(digest, position) {
        return Ok(known.filter(|c| {
            c.expires_at
                .is_none_or(|e| e.saturating_mul(1_000_000) > now_micros())
        }));
    }
    let found = lookup(state, digest).await?;
    state
        .access_cache
        .remember_credential(digest, position, found.clone());
    Ok(found)
}

async fn lookup(state: &AppState, digest: &str) -> Result<Option<Caller>, DbError> {
    let db = state.live_db();
    if let Some(view) = access::credential(db.as_ref(), digest).await? {
        return Ok(Caller::from_credential(view, now_micros()));
    }
    // DigitalOcean registry credentials: read-only or read-write registry passwords.
    let Some((user, read_write, expires_at)) =
        tokens::registry_credential(db.as_ref(), digest).await?
    else {
        return Ok(None);
    };
    if expires_at.is_some_and(|e| e <= now_micros()) {
        return Ok(None);
    }
    let scopes = if read_write {
        Scopes::from_names(&["repo:write", "repo:create"])
    } else {
        Scopes::from_names(&["repo:read"])
    };
    Ok(Some(Caller {
        subject: Subject {
            principal: Principal::User { id: user.id },
            scopes,
            super_user: user.super_user,
        },
        user_id: user.id,
        username: user.name,
        owner_id: user.id,
        kind: CredentialKind::Registry,
        token_id: uuid::Uuid::nil(),
        expires_at: expires_at.map(|e| e.div_euclid(1_000_000)),
    }))
}

/// `Authorization: Bearer <token>` on a management API: `Ok(None)` without the header.
pub async fn bearer(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, AuthFailure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthFailure::Invalid)?;
    let (scheme, secret) = value.split_once(' ').ok_or(AuthFailure::Invalid)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() || secret.len() > 4096 {
        return Err(AuthFailure::Invalid);
    }
    match by_digest(state, &token_digest(secret)).await? {
        Some(caller) if caller.kind.is_api_bearer() => Ok(Some(caller)),
        _ => Err(AuthFailure::Invalid),
    }
}

/// A registry login: `username` with a credential of that user or robot as the password.
/// Quay's conventions hold: `$app` names the owner of an app-specific token and
/// `$oauthtoken` the owner of an OAuth token.
pub async fn basic(
    state: &AppState,
    username: &str,
    secret: &str,
) -> Result<Option<Caller>, DbError> {
    if secret.is_empty() || secret.len() > 4096 {
        return Ok(None);
    }
    if let Some(caller) = by_digest(state, &token_digest(secret)).await? {
        let named = caller.username == username
            || match caller.kind {
                CredentialKind::App => username == "$app",
                CredentialKind::OAuth | CredentialKind::Api => username == "$oauthtoken",
                _ => false,
            };
        return Ok(named.then_some(caller));
    }
    by_password(state, username, secret).await
}

/// A user who logs in with its password: the user with every scope its account holds.
async fn by_password(
    state: &AppState,
    username: &str,
    secret: &str,
) -> Result<Option<Caller>, DbError> {
    let Some((id, super_user, Some(hash))) =
        access::password(state.live_db().as_ref(), username).await?
    else {
        return Ok(None);
    };
    if !password::verify(secret.to_owned(), hash).await {
        return Ok(None);
    }
    Ok(Some(password_caller(id, username, super_user)))
}

/// The caller a user's password login stands for: the user, with every scope.
pub fn password_caller(id: uuid::Uuid, username: &str, super_user: bool) -> Caller {
    Caller {
        subject: Subject {
            principal: Principal::User { id },
            scopes: Scopes::all(),
            super_user,
        },
        user_id: id,
        username: username.to_owned(),
        owner_id: id,
        kind: CredentialKind::Password,
        token_id: uuid::Uuid::nil(),
        expires_at: None,
    }
}

/// The user name and secret of an `Authorization: Basic` value; `None` when it is not one.
pub fn basic_pair(value: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, secret) = decoded.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}

/// What a request's bearer credential resolved to, kept in its extensions so that every
/// extractor and check of one request shares one lookup.
#[derive(Clone)]
struct Resolved(Result<Option<Caller>, AuthFailure>);

/// Carries a request's resolved caller over to another request made from it (a time-travel
/// read runs its route again as a fresh request).
pub fn carry_caller(from: &axum::http::Extensions, to: &mut axum::http::Extensions) {
    if let Some(resolved) = from.get::<Resolved>() {
        to.insert(resolved.clone());
    }
}

/// The bearer caller of a management API request, resolved once per request.
pub async fn request_caller(
    state: &AppState,
    parts: &mut Parts,
) -> Result<Option<Caller>, AuthFailure> {
    if let Some(Resolved(done)) = parts.extensions.get::<Resolved>() {
        return done.clone();
    }
    let done = bearer(state, &parts.headers).await;
    parts.extensions.insert(Resolved(done.clone()));
    done
}
