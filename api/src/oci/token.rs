//! The Docker token endpoint (`GET /token`): a client sent here by a `WWW-Authenticate`
//! challenge trades its basic credentials for a short-lived bearer token. Without credentials it
//! gets an anonymous token, good for pulling public repositories only.

use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::error::OciError;
use super::{auth, repo};
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

/// Scopes a token request may ask for, at most.
const MAX_SCOPES: usize = 16;

pub async fn token(state: &AppState, parts: &Parts) -> Result<Response, OciError> {
    let who = auth::identify(state, parts, None).await?;
    let mut access = Vec::new();
    for (name, actions) in asked(parts) {
        let granted =
            repo::granted_actions(state, who.as_ref().map(|w| &w.caller), &name, &actions).await?;
        access.push(auth::Grant {
            kind: "repository".into(),
            name,
            actions: granted,
        });
    }
    let (token, expires_in) = auth::issue_token(state, who.as_ref(), access);
    Ok(axum::Json(TokenResponse {
        access_token: token.clone(),
        token,
        expires_in,
        issued_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
    .into_response())
}

/// The repository scopes of the request (`scope=repository:<name>:<actions>`, repeated or
/// space-separated): each name with the actions asked for. Other resource types are ignored.
fn asked(parts: &Parts) -> Vec<(String, Vec<String>)> {
    let query = parts.uri.query().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|scope| {
            let rest = scope.strip_prefix("repository:")?;
            let (name, actions) = rest.rsplit_once(':')?;
            (name.len() <= 512).then(|| {
                (
                    name.to_owned(),
                    actions.split(',').map(str::to_owned).collect(),
                )
            })
        })
        .take(MAX_SCOPES)
        .collect()
}
