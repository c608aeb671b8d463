//! Extractors that answer their failures in Quay's error shape: the authenticated request
//! context, JSON bodies and query strings.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::QuayError;
use crate::context;

/// The authenticated caller and the envelope, failures answered in this family's shape.
pub type Ctx = context::Ctx<QuayError>;

/// A JSON body; a malformed one is a Quay `invalid_request`.
pub struct QuayJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for QuayJson<T> {
    type Rejection = QuayError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(QuayJson(value)),
            Err(rejection) => Err(QuayError::invalid_request(json_message(&rejection))),
        }
    }
}

fn json_message(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Expected a JSON body (Content-Type: application/json)".into()
        }
        other => format!("Malformed JSON body: {}", other.body_text()),
    }
}

/// Query parameters; unparseable ones are a Quay `invalid_request`.
pub struct QuayQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QuayQuery<T> {
    type Rejection = QuayError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(QuayQuery(value)),
            Err(rejection) => Err(QuayError::invalid_request(query_message(&rejection))),
        }
    }
}

fn query_message(rejection: &QueryRejection) -> String {
    format!("Invalid query parameters: {}", rejection.body_text())
}

/// The highest `page` a paged route accepts: far past any real listing, and small enough that
/// nothing computed from it overflows.
pub const MAX_PAGE: u64 = 100_000;

/// A numeric parameter within `min..=max` (its default when absent), or a Quay
/// `invalid_request` naming the bounds: a value outside them is refused, never echoed.
pub fn bounded(
    name: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, QuayError> {
    match value {
        None => Ok(default),
        Some(v) if (min..=max).contains(&v) => Ok(v),
        Some(_) => Err(QuayError::invalid_request(format!(
            "{name} must be between {min} and {max}"
        ))),
    }
}
