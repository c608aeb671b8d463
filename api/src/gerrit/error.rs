//! Gerrit's errors: a status code and a short message as `text/plain; charset=UTF-8` (no XSSI
//! prefix, no JSON), as Gerrit's REST servlet answers them. A 401 on `/a/` carries Gerrit's
//! basic challenge.

use annals_commands::CommandError;
use annals_domain::DomainError;
use annals_projections::sql::DbError;
use annals_store::blobs::UploadError;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The realm of Gerrit's `WWW-Authenticate: Basic` challenge.
pub const REALM: &str = "Gerrit Code Review";

#[derive(Debug, Clone, PartialEq)]
pub struct GerritError {
    pub status: StatusCode,
    pub message: String,
}

impl GerritError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        GerritError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// Gerrit's answer for anything it does not find (an unknown or invalid plugin id).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found")
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthorized")
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("plugin jar larger than {limit} bytes"),
        )
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {message}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
}

impl IntoResponse for GerritError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
            format!("{}\n", self.message),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(value) = format!("Basic realm=\"{REALM}\"").parse()
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl From<DomainError> for GerritError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidName(m) | DomainError::InvalidArgument(m) => Self::bad_request(m),
            DomainError::NotFound(_) => Self::not_found(),
            // The only refusal a Gerrit plugin command makes: disabling a mandatory plugin.
            DomainError::Forbidden(m) => Self::new(StatusCode::METHOD_NOT_ALLOWED, m),
            DomainError::AlreadyExists(m) | DomainError::Conflict(m) => {
                Self::new(StatusCode::CONFLICT, m)
            }
            DomainError::Unavailable(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, m),
        }
    }
}

impl From<CommandError> for GerritError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            CommandError::Contention(_) => Self::new(StatusCode::CONFLICT, e.to_string()),
            CommandError::KeyReused => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            CommandError::Store(s) => Self::internal(s),
        }
    }
}

impl From<DbError> for GerritError {
    fn from(e: DbError) -> Self {
        Self::internal(e)
    }
}

impl From<UploadError> for GerritError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge(limit) => Self::too_large(limit),
            UploadError::Body(m) => Self::bad_request(format!("request body broke off: {m}")),
            UploadError::TooMany(m) => Self::new(StatusCode::TOO_MANY_REQUESTS, m),
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_plain_text_and_401_challenges() {
        let r = GerritError::unauthorized().into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"Gerrit Code Review\""
        );
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/plain; charset=UTF-8"
        );
        let e: GerritError = DomainError::Forbidden("Plugin x is mandatory".into()).into();
        assert_eq!(e.status, StatusCode::METHOD_NOT_ALLOWED);
        let e: GerritError = DomainError::NotFound("whatever".into()).into();
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::NOT_FOUND, "Not found")
        );
    }
}
