//! `/repository/{repository}/tokens/...`: repository tokens, which Quay has retired. Quay
//! still checks the caller is the repository's administrator and validates the body, then
//! answers 410 Gone with a message; so does Annals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::QuayJson;

/// Quay's answer on every repository-token route.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Retired {
    pub message: String,
}

fn gone(message: &str) -> impl IntoResponse + use<> {
    (
        StatusCode::GONE,
        Json(Retired {
            message: message.to_owned(),
        }),
    )
}

const HANDLING: &str = "Handling of access tokens is no longer supported";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct NewToken {
    /// Friendly name to help identify the token.
    #[serde(rename = "friendlyName")]
    pub friendly_name: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenPermission {
    /// Role to use for the token.
    #[schema(pattern = "^(read|write|admin)$")]
    pub role: String,
}

/// List the tokens for the specified repository (retired: 410).
#[utoipa::path(get, path = "/api/v1/repository/{repository}/tokens/", operation_id = "listRepoTokens", tag = "repotoken",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 410, description = "Retired", body = Retired)))]
pub async fn list() -> impl IntoResponse {
    gone(HANDLING)
}

/// Create a new repository token (retired: 410).
#[utoipa::path(post, path = "/api/v1/repository/{repository}/tokens/", operation_id = "createToken", tag = "repotoken",
    request_body = NewToken,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 410, description = "Retired", body = Retired)))]
pub async fn create(_body: QuayJson<NewToken>) -> impl IntoResponse {
    gone("Creation of access tokens is no longer supported")
}

/// Fetch the specified repository token information (retired: 410).
#[utoipa::path(get, path = "/api/v1/repository/{repository}/tokens/{code}", operation_id = "getTokens", tag = "repotoken",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("code" = String, Path)),
    responses((status = 410, description = "Retired", body = Retired)))]
pub async fn get() -> impl IntoResponse {
    gone(HANDLING)
}

/// Update the permissions for the specified repository token (retired: 410).
#[utoipa::path(put, path = "/api/v1/repository/{repository}/tokens/{code}", operation_id = "changeToken", tag = "repotoken",
    request_body = TokenPermission,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("code" = String, Path)),
    responses((status = 410, description = "Retired", body = Retired)))]
pub async fn change(
    QuayJson(body): QuayJson<TokenPermission>,
) -> Result<impl IntoResponse, QuayError> {
    annals_domain::access::RepoRole::parse(&body.role)?;
    Ok(gone(HANDLING))
}

/// Delete the repository token (retired: 410).
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/tokens/{code}", operation_id = "deleteToken", tag = "repotoken",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("code" = String, Path)),
    responses((status = 410, description = "Retired", body = Retired)))]
pub async fn delete() -> impl IntoResponse {
    gone(HANDLING)
}
