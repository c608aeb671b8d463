//! Who is calling, and the envelope their commands travel in. Each API family wraps these in an
//! extractor that answers failures in its own error shape.

use std::marker::PhantomData;
use std::net::SocketAddr;

use annals_commands::Envelope;
use annals_domain::Actor;
use annals_projections::queries::tokens;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::idempotency::{self, Fingerprint};
use crate::state::AppState;

/// An authenticated user.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub user_id: Uuid,
    pub username: String,
    pub super_user: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AuthFailure {
    Missing,
    Invalid,
    Unavailable(String),
}

/// The authenticated caller and the envelope for the commands of this request. `E` is the API
/// family's error, the shape in which a failed authentication is answered.
pub struct Ctx<E> {
    pub caller: Caller,
    pub envelope: Envelope,
    family: PhantomData<fn() -> E>,
}

impl<E: From<AuthFailure> + IntoResponse> FromRequestParts<AppState> for Ctx<E> {
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, E> {
        let caller = authenticate(state, &parts.headers).await?;
        let envelope = envelope(&caller, parts);
        Ok(Ctx {
            caller,
            envelope,
            family: PhantomData,
        })
    }
}

/// The SHA-256 (hex) under which a token secret is recorded.
pub fn token_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Resolves `Authorization: Bearer <token>` to a user.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthFailure::Missing)?;
    let value = value.to_str().map_err(|_| AuthFailure::Invalid)?;
    let (scheme, secret) = value.split_once(' ').ok_or(AuthFailure::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
        return Err(AuthFailure::Invalid);
    }
    let user = tokens::user_for_token(state.db().as_ref(), &token_digest(secret.trim()))
        .await
        .map_err(|e| AuthFailure::Unavailable(e.to_string()))?
        .ok_or(AuthFailure::Invalid)?;
    Ok(Caller {
        user_id: user.id,
        username: user.name,
        super_user: user.super_user,
    })
}

/// The envelope of the commands a request issues: the caller as actor, the peer address, the
/// user agent, and the client's `Idempotency-Key` (scoped to the caller; only where the
/// [`idempotency::fingerprint`] middleware fingerprinted the request) and `X-Request-Id` (a
/// UUID, used as correlation id) when given.
pub fn envelope(caller: &Caller, parts: &Parts) -> Envelope {
    let mut envelope = Envelope::new(Actor::user(caller.user_id, caller.username.clone()));
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if let (Some(Fingerprint(fingerprint)), Ok(Some(key))) = (
        parts.extensions.get::<Fingerprint>(),
        idempotency::key(&parts.headers),
    ) {
        envelope = envelope
            .with_command_id(Uuid::new_v5(&caller.user_id, key.as_bytes()))
            .with_fingerprint(fingerprint.clone());
    }
    if let Some(request_id) = header("x-request-id").and_then(|v| Uuid::parse_str(&v).ok()) {
        envelope.correlation_id = request_id;
    }
    envelope.user_agent = header("user-agent");
    envelope.request_id = crate::observe::request_id(&parts.headers).map(str::to_owned);
    envelope.client_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    envelope
}
