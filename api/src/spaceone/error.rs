//! SpaceONE's error model. Over REST it is FastAPI's `{"detail": {"code", "message"}}` with
//! the HTTP status of the error's gRPC code; over gRPC it is that status code with the details
//! `"<code>: <message>"`, as SpaceONE's own clients split them.

use annals_commands::CommandError;
use annals_domain::DomainError;
use annals_domain::access::Denial;
use annals_projections::sql::DbError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::access::guard::Refused;
use crate::context::AuthFailure;
use crate::idempotency::KeyRefusal;

/// A refusal, as SpaceONE names it: its error class (`ERROR_NOT_FOUND`, ...), its gRPC code
/// and its message.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceError {
    pub code: &'static str,
    pub grpc: tonic::Code,
    pub message: String,
}

impl SpaceError {
    pub fn new(code: &'static str, grpc: tonic::Code, message: impl Into<String>) -> Self {
        SpaceError {
            code,
            grpc,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            "ERROR_INVALID_ARGUMENT",
            tonic::Code::InvalidArgument,
            message,
        )
    }

    pub fn required(key: &str) -> Self {
        Self::new(
            "ERROR_REQUIRED_PARAMETER",
            tonic::Code::InvalidArgument,
            format!("Required parameter. (key = {key})"),
        )
    }

    pub fn not_found(key: &str, value: &str) -> Self {
        let value: String = value.chars().take(128).collect();
        Self::new(
            "ERROR_NOT_FOUND",
            tonic::Code::NotFound,
            format!("Resource cannot be found or access is denied. ({key} = {value})"),
        )
    }

    pub fn unauthenticated(why: &str) -> Self {
        Self::new(
            "ERROR_AUTHENTICATE_FAILURE",
            tonic::Code::Unauthenticated,
            format!("Authenticate failure. (message = {why})"),
        )
    }

    pub fn denied() -> Self {
        Self::new(
            "ERROR_PERMISSION_DENIED",
            tonic::Code::PermissionDenied,
            "Permission denied.",
        )
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {message}");
        Self::new(
            "ERROR_UNKNOWN",
            tonic::Code::Internal,
            "The server could not answer the request.",
        )
    }

    /// The HTTP status SpaceONE's REST layer answers for the gRPC code.
    pub fn status(&self) -> StatusCode {
        use tonic::Code::*;
        match self.grpc {
            InvalidArgument | FailedPrecondition | OutOfRange => StatusCode::BAD_REQUEST,
            NotFound => StatusCode::NOT_FOUND,
            AlreadyExists | Aborted => StatusCode::CONFLICT,
            PermissionDenied => StatusCode::FORBIDDEN,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `detail` of a SpaceONE REST error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SpaceErrorDetail {
    /// The error class: `ERROR_NOT_FOUND`, `ERROR_REQUIRED_PARAMETER`, ...
    pub code: String,
    pub message: String,
}

/// SpaceONE's REST error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SpaceErrorBody {
    pub detail: SpaceErrorDetail,
}

impl IntoResponse for SpaceError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = SpaceErrorBody {
            detail: SpaceErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (status, Json(body)).into_response()
    }
}

impl From<SpaceError> for tonic::Status {
    fn from(e: SpaceError) -> Self {
        tonic::Status::new(e.grpc, format!("{}: {}", e.code, e.message))
    }
}

impl From<DomainError> for SpaceError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidName(m) | DomainError::InvalidArgument(m) => SpaceError::invalid(m),
            DomainError::AlreadyExists(m) => {
                SpaceError::new("ERROR_NOT_UNIQUE", tonic::Code::AlreadyExists, m)
            }
            DomainError::NotFound(m) => {
                SpaceError::new("ERROR_NOT_FOUND", tonic::Code::NotFound, m)
            }
            DomainError::Forbidden(m) => {
                SpaceError::new("ERROR_PERMISSION_DENIED", tonic::Code::PermissionDenied, m)
            }
            DomainError::Conflict(m) => SpaceError::new("ERROR_CONFLICT", tonic::Code::Aborted, m),
            DomainError::Unavailable(m) => {
                SpaceError::new("ERROR_UNAVAILABLE", tonic::Code::Unavailable, m)
            }
        }
    }
}

impl From<CommandError> for SpaceError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            CommandError::Contention(_) => {
                SpaceError::new("ERROR_CONFLICT", tonic::Code::Aborted, e.to_string())
            }
            CommandError::KeyReused => SpaceError::invalid(e.to_string()),
            CommandError::Store(s) => SpaceError::internal(s),
        }
    }
}

impl From<DbError> for SpaceError {
    fn from(e: DbError) -> Self {
        SpaceError::internal(e)
    }
}

impl From<AuthFailure> for SpaceError {
    fn from(e: AuthFailure) -> Self {
        match e {
            AuthFailure::Missing => SpaceError::unauthenticated("token is required"),
            AuthFailure::Invalid => SpaceError::unauthenticated("token is invalid"),
            AuthFailure::Unavailable(m) => SpaceError::internal(m),
        }
    }
}

impl From<Denial> for SpaceError {
    fn from(denial: Denial) -> Self {
        match denial {
            Denial::Unauthenticated => SpaceError::unauthenticated("token is required"),
            Denial::InsufficientScope(_) | Denial::Forbidden => SpaceError::denied(),
        }
    }
}

impl From<Refused> for SpaceError {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Denied(d) => d.into(),
            Refused::Db(e) => e.into(),
        }
    }
}

impl From<KeyRefusal> for SpaceError {
    fn from(e: KeyRefusal) -> Self {
        match e {
            KeyRefusal::InFlight => {
                SpaceError::new("ERROR_CONFLICT", tonic::Code::Aborted, e.message())
            }
            _ => SpaceError::invalid(e.message()),
        }
    }
}
