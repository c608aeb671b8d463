//! The Docker token endpoint (`GET /token`): a client sent here by a `WWW-Authenticate`
//! challenge trades its basic credentials for a short-lived bearer token. Without credentials it
//! gets an anonymous token, good for pulling public repositories only.

use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{self, RegistryCaller, TOKEN_TTL_S};
use super::error::OciError;
use crate::context::Caller;
use crate::state::AppState;

pub async fn token(state: &AppState, parts: &Parts) -> Result<Response, OciError> {
    let who = auth::identify(state, &parts.headers, None)
        .await?
        .unwrap_or(RegistryCaller {
            caller: Caller {
                user_id: uuid::Uuid::nil(),
                username: String::new(),
                super_user: false,
            },
            can_write: false,
        });
    let token = auth::issue_token(state, &who);
    Ok(axum::Json(json!({
        "token": token,
        "access_token": token,
        "expires_in": TOKEN_TTL_S,
        "issued_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
    .into_response())
}
