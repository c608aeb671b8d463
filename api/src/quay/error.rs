//! Quay's error model: `{status, error_message, title, error_type, detail, type}`.

use annals_commands::CommandError;
use annals_domain::DomainError;
use annals_projections::sql::DbError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::context::AuthFailure;
use crate::idempotency::KeyRefusal;

#[derive(Debug, Clone, PartialEq)]
pub struct QuayError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub message: String,
}

impl QuayError {
    pub fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> Self {
        QuayError {
            status,
            error_type,
            message: message.into(),
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {message}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An internal error occurred",
        )
    }
}

/// Quay's error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuayErrorBody {
    /// The HTTP status.
    pub status: u16,
    pub error_message: String,
    /// The error type again.
    pub title: String,
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `not_found`, ...
    pub error_type: String,
    /// The error message again.
    pub detail: String,
    /// `<host>/api/v1/error/<error_type>`.
    #[serde(rename = "type")]
    pub type_url: String,
}

/// A Quay error is answered as a bare status carrying the error; [`render`], the Quay router's
/// outermost layer, writes the body, whose `type` link needs the server's public URL.
impl IntoResponse for QuayError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: writes the body of every Quay error answered inside it.
pub async fn render(
    axum::extract::State(public_url): axum::extract::State<std::sync::Arc<str>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(req).await;
    match response.extensions_mut().remove::<QuayError>() {
        Some(error) => error.render(public_url.trim_end_matches('/')),
        None => response,
    }
}

impl QuayError {
    pub(crate) fn render(self, base: &str) -> Response {
        let body = QuayErrorBody {
            status: self.status.as_u16(),
            error_message: self.message.clone(),
            title: self.error_type.to_owned(),
            error_type: self.error_type.to_owned(),
            detail: self.message,
            type_url: format!("{base}/api/v1/error/{}", self.error_type),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<DomainError> for QuayError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidName(m)
            | DomainError::InvalidArgument(m)
            | DomainError::AlreadyExists(m) => QuayError::invalid_request(m),
            DomainError::NotFound(m) => QuayError::not_found(m),
            DomainError::Forbidden(m) => {
                QuayError::new(StatusCode::FORBIDDEN, "insufficient_scope", m)
            }
            DomainError::Conflict(m) => QuayError::new(StatusCode::CONFLICT, "conflict", m),
            DomainError::Unavailable(m) => {
                QuayError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m)
            }
        }
    }
}

impl From<CommandError> for QuayError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            CommandError::Contention(_) => {
                QuayError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            CommandError::KeyReused => QuayError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                e.to_string(),
            ),
            CommandError::Store(s) => QuayError::internal(s),
        }
    }
}

impl From<DbError> for QuayError {
    fn from(e: DbError) -> Self {
        QuayError::internal(e)
    }
}

impl From<KeyRefusal> for QuayError {
    fn from(e: KeyRefusal) -> Self {
        let status = match e {
            KeyRefusal::Invalid | KeyRefusal::BodyUnreadable => StatusCode::BAD_REQUEST,
            KeyRefusal::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            KeyRefusal::InFlight => StatusCode::CONFLICT,
        };
        QuayError::new(status, "invalid_request", e.message())
    }
}

impl From<AuthFailure> for QuayError {
    fn from(e: AuthFailure) -> Self {
        match e {
            AuthFailure::Missing => QuayError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Requires authentication: send Authorization: Bearer <token>",
            ),
            AuthFailure::Invalid => QuayError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The bearer token is invalid",
            ),
            AuthFailure::Unavailable(m) => QuayError::internal(m),
        }
    }
}
