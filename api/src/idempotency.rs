//! `Idempotency-Key` on the management APIs, with the semantics of the IETF httpapi draft: a
//! key names one request of one caller. Repeating that request answers its first result and
//! appends nothing; the same key on a different request (method, path and query, or body) is
//! refused with 422, and while the first is still running, with 409.
//!
//! The key becomes the command id (`Uuid::v5(caller, key)`, so keys belong to their caller) and
//! the request's [`Fingerprint`] travels in the events' metadata, where a repeat is checked
//! against it (`CommandService::run`). Requests still running are tracked per process in
//! [`KeysInFlight`], by credentials and key, from the first byte of the body on; a repeat
//! racing on another process is still never appended twice (the store records each command id
//! once).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// The largest body fingerprinted, which is also the largest JSON body a management route reads.
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// SHA-256 (hex) over a request's method, path and query, and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub String);

/// Why a request with a key was refused before it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// Empty, too long or not visible ASCII.
    Invalid,
    /// The body is larger than any management route reads.
    BodyTooLarge,
    /// The body could not be read (the client went away).
    BodyUnreadable,
    /// The first request with this key is still being processed.
    InFlight,
}

impl KeyRefusal {
    pub fn message(&self) -> String {
        match self {
            KeyRefusal::Invalid => {
                format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters")
            }
            KeyRefusal::BodyTooLarge => format!("the request body exceeds {MAX_BODY} bytes"),
            KeyRefusal::BodyUnreadable => "the request body could not be read".into(),
            KeyRefusal::InFlight => {
                "a request with this Idempotency-Key is still being processed; retry later".into()
            }
        }
    }
}

/// The client's key, if the request carries one.
pub fn key(headers: &axum::http::HeaderMap) -> Result<Option<&str>, KeyRefusal> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| KeyRefusal::Invalid)?;
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(KeyRefusal::Invalid);
    }
    Ok(Some(key))
}

/// Middleware for a family's router: a request with a key holds it while it runs, has its body
/// read (bounded) and its fingerprint recorded for the context extractor; refusals are answered
/// in the family's error shape `E`.
pub async fn fingerprint<E: From<KeyRefusal> + IntoResponse>(
    State(keys): State<KeysInFlight>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let key = match key(req.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(req).await,
        Err(refusal) => return E::from(refusal).into_response(),
    };
    // Who is asking, as far as can be told before authentication: the credentials sent.
    let mut holder = Sha256::new();
    if let Some(auth) = req.headers().get(axum::http::header::AUTHORIZATION) {
        holder.update(auth.as_bytes());
    }
    holder.update(b"\n");
    holder.update(key.as_bytes());
    let Some(_held) = keys.hold(hex::encode(holder.finalize())) else {
        return E::from(KeyRefusal::InFlight).into_response();
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            let refusal = if too_large {
                KeyRefusal::BodyTooLarge
            } else {
                KeyRefusal::BodyUnreadable
            };
            return E::from(refusal).into_response();
        }
    };
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str().as_bytes());
    hash.update(b" ");
    hash.update(
        parts
            .uri
            .path_and_query()
            .map_or("", |p| p.as_str())
            .as_bytes(),
    );
    hash.update(b"\n");
    hash.update(&bytes);
    parts
        .extensions
        .insert(Fingerprint(hex::encode(hash.finalize())));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The keys (with the credentials that sent them) of requests running in this process.
#[derive(Debug, Clone, Default)]
pub struct KeysInFlight(Arc<Mutex<HashSet<String>>>);

/// A running request's hold on its key; released when dropped.
#[derive(Debug)]
pub struct InFlight {
    id: String,
    keys: KeysInFlight,
}

impl KeysInFlight {
    /// Holds `id` for a request, or `None` if another request holds it.
    pub fn hold(&self, id: String) -> Option<InFlight> {
        self.0
            .lock()
            .expect("keys in flight")
            .insert(id.clone())
            .then(|| InFlight {
                id,
                keys: self.clone(),
            })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.keys.0.lock().expect("keys in flight").remove(&self.id);
    }
}
