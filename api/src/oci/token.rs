//! The Docker token endpoint (`GET /token`): a client sent here by a `WWW-Authenticate`
//! challenge trades its basic credentials for a short-lived bearer token. Without credentials it
//! gets an anonymous token, good for pulling public repositories only.

use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::auth;
use super::error::OciError;
use crate::state::AppState;

/// The token endpoint's answer, as Docker's token specification gives it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token: String,
    /// The same token, for OAuth2 clients.
    pub access_token: String,
    /// Seconds the token is valid: never past the credential it was made from.
    pub expires_in: i64,
    pub issued_at: String,
}

pub async fn token(state: &AppState, parts: &Parts) -> Result<Response, OciError> {
    let who = auth::identify(state, parts, None).await?;
    let (token, expires_in) = auth::issue_token(state, who.as_ref());
    Ok(axum::Json(TokenResponse {
        access_token: token.clone(),
        token,
        expires_in,
        issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
    .into_response())
}
