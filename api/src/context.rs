//! The authenticated request context, and the envelope its commands travel in. Each API
//! family wraps these in an extractor that answers failures in its own error shape.

use std::marker::PhantomData;
use std::net::SocketAddr;

use annals_commands::Envelope;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use uuid::Uuid;

pub use crate::access::Caller;
use crate::access::resolve;
pub use crate::access::resolve::{AuthFailure, token_digest};
use crate::idempotency::{self, Fingerprint};
use crate::state::AppState;

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
        let caller = resolve::request_caller(state, parts)
            .await?
            .ok_or(AuthFailure::Missing)?;
        let envelope = envelope(&caller, parts);
        Ok(Ctx {
            caller,
            envelope,
            family: PhantomData,
        })
    }
}

/// The envelope of the commands a request issues: the caller as actor, the peer address, the
/// user agent, and the client's `Idempotency-Key` (scoped to the caller; only where the
/// [`idempotency::fingerprint`] middleware fingerprinted the request) and `X-Request-Id` (a
/// UUID, used as correlation id) when given.
pub fn envelope(caller: &Caller, parts: &Parts) -> Envelope {
    request_envelope(caller.actor(), caller.user_id, parts)
}

/// The envelope of an unauthenticated request (an anonymous pull, a refused login): the
/// system actor `anonymous`, with the request's client details.
pub fn anonymous_envelope(parts: &Parts) -> Envelope {
    let actor = annals_domain::Actor {
        kind: annals_domain::ActorKind::System,
        name: "anonymous".into(),
        id: None,
    };
    request_envelope(actor, Uuid::nil(), parts)
}

/// `key_owner` is whose idempotency keys the request's key is among.
fn request_envelope(actor: annals_domain::Actor, key_owner: Uuid, parts: &Parts) -> Envelope {
    let mut envelope = Envelope::new(actor);
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
            .with_command_id(Uuid::new_v5(&key_owner, key.as_bytes()))
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
