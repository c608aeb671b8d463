//! Usage logs and their per-day aggregates for a repository, an organization and the caller.

use annals_projections::queries::logs::{self, LogQuery, LogScope};
use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::QuayError;
use super::extract::QuayQuery;
use super::guard::{Account, InOrg, OrgAdmin, Super};
use super::log_entry::{self, LogEntryBody};
use super::log_range::{LogRange, format_datetime};
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
    // Positions are BIGINTs: a larger one was never handed out (and would overflow below).
    if before > i64::MAX as u64 {
        return Err(invalid());
    }
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

/// A page of usage logs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogPage {
    /// The window's start, `Tue, 18 Jun 2024 18:59:13 -0000` (accepted back as `starttime`).
    pub start_time: String,
    /// The window's end, exclusive (accepted back as `endtime`).
    pub end_time: String,
    pub logs: Vec<LogEntryBody>,
    /// The token of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}

/// The count of one kind of log entry on one day.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AggregatedLog {
    pub kind: String,
    pub count: i64,
    /// The day, `Tue, 18 Jun 2024 00:00:00 -0000`.
    pub datetime: String,
}

/// `{aggregated: [{kind, count, datetime}]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AggregatedLogs {
    pub aggregated: Vec<AggregatedLog>,
}

async fn list(
    state: &AppState,
    scope: LogScope,
    params: LogParams,
    with_namespace: bool,
) -> Result<Json<LogPage>, QuayError> {
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
    Ok(Json(LogPage {
        start_time: format_datetime(range.start),
        end_time: format_datetime(range.end),
        logs: page
            .entries
            .iter()
            .map(|e| log_entry::render(e, with_namespace))
            .collect(),
        next_page: page.next_before.map(|before| encode_token(&range, before)),
    }))
}

async fn aggregate(
    state: &AppState,
    scope: LogScope,
    params: LogParams,
) -> Result<Json<AggregatedLogs>, QuayError> {
    let range = LogRange::parse(
        params.starttime.as_deref(),
        params.endtime.as_deref(),
        Utc::now(),
    )?;
    let query = log_query(scope, &range, params.performer);
    let counts = logs::aggregate(state.db().as_ref(), &query).await?;
    let aggregated = counts
        .iter()
        .map(|c| {
            let day = c
                .day
                .checked_mul(86_400)
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
                .unwrap_or_default();
            AggregatedLog {
                kind: c.kind.clone(),
                count: c.count,
                datetime: format_datetime(day),
            }
        })
        .collect();
    Ok(Json(AggregatedLogs { aggregated }))
}

const LOG_PARAMS_DOC: &str = "starttime/endtime (or start_time/end_time): a day as %m/%d/%Y in \
    UTC (the end day inclusive), or an instant as the log answers show it (`Tue, 18 Jun 2024 \
    18:59:13 -0000`, the end exclusive); performer; next_page";

/// List the logs for the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/logs", operation_id = "listRepoLogs", tag = "logs", description = LOG_PARAMS_DOC,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`", body = LogPage),
        (status = 400, description = "Invalid time window or next_page token")))]
pub async fn repository_logs(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<LogPage>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    list(&state, LogScope::Repository(repo.id), params, false).await
}

/// Returns the aggregated logs for the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/aggregatelogs", operation_id = "getAggregateRepoLogs", tag = "logs",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query), ("performer" = Option<String>, Query)),
    responses((status = 200, description = "`{aggregated: [{kind, count, datetime}]}`", body = AggregatedLogs),
        (status = 400, description = "Invalid time window")))]
pub async fn repository_aggregate(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<AggregatedLogs>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    aggregate(&state, LogScope::Repository(repo.id), params).await
}

/// List the logs for the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/logs", operation_id = "listOrgLogs", tag = "logs", description = LOG_PARAMS_DOC,
    params(("orgname" = String, Path), ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`", body = LogPage),
        (status = 400, description = "Invalid time window or next_page token")))]
pub async fn organization_logs(
    State(state): State<AppState>,
    InOrg { org, .. }: InOrg<OrgAdmin>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<LogPage>, QuayError> {
    list(&state, LogScope::Namespace(org.id), params, false).await
}

/// Gets the aggregated logs for the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/aggregatelogs", operation_id = "getAggregateOrgLogs", tag = "logs",
    params(("orgname" = String, Path), ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query)),
    responses((status = 200, description = "`{aggregated: [{kind, count, datetime}]}`", body = AggregatedLogs),
        (status = 400, description = "Invalid time window")))]
pub async fn organization_aggregate(
    State(state): State<AppState>,
    InOrg { org, .. }: InOrg<OrgAdmin>,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<AggregatedLogs>, QuayError> {
    aggregate(&state, LogScope::Namespace(org.id), params).await
}

/// List the logs for the current user: what they did, and what happened in their namespace.
#[utoipa::path(get, path = "/api/v1/user/logs", operation_id = "listUserLogs", tag = "logs", description = LOG_PARAMS_DOC,
    params(("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`", body = LogPage),
        (status = 400, description = "Invalid time window or next_page token")))]
pub async fn user_logs(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<LogPage>, QuayError> {
    list(&state, LogScope::User(ctx.caller.user_id), params, true).await
}

/// Returns the aggregated logs for the current user.
#[utoipa::path(get, path = "/api/v1/user/aggregatelogs", operation_id = "getAggregateUserLogs", tag = "logs",
    params(("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query), ("performer" = Option<String>, Query)),
    responses((status = 200, description = "`{aggregated: [{kind, count, datetime}]}`", body = AggregatedLogs),
        (status = 400, description = "Invalid time window")))]
pub async fn user_aggregate(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<AggregatedLogs>, QuayError> {
    aggregate(&state, LogScope::User(ctx.caller.user_id), params).await
}

/// List the usage logs for the current system: every entry (superusers only).
#[utoipa::path(get, path = "/api/v1/superuser/logs", operation_id = "listAllLogs", tag = "superuser", description = LOG_PARAMS_DOC,
    params(("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query),
        ("performer" = Option<String>, Query), ("next_page" = Option<String>, Query)),
    responses((status = 200, description = "`{start_time, end_time, logs, next_page?}`", body = LogPage),
        (status = 400, description = "Invalid time window or next_page token")))]
pub async fn superuser_logs(
    State(state): State<AppState>,
    _su: Super,
    QuayQuery(params): QuayQuery<LogParams>,
) -> Result<Json<LogPage>, QuayError> {
    list(&state, LogScope::All, params, true).await
}
