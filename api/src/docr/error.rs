//! DigitalOcean's error model: `{"id": "not_found", "message": "...", "request_id": "..."}`.

use annals_commands::CommandError;
use annals_domain::DomainError;
use annals_domain::access::Denial;
use annals_projections::sql::DbError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::context::AuthFailure;
use crate::idempotency::KeyRefusal;

#[derive(Debug, Clone, PartialEq)]
pub struct DoError {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: String,
}

impl DoError {
    pub fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> Self {
        DoError {
            status,
            id,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            message,
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {message}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Server was unable to give you a response.",
        )
    }
}

/// DigitalOcean's error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DoErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `unprocessable_entity`, ...
    pub id: String,
    pub message: String,
}

impl IntoResponse for DoError {
    fn into_response(self) -> Response {
        let body = DoErrorBody {
            id: self.id.to_owned(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<DomainError> for DoError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidName(m) | DomainError::InvalidArgument(m) => {
                DoError::unprocessable(m)
            }
            DomainError::AlreadyExists(m) => DoError::conflict(m),
            DomainError::NotFound(m) => DoError::not_found(m),
            DomainError::Forbidden(m) => DoError::new(StatusCode::FORBIDDEN, "forbidden", m),
            DomainError::Conflict(m) => DoError::new(StatusCode::CONFLICT, "conflict", m),
            DomainError::Unavailable(m) => {
                DoError::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", m)
            }
        }
    }
}

impl From<CommandError> for DoError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            CommandError::Contention(_) => DoError::conflict(e.to_string()),
            CommandError::KeyReused => DoError::unprocessable(e.to_string()),
            CommandError::Store(s) => DoError::internal(s),
        }
    }
}

impl From<DbError> for DoError {
    fn from(e: DbError) -> Self {
        DoError::internal(e)
    }
}

impl From<KeyRefusal> for DoError {
    fn from(e: KeyRefusal) -> Self {
        match e {
            KeyRefusal::Invalid | KeyRefusal::BodyUnreadable => DoError::bad_request(e.message()),
            KeyRefusal::BodyTooLarge => {
                DoError::new(StatusCode::PAYLOAD_TOO_LARGE, "bad_request", e.message())
            }
            KeyRefusal::InFlight => DoError::conflict(e.message()),
        }
    }
}

impl From<AuthFailure> for DoError {
    fn from(e: AuthFailure) -> Self {
        match e {
            AuthFailure::Missing | AuthFailure::Invalid => DoError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unable to authenticate you",
            ),
            AuthFailure::Unavailable(m) => DoError::internal(m),
        }
    }
}

impl From<Denial> for DoError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Unauthenticated => DoError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unable to authenticate you",
            ),
            Denial::InsufficientScope(_) | Denial::Forbidden => DoError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "You do not have access for the attempted action",
            ),
        }
    }
}
