//! `POST .../exportlogs` for a repository, an organization and the caller: validates the
//! window and where to report, records `log_export.requested.v1`, wakes the export worker
//! (`workers/src/log_export.rs`) and answers the export's id.

use annals_commands::Envelope;
use annals_domain::Email;
use annals_domain::log_export::{ExportRequest, ExportScope, LogExportCommand};
use annals_domain::{NamespaceKind, NamespaceName};
use annals_projections::queries::namespaces::{self, NamespaceView};
use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson, QuayQuery};
use super::guard::{Account, InOrg, OrgAdmin};
use super::log_range::LogRange;
use super::repositories::{self, RepoPath};
use crate::state::AppState;

/// Configuration for an export logs operation: at least one of the two.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ExportLogsBody {
    /// The callback URL (`http://` or `https://`) to invoke with a link to the exported logs.
    #[schema(max_length = 2048)]
    pub callback_url: Option<String>,
    /// The e-mail address at which to e-mail a link to the exported logs.
    pub callback_email: Option<String>,
}

/// `{"export_id": uuid}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportStarted {
    pub export_id: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    #[serde(alias = "start_time")]
    starttime: Option<String>,
    #[serde(alias = "end_time")]
    endtime: Option<String>,
}

/// Where the log to export lives.
struct Target {
    scope: ExportScope,
    namespace: NamespaceView,
    repository: Option<(Uuid, String)>,
    user_id: Option<Uuid>,
}

fn nonempty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

async fn request(
    state: &AppState,
    envelope: &Envelope,
    target: Target,
    params: ExportParams,
    body: ExportLogsBody,
) -> Result<Json<ExportStarted>, QuayError> {
    let range = LogRange::parse(
        params.starttime.as_deref(),
        params.endtime.as_deref(),
        Utc::now(),
    )?;
    let callback_url = nonempty(body.callback_url);
    let callback_email = nonempty(body.callback_email)
        .map(|e| Email::parse(&e))
        .transpose()
        .map_err(|_| QuayError::invalid_request("Invalid callback e-mail"))?;
    let namespace = NamespaceName::parse(&target.namespace.name)
        .map_err(|e| QuayError::internal(format!("stored namespace name: {e}")))?;
    let namespace_kind = if target.namespace.is_organization() {
        NamespaceKind::Organization
    } else {
        NamespaceKind::User
    };
    // Derived from the command id: a retry with the same Idempotency-Key names the same export.
    let export_id = envelope.derived_id("log-export");
    let (repository_id, repository) = target.repository.unzip();
    let done = state
        .commands
        .log_export(
            envelope,
            LogExportCommand::Request {
                export_id,
                request: ExportRequest {
                    scope: target.scope,
                    namespace_id: target.namespace.id,
                    namespace,
                    namespace_kind,
                    repository_id,
                    repository,
                    user_id: target.user_id,
                    start: range.start,
                    end: range.end,
                    callback_url,
                    callback_email,
                },
            },
        )
        .await?;
    state.settle(&done).await;
    state.log_export_wake.notify_one();
    Ok(Json(ExportStarted { export_id }))
}

const EXPORT_DOC: &str = "Queues an export of the log's window (starttime/endtime as the log \
    routes take them; the last day by default). The file is served at `exported_data_url` until \
    it expires (ANNALS_LOG_EXPORT_URL_TTL_S), which is POSTed to callback_url as `{export_id, \
    start_time, end_time, namespace, repository, exported_data_url, status}`.";

/// Queues an export of the logs for the specified repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/exportlogs", operation_id = "exportRepoLogs", tag = "logs",
    description = EXPORT_DOC, request_body = ExportLogsBody,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query)),
    responses((status = 200, description = "`{export_id}`", body = ExportStarted),
        (status = 400, description = "No callback, an invalid callback or time window")))]
pub async fn repository(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<ExportParams>,
    QuayJson(body): QuayJson<ExportLogsBody>,
) -> Result<Json<ExportStarted>, QuayError> {
    let located = repositories::located(&state, &path.parse()?).await?;
    let (namespace, repo) =
        located.ok_or_else(|| QuayError::not_found(format!("Repository {} not found", path.0)))?;
    let target = Target {
        scope: ExportScope::Repository,
        namespace,
        repository: Some((repo.id, repo.name)),
        user_id: None,
    };
    request(&state, &ctx.envelope, target, params, body).await
}

/// Exports the logs for the specified organization.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/exportlogs", operation_id = "exportOrgLogs", tag = "logs",
    description = EXPORT_DOC, request_body = ExportLogsBody,
    params(("orgname" = String, Path), ("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query)),
    responses((status = 200, description = "`{export_id}`", body = ExportStarted),
        (status = 400, description = "No callback, an invalid callback or time window")))]
pub async fn organization(
    State(state): State<AppState>,
    InOrg { ctx, org, .. }: InOrg<OrgAdmin>,
    QuayQuery(params): QuayQuery<ExportParams>,
    QuayJson(body): QuayJson<ExportLogsBody>,
) -> Result<Json<ExportStarted>, QuayError> {
    let target = Target {
        scope: ExportScope::Organization,
        namespace: org,
        repository: None,
        user_id: None,
    };
    request(&state, &ctx.envelope, target, params, body).await
}

/// Exports the logs for the current user: what they did, and what happened in their namespace.
#[utoipa::path(post, path = "/api/v1/user/exportlogs", operation_id = "exportUserLogs", tag = "logs",
    description = EXPORT_DOC, request_body = ExportLogsBody,
    params(("starttime" = Option<String>, Query), ("endtime" = Option<String>, Query)),
    responses((status = 200, description = "`{export_id}`", body = ExportStarted),
        (status = 400, description = "No callback, an invalid callback or time window")))]
pub async fn user(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayQuery(params): QuayQuery<ExportParams>,
    QuayJson(body): QuayJson<ExportLogsBody>,
) -> Result<Json<ExportStarted>, QuayError> {
    let namespace = namespaces::by_name(state.db().as_ref(), &ctx.caller.username)
        .await?
        .filter(|n| !n.is_organization())
        .ok_or_else(|| QuayError::not_found("No such user"))?;
    let target = Target {
        scope: ExportScope::User,
        namespace,
        repository: None,
        user_id: Some(ctx.caller.user_id),
    };
    request(&state, &ctx.envelope, target, params, body).await
}
