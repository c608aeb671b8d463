//! The distribution spec's error body, `{"errors": [{"code", "message", "detail"}]}`, with the
//! status each code goes with, and the `WWW-Authenticate` challenge on 401.

use annals_commands::CommandError;
use annals_domain::DomainError;
use annals_domain::content::{BLOB_UNKNOWN, MANIFEST_UNKNOWN};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct OciError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The Bearer challenge for a 401.
    pub challenge: Option<String>,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl OciError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        OciError {
            status,
            code,
            message: message.into(),
            challenge: None,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn unauthorized(challenge: String) -> Self {
        let mut e = OciError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "authentication required",
        );
        e.challenge = Some(challenge);
        e
    }

    pub fn denied(message: impl Into<String>) -> Self {
        OciError::new(StatusCode::FORBIDDEN, "DENIED", message)
    }

    pub fn name_unknown(name: &str) -> Self {
        OciError::new(
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
            format!("repository name not known to registry: {name}"),
        )
    }

    pub fn name_invalid(message: impl Into<String>) -> Self {
        OciError::new(StatusCode::BAD_REQUEST, "NAME_INVALID", message)
    }

    pub fn blob_unknown(digest: impl std::fmt::Display) -> Self {
        OciError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            format!("blob unknown to registry: {digest}"),
        )
    }

    pub fn manifest_unknown(reference: impl std::fmt::Display) -> Self {
        OciError::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!("manifest unknown: {reference}"),
        )
    }

    pub fn upload_unknown() -> Self {
        OciError::new(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown to registry",
        )
    }

    pub fn digest_invalid(message: impl Into<String>) -> Self {
        OciError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }

    pub fn manifest_invalid(message: impl Into<String>) -> Self {
        OciError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        OciError::new(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("registry request failed: {message}");
        OciError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "internal error; see the server log",
        )
    }
}

impl From<CommandError> for OciError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            // The registry listener takes no idempotency keys.
            CommandError::KeyReused => {
                OciError::new(StatusCode::UNPROCESSABLE_ENTITY, "DENIED", e.to_string())
            }
            CommandError::Contention(stream) => OciError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                format!("too many concurrent changes to {stream}; retry"),
            ),
            other => OciError::internal(other),
        }
    }
}

impl From<DomainError> for OciError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(m) if m.starts_with(BLOB_UNKNOWN) => {
                OciError::new(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", m)
            }
            DomainError::NotFound(m) if m.starts_with(MANIFEST_UNKNOWN) => {
                OciError::new(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", m)
            }
            DomainError::NotFound(m) => OciError::new(StatusCode::NOT_FOUND, "NAME_UNKNOWN", m),
            DomainError::InvalidName(m) => OciError::name_invalid(m),
            DomainError::InvalidArgument(m) => {
                OciError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", m)
            }
            DomainError::AlreadyExists(m) => OciError::denied(m),
            DomainError::Forbidden(m) => OciError::denied(m),
            DomainError::Conflict(m) => OciError::new(StatusCode::CONFLICT, "DENIED", m),
            // A mirroring repository refuses for as long as it mirrors: no retry helps.
            DomainError::Unavailable(m) if m.starts_with(annals_domain::mirror::MIRROR_MODE) => {
                OciError::denied(m)
            }
            DomainError::Unavailable(m) => {
                OciError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", m)
                    .with_header(axum::http::header::RETRY_AFTER, "10")
            }
        }
    }
}

impl From<annals_projections::sql::DbError> for OciError {
    fn from(e: annals_projections::sql::DbError) -> Self {
        OciError::internal(e)
    }
}

impl From<std::io::Error> for OciError {
    fn from(e: std::io::Error) -> Self {
        OciError::internal(e)
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body =
            json!({"errors": [{"code": self.code, "message": self.message, "detail": null}]});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        headers.insert(
            "docker-distribution-api-version",
            HeaderValue::from_static("registry/2.0"),
        );
        response
    }
}
