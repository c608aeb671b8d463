//! `/user/apptoken...`: the caller's app-specific tokens, registry passwords for its account.
//! The token's code is answered once, when it is made; only its SHA-256 is kept.

use annals_domain::user::UserCommand;
use annals_projections::queries::applications::{self, AppTokenView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::{QuayJson, QuayQuery};
use super::guard::Account;
use super::log_range::format_datetime;
use crate::access::resolve::token_digest;
use crate::access::tokens;
use crate::state::AppState;

/// A token "expires soon" within this window (for `?expiring=true`).
const EXPIRING_WITHIN_S: i64 = 7 * 24 * 3600;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppToken {
    pub uuid: Uuid,
    pub title: String,
    pub last_accessed: Option<String>,
    pub created: String,
    pub expiration: Option<String>,
    /// Only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_code: Option<String>,
}

fn time(micros: i64) -> String {
    format_datetime(chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default())
}

fn view(t: &AppTokenView, token_code: Option<String>) -> AppToken {
    AppToken {
        uuid: t.token_id,
        title: t.title.clone(),
        last_accessed: None,
        created: time(t.created_at),
        expiration: t.expires_at.map(time),
        token_code,
    }
}

/// `{token: {...}}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OneAppToken {
    pub token: AppToken,
}

/// `{tokens: [...], only_expiring}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppTokenList {
    pub tokens: Vec<AppToken>,
    pub only_expiring: bool,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    expiring: bool,
}

/// Lists the app specific tokens for the user.
#[utoipa::path(get, path = "/api/v1/user/apptoken", operation_id = "listAppTokens", tag = "user",
    params(("expiring" = Option<bool>, Query, description = "Only the tokens that expire within a week")),
    responses((status = 200, description = "`{tokens, only_expiring}`", body = AppTokenList)))]
pub async fn list(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayQuery(params): QuayQuery<ListParams>,
) -> Result<Json<AppTokenList>, QuayError> {
    let before = params
        .expiring
        .then(|| chrono::Utc::now().timestamp_micros() + EXPIRING_WITHIN_S * 1_000_000);
    let found = applications::app_tokens(state.db().as_ref(), ctx.caller.user_id, before).await?;
    Ok(Json(AppTokenList {
        tokens: found.iter().map(|t| view(t, None)).collect(),
        only_expiring: params.expiring,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewAppToken {
    /// The user-defined title for the token.
    #[schema(max_length = 255)]
    pub title: String,
}

/// Create a new app specific token for the user.
#[utoipa::path(post, path = "/api/v1/user/apptoken", operation_id = "createAppToken", tag = "user",
    request_body = NewAppToken,
    responses((status = 200, description = "`{token: {..., token_code}}`: the code is shown this once", body = OneAppToken)))]
pub async fn create(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayJson(body): QuayJson<NewAppToken>,
) -> Result<Json<OneAppToken>, QuayError> {
    let code = tokens::app_token();
    let token_id = ctx.envelope.derived_id("apptoken");
    let done = state
        .commands
        .change_user(
            &ctx.envelope,
            ctx.caller.user_id,
            UserCommand::CreateAppToken {
                token_id,
                title: body.title,
                token_sha256: token_digest(&code),
                expires_at: None,
            },
        )
        .await?;
    state.settle(&done).await;
    let made = find(&state, ctx.caller.user_id, token_id).await?;
    Ok(Json(OneAppToken {
        token: view(&made, Some(code)),
    }))
}

async fn find(state: &AppState, user_id: Uuid, token_id: Uuid) -> Result<AppTokenView, QuayError> {
    applications::app_token_of(state.db().as_ref(), user_id, token_id)
        .await?
        .ok_or_else(|| QuayError::not_found("No such app token"))
}

fn parse_id(id: &str) -> Result<Uuid, QuayError> {
    Uuid::parse_str(id).map_err(|_| QuayError::not_found("No such app token"))
}

/// Returns a specific app token for the user.
#[utoipa::path(get, path = "/api/v1/user/apptoken/{token_uuid}", operation_id = "getAppToken", tag = "user",
    params(("token_uuid" = String, Path)),
    responses((status = 200, description = "`{token: {...}}`", body = OneAppToken)))]
pub async fn get(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(token_uuid): Path<String>,
) -> Result<Json<OneAppToken>, QuayError> {
    let found = find(&state, ctx.caller.user_id, parse_id(&token_uuid)?).await?;
    Ok(Json(OneAppToken {
        token: view(&found, None),
    }))
}

/// Revokes a specific app token for the user: it stops working at once, on every listener.
#[utoipa::path(delete, path = "/api/v1/user/apptoken/{token_uuid}", operation_id = "revokeAppToken", tag = "user",
    params(("token_uuid" = String, Path)),
    responses((status = 204, description = "Revoked")))]
pub async fn revoke(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(token_uuid): Path<String>,
) -> Result<StatusCode, QuayError> {
    let token_id = find(&state, ctx.caller.user_id, parse_id(&token_uuid)?)
        .await?
        .token_id;
    let done = state
        .commands
        .change_user(
            &ctx.envelope,
            ctx.caller.user_id,
            UserCommand::RevokeAppToken { token_id },
        )
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}
