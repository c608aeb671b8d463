//! Usage logs and their per-day aggregates for a repository, an organization and the caller.

use annals_projections::queries::logs::{self, LogQuery, LogScope};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::QuayError;
use super::extract::{Ctx, QuayQuery};
use super::log_entry;
use super::log_range::{LogRange, format_datetime};
use super::organizations;
use super::repositories::{self, RepoPath};
use crate::state::AppState;

/// Entries per page, as Quay.
const PAGE: usize = 20;

#[derive(Debug, Deserialize)]
pub struct LogParams {
    #[serde(alias = "start_time")]
    starttime: Option<String>,
    #[serde(alias = "end_time")]
    endtime: Option<String>,
    performer: Option<String>,
    next_page: Option<String>,
}

/// The `next_page` token: the time window and the position to continue below, so a page
/// token stays valid however long the client waits.
fn encode_token(range: &LogRange, before: u64) -> String {
    let body = json!([
        range.start.timestamp_micros(),
        range.end.timestamp_micros(),
        before
    ]);
    URL_SAFE_NO_PAD.encode(body.to_string())
}

fn decode_token(token: &str) -> Result<(LogRange, u64), QuayError> {
    let invalid = || QuayError::invalid_request("Invalid next_page token");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let (start, end, before): (i64, i64, u64) =
        serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let start = DateTime::<Utc>::from_timestamp_micros(start).ok_or_else(invalid)?;
    let end = DateTime::<Utc>::from_timestamp_micros(end).ok_or_else(invalid)?;
    Ok((LogRange { start, end }, before))
}

fn log_query(scope: LogScope, range: &LogRange, performer: Option<String>) -> LogQuery {
    LogQuery {
        scope,
        start_micros: range.start.timestamp_micros(),
        end_micros: range.end.timestamp_micros(),
        performer: performer.filter(|p| !p.is_empty()),
    }
}

async fn list(
    state: &AppState,
    scope: LogScope,
    params: LogParams,
    with_namespace: bool,
) -> Result<Json<Value>, QuayError> {
    let (range, before) = match params.next_page.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => decode_token(token).map(|(r, b)| (r, Some(b)))?,
        None => (
            LogRange::parse(
                params.starttime.as_deref(),
                params.endtime.as_deref(),
                Utc::now(),
            )?,
            None,
        ),
    };
    let query = log_query(scope, &range, params.performer);
    let page = logs::page(
        state.db().as_ref(),
        state.store.as_ref(),
        &query,
        before,
        PAGE,
    )
    .await?;
    let entries: Vec<Value> = page
        .entries
        .iter()
        .map(|e| log_entry::render(e, with_namespace))
        .collect();
    let mut body = json!({
        "start_time": format_datetime(range.start),
        "end_time": format_datetime(range.end),
        "logs": entries,
    });
    if let Some(before) = page.next_before {
        body["next_page"] = json!(encode_token(&range, before));
    }
    Ok(Json(body))
}

async fn aggregate(
    state: &AppState,
    scope: LogScope,
    params: LogParams,
) -> Result<Json<Value>, QuayError> {
    let range = LogRange::parse(
        params.starttime.as_deref(),
        params.endtime.as_deref(),
        Utc::now(),
    )?;
    let query = log_query(scope, &range, params.performer);
    let counts = logs::aggregate(state.db().as_ref(), &query).await?;
    let aggregated: Vec<Value> = counts
        .iter()
        .map(|c| {
            let day = DateTime::<Utc>::from_timestamp(c.day * 86_400, 0).unwrap_or_default();
            json!({"kind": c.kind, "count": c.count, "datetime": format_datetime(day)})
        })
        .collect();
    Ok(Json(json!({ "aggregated": aggregated })))
}

const LOG_PARAMS_DOC: &str =
    "starttime/endtime: %m/%d/%Y in UTC (end inclusive); performer; next_page";

/// List the logs for the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/logs", tag = "logs", description = LOG_PARAMS_DOC,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`")))]
pub async fn repository_logs(
    State(state): State<AppState>,
    _ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<Value>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    list(&state, LogScope::Repository(repo.id), params, false).await
}

/// Returns the aggregated logs for the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/aggregatelogs", tag = "logs",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query), ("performer" = Option<String>, Query)),
    responses((status = 200, description = "`{aggregated: [{kind, count, datetime}]}`")))]
pub async fn repository_aggregate(
    State(state): State<AppState>,
    _ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<Value>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    aggregate(&state, LogScope::Repository(repo.id), params).await
}

/// List the logs for the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/logs", tag = "logs",
    params(("orgname" = String, Path), ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`")))]
pub async fn organization_logs(
    State(state): State<AppState>,
    _ctx: Ctx,
    Path(orgname): Path<String>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<Value>, QuayError> {
    let org = organizations::find(&state, &orgname).await?;
    list(&state, LogScope::Namespace(org.id), params, false).await
}

/// Gets the aggregated logs for the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/aggregatelogs", tag = "logs",
    params(("orgname" = String, Path), ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query)),
    responses((status = 200, description = "`{aggregated: [{kind, count, datetime}]}`")))]
pub async fn organization_aggregate(
    State(state): State<AppState>,
    _ctx: Ctx,
    Path(orgname): Path<String>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<Value>, QuayError> {
    let org = organizations::find(&state, &orgname).await?;
    aggregate(&state, LogScope::Namespace(org.id), params).await
}

/// List the logs for the current user: what they did, and what happened in their namespace.
#[utoipa::path(get, path = "/api/v1/user/logs", tag = "logs",
    params(("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`")))]
pub async fn user_logs(
    State(state): State<AppState>,
    ctx: Ctx,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<Value>, QuayError> {
    list(&state, LogScope::User(ctx.caller.user_id), params, true).await
}

/// Returns the aggregated logs for the current user.
#[utoipa::path(get, path = "/api/v1/user/aggregatelogs", tag = "logs",
    params(("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query), ("performer" = Option<String>, Query)),
    responses((status = 200, description = "`{aggregated: [{kind, count, datetime}]}`")))]
pub async fn user_aggregate(
    State(state): State<AppState>,
    ctx: Ctx,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<Value>, QuayError> {
    aggregate(&state, LogScope::User(ctx.caller.user_id), params).await
}
