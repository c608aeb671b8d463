//! Quay's namespace quotas: `/organization/{orgname}/quota...` (members read, superusers
//! change, as in Quay's `namespacequota.py`), the caller's own `/user/quota...` (read) and the
//! quota shapes the organization view reuses. Every change is a quota command; what a push
//! must meet is decided by the command service, not here.

use annals_domain::NamespaceName;
use annals_domain::quota::QuotaCommand;
use annals_projections::queries::content;
use annals_projections::queries::namespaces::NamespaceView;
use annals_projections::queries::quotas::{self, LimitView, QuotaView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::{AccountAdmin, InOrg, Member, Super};
use super::organizations;
use super::quota_size::{self, SizeError};
use crate::state::AppState;

/// A limit of a quota.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaLimit {
    pub id: u64,
    /// `Warning` or `Reject`, in any case (the pattern spells that out without `(?i)`, which
    /// schema-driven clients cannot use).
    #[serde(rename = "type")]
    pub limit_type: String,
    pub limit_percent: u64,
}

/// A namespace's quota, as Quay's `quota_view` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Quota {
    pub id: u64,
    pub limit_bytes: u64,
    /// The size in the largest binary unit it reaches (`10.0 GiB`).
    pub limit: String,
    /// Whether this is the registry's default quota (none is configured here).
    pub default_config: bool,
    pub limits: Vec<QuotaLimit>,
    pub default_config_exists: bool,
}

/// What a namespace stores against its quota (Quay's `quota_report`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaReport {
    /// The bytes of the distinct blobs the namespace's manifests reference.
    pub quota_bytes: u64,
    /// The quota's `limit_bytes`, if one is set.
    pub configured_quota: Option<u64>,
    /// `complete`: usage is kept current as content changes.
    pub running_backfill: String,
    pub backfill_status: String,
}

pub fn limit_view(l: &LimitView) -> QuotaLimit {
    QuotaLimit {
        id: l.limit_id,
        limit_type: l.limit_type.clone(),
        limit_percent: l.threshold_percent,
    }
}

pub fn quota_view(q: &QuotaView) -> Quota {
    Quota {
        id: q.quota_id,
        limit_bytes: q.limit_bytes,
        limit: quota_size::human(q.limit_bytes),
        default_config: false,
        limits: q.limits.iter().map(limit_view).collect(),
        default_config_exists: false,
    }
}

/// The namespace's quotas (none or one) and its usage, for the organization view.
pub async fn report(
    state: &AppState,
    namespace_id: Uuid,
) -> Result<(Vec<Quota>, QuotaReport), QuayError> {
    let db = state.db();
    let quota = quotas::get(db.as_ref(), namespace_id).await?;
    let (usage, _) = content::namespace_referenced(db.as_ref(), namespace_id, &[]).await?;
    Ok((
        quota.iter().map(quota_view).collect(),
        QuotaReport {
            quota_bytes: usage,
            configured_quota: quota.as_ref().map(|q| q.limit_bytes),
            running_backfill: "complete".into(),
            backfill_status: "complete".into(),
        },
    ))
}

/// A new quota: `limit_bytes`, or a `limit` such as `10 GiB`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaInput {
    /// Bytes the namespace may store; 1 to 2^63-1.
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub limit_bytes: Option<serde_json::Number>,
    /// Human-readable size (`10 GiB`, `500M`).
    #[schema(
        pattern = r"^(\d+\s?(B|KiB|MiB|GiB|TiB|PiB|EiB|ZiB|YiB|Ki|Mi|Gi|Ti|Pi|Ei|Zi|Yi|KB|MB|GB|TB|PB|EB|ZB|YB|K|M|G|T|P|E|Z|Y)?)$"
    )]
    pub limit: Option<String>,
}

/// The size a quota body asks for, if any; `malformed` is the route's message for a `limit`
/// it cannot read.
pub fn requested_bytes(body: &QuotaInput, malformed: &str) -> Result<Option<i64>, QuayError> {
    let unsupported = || QuayError::invalid_request("Unsupported quota size limit.");
    if let Some(limit) = &body.limit {
        return match quota_size::parse(limit) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(SizeError::TooLarge) => Err(unsupported()),
            Err(SizeError::Malformed) => Err(QuayError::invalid_request(malformed)),
        };
    }
    match &body.limit_bytes {
        None => Ok(None),
        Some(n) => match (n.as_i64(), n.as_u64()) {
            (Some(v), _) => Ok(Some(v)),
            (None, Some(_)) => Err(unsupported()),
            _ => Err(QuayError::invalid_request(format!(
                "Invalid quota size limit value: '{n}'"
            ))),
        },
    }
}

/// A new limit of a quota.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewLimit {
    /// `Warning` or `Reject`.
    #[serde(rename = "type")]
    #[schema(pattern = "^([Ww][Aa][Rr][Nn][Ii][Nn][Gg]|[Rr][Ee][Jj][Ee][Cc][Tt])$")]
    pub limit_type: String,
    /// Percent of the quota, 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub threshold_percent: i64,
}

/// A change of a limit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LimitChange {
    #[serde(rename = "type")]
    #[schema(pattern = "^([Ww][Aa][Rr][Nn][Ii][Nn][Gg]|[Rr][Ee][Jj][Ee][Cc][Tt])$")]
    pub limit_type: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    pub threshold_percent: Option<i64>,
}

pub fn created() -> impl IntoResponse {
    (StatusCode::CREATED, Json("Created"))
}

/// A path's numeric id; anything else names nothing.
pub fn id(raw: &str, what: &str) -> Result<u64, QuayError> {
    raw.parse()
        .map_err(|_| QuayError::not_found(format!("{what} {raw} not found")))
}

/// The namespace's live quota `quota_id`, or 404.
pub async fn find(
    state: &AppState,
    namespace_id: Uuid,
    quota_id: &str,
) -> Result<QuotaView, QuayError> {
    let wanted = id(quota_id, "Quota")?;
    quotas::get(state.db().as_ref(), namespace_id)
        .await?
        .filter(|q| q.quota_id == wanted)
        .ok_or_else(|| QuayError::not_found(format!("Quota {quota_id} not found")))
}

fn find_limit(quota: &QuotaView, limit_id: &str) -> Result<LimitView, QuayError> {
    let wanted = id(limit_id, "Quota limit")?;
    quota
        .limits
        .iter()
        .find(|l| l.limit_id == wanted)
        .cloned()
        .ok_or_else(|| QuayError::not_found(format!("Quota limit {limit_id} not found")))
}

/// Runs a quota command on `namespace` and waits until it is projected.
pub async fn run(
    state: &AppState,
    envelope: &annals_commands::Envelope,
    namespace: &str,
    command: QuotaCommand,
) -> Result<(), QuayError> {
    let name = NamespaceName::parse(namespace)?;
    let done = state
        .commands
        .quota_command(envelope, &name, command)
        .await?;
    state.settle(&done).await;
    Ok(())
}

/// The organization of a superuser's quota route, or 404.
async fn org(state: &AppState, orgname: &str) -> Result<NamespaceView, QuayError> {
    organizations::find(state, orgname).await
}

type OrgPath = Path<String>;
type QuotaPath = Path<(String, String)>;
type LimitPath = Path<(String, String, String)>;

/// List the organization's quotas (none or one).
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/quota", operation_id = "listOrganizationQuota", tag = "namespacequota",
    params(("orgname" = String, Path)),
    responses((status = 200, description = "The quotas", body = [Quota])))]
pub async fn org_list(
    State(state): State<AppState>,
    guard: InOrg<Member>,
) -> Result<Json<Vec<Quota>>, QuayError> {
    let quota = quotas::get(state.db().as_ref(), guard.org.id).await?;
    Ok(Json(quota.iter().map(quota_view).collect()))
}

/// Create the organization's quota (superusers).
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/quota", operation_id = "createOrganizationQuota", tag = "namespacequota",
    request_body = QuotaInput, params(("orgname" = String, Path)),
    responses((status = 201, description = "Created", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid size, or a quota exists already")))]
pub async fn org_create(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(orgname): OrgPath,
    QuayJson(body): QuayJson<QuotaInput>,
) -> Result<impl IntoResponse, QuayError> {
    let limit_bytes = requested_bytes(
        &body,
        "Invalid limit format, use a number followed by a unit (e.g. 1GiB)",
    )?
    .ok_or_else(|| QuayError::invalid_request("limit_bytes or limit is required"))?;
    let org = org(&state, &orgname).await?;
    if quotas::get(state.db().as_ref(), org.id).await?.is_some() {
        return Err(QuayError::invalid_request(format!(
            "Organization quota for '{orgname}' already exists"
        )));
    }
    run(
        &state,
        &ctx.envelope,
        &org.name,
        QuotaCommand::Create { limit_bytes },
    )
    .await?;
    Ok(created())
}

/// Get the organization's quota.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/quota/{quota_id}", operation_id = "getOrganizationQuota", tag = "namespacequota",
    params(("orgname" = String, Path), ("quota_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota)))]
pub async fn org_get(
    State(state): State<AppState>,
    guard: InOrg<Member>,
    Path((_orgname, quota_id)): QuotaPath,
) -> Result<Json<Quota>, QuayError> {
    Ok(Json(quota_view(
        &find(&state, guard.org.id, &quota_id).await?,
    )))
}

/// Change the organization's quota size (superusers).
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/quota/{quota_id}", operation_id = "changeOrganizationQuota", tag = "namespacequota",
    request_body = QuotaInput, params(("orgname" = String, Path), ("quota_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota), (status = 400, description = "Invalid size")))]
pub async fn org_change(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((orgname, quota_id)): QuotaPath,
    QuayJson(body): QuayJson<QuotaInput>,
) -> Result<Json<Quota>, QuayError> {
    let limit_bytes = requested_bytes(
        &body,
        "Invalid limit format, use a number followed by a unit (e.g. 1GiB)",
    )?;
    let org = org(&state, &orgname).await?;
    change(&state, &ctx.envelope, &org, &quota_id, limit_bytes).await
}

/// Applies a size change (none: Quay's PUT without a size changes nothing) and answers the
/// quota.
pub async fn change(
    state: &AppState,
    envelope: &annals_commands::Envelope,
    ns: &NamespaceView,
    quota_id: &str,
    limit_bytes: Option<i64>,
) -> Result<Json<Quota>, QuayError> {
    let quota = find(state, ns.id, quota_id).await?;
    let command = QuotaCommand::Change {
        quota_id: quota.quota_id,
        limit_bytes: limit_bytes.filter(|b| *b != 0),
    };
    run(state, envelope, &ns.name, command).await?;
    Ok(Json(quota_view(&find(state, ns.id, quota_id).await?)))
}

/// Delete the organization's quota with its limits (superusers).
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/quota/{quota_id}", operation_id = "deleteOrganizationQuota", tag = "namespacequota",
    params(("orgname" = String, Path), ("quota_id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn org_delete(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((orgname, quota_id)): QuotaPath,
) -> Result<StatusCode, QuayError> {
    let org = org(&state, &orgname).await?;
    delete(&state, &ctx.envelope, &org, &quota_id).await
}

pub async fn delete(
    state: &AppState,
    envelope: &annals_commands::Envelope,
    ns: &NamespaceView,
    quota_id: &str,
) -> Result<StatusCode, QuayError> {
    let quota = find(state, ns.id, quota_id).await?;
    let command = QuotaCommand::Delete {
        quota_id: quota.quota_id,
    };
    run(state, envelope, &ns.name, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List the limits of the organization's quota.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/quota/{quota_id}/limit", operation_id = "listOrganizationQuotaLimit", tag = "namespacequota",
    params(("orgname" = String, Path), ("quota_id" = String, Path)),
    responses((status = 200, description = "The limits", body = [QuotaLimit])))]
pub async fn org_limits(
    State(state): State<AppState>,
    guard: InOrg<Member>,
    Path((_orgname, quota_id)): QuotaPath,
) -> Result<Json<Vec<QuotaLimit>>, QuayError> {
    let quota = find(&state, guard.org.id, &quota_id).await?;
    Ok(Json(quota.limits.iter().map(limit_view).collect()))
}

/// Add a `Warning` or `Reject` limit to the organization's quota (superusers).
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/quota/{quota_id}/limit", operation_id = "createOrganizationQuotaLimit", tag = "namespacequota",
    request_body = NewLimit, params(("orgname" = String, Path), ("quota_id" = String, Path)),
    responses((status = 201, description = "Created", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid type or threshold, or the limit exists already")))]
pub async fn org_create_limit(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((orgname, quota_id)): QuotaPath,
    QuayJson(body): QuayJson<NewLimit>,
) -> Result<impl IntoResponse, QuayError> {
    let org = org(&state, &orgname).await?;
    let quota = find(&state, org.id, &quota_id).await?;
    let command = QuotaCommand::CreateLimit {
        quota_id: quota.quota_id,
        limit_type: body.limit_type,
        threshold_percent: body.threshold_percent,
    };
    run(&state, &ctx.envelope, &org.name, command).await?;
    Ok(created())
}

/// Get a limit of the organization's quota.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", operation_id = "getOrganizationQuotaLimit", tag = "namespacequota",
    params(("orgname" = String, Path), ("quota_id" = String, Path), ("limit_id" = String, Path)),
    responses((status = 200, description = "The limit", body = QuotaLimit)))]
pub async fn org_get_limit(
    State(state): State<AppState>,
    guard: InOrg<Member>,
    Path((_orgname, quota_id, limit_id)): LimitPath,
) -> Result<Json<QuotaLimit>, QuayError> {
    let quota = find(&state, guard.org.id, &quota_id).await?;
    Ok(Json(limit_view(&find_limit(&quota, &limit_id)?)))
}

/// Change a limit's type or threshold (superusers); answers the quota, as Quay does.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", operation_id = "changeOrganizationQuotaLimit", tag = "namespacequota",
    request_body = LimitChange, params(("orgname" = String, Path), ("quota_id" = String, Path), ("limit_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota), (status = 400, description = "Invalid type or threshold")))]
pub async fn org_change_limit(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((orgname, quota_id, limit_id)): LimitPath,
    QuayJson(body): QuayJson<LimitChange>,
) -> Result<Json<Quota>, QuayError> {
    let org = org(&state, &orgname).await?;
    let quota = find(&state, org.id, &quota_id).await?;
    let limit = find_limit(&quota, &limit_id)?;
    let command = QuotaCommand::ChangeLimit {
        quota_id: quota.quota_id,
        limit_id: limit.limit_id,
        limit_type: body.limit_type,
        threshold_percent: body.threshold_percent,
    };
    run(&state, &ctx.envelope, &org.name, command).await?;
    Ok(Json(quota_view(&find(&state, org.id, &quota_id).await?)))
}

/// Delete a limit of the organization's quota (superusers).
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}", operation_id = "deleteOrganizationQuotaLimit", tag = "namespacequota",
    params(("orgname" = String, Path), ("quota_id" = String, Path), ("limit_id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn org_delete_limit(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((orgname, quota_id, limit_id)): LimitPath,
) -> Result<StatusCode, QuayError> {
    let org = org(&state, &orgname).await?;
    let quota = find(&state, org.id, &quota_id).await?;
    let limit = find_limit(&quota, &limit_id)?;
    let command = QuotaCommand::DeleteLimit {
        quota_id: quota.quota_id,
        limit_id: limit.limit_id,
    };
    run(&state, &ctx.envelope, &org.name, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own namespace's quota, if any.
async fn own(state: &AppState, user_id: Uuid) -> Result<Option<QuotaView>, QuayError> {
    Ok(quotas::get(state.db().as_ref(), user_id).await?)
}

/// List the caller's quotas (none or one).
#[utoipa::path(get, path = "/api/v1/user/quota", operation_id = "listUserQuota", tag = "namespacequota",
    responses((status = 200, description = "The quotas", body = [Quota])))]
pub async fn user_list(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
) -> Result<Json<Vec<Quota>>, QuayError> {
    let quota = own(&state, ctx.caller.user_id).await?;
    Ok(Json(quota.iter().map(quota_view).collect()))
}

/// Get the caller's quota.
#[utoipa::path(get, path = "/api/v1/user/quota/{quota_id}", operation_id = "getUserQuota", tag = "namespacequota",
    params(("quota_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota)))]
pub async fn user_get(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    Path(quota_id): Path<String>,
) -> Result<Json<Quota>, QuayError> {
    Ok(Json(quota_view(
        &find(&state, ctx.caller.user_id, &quota_id).await?,
    )))
}

/// List the limits of the caller's quota.
#[utoipa::path(get, path = "/api/v1/user/quota/{quota_id}/limit", operation_id = "listUserQuotaLimit", tag = "namespacequota",
    params(("quota_id" = String, Path)),
    responses((status = 200, description = "The limits", body = [QuotaLimit])))]
pub async fn user_limits(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    Path(quota_id): Path<String>,
) -> Result<Json<Vec<QuotaLimit>>, QuayError> {
    let quota = find(&state, ctx.caller.user_id, &quota_id).await?;
    Ok(Json(quota.limits.iter().map(limit_view).collect()))
}

/// Get a limit of the caller's quota; answers the quota, as Quay's `getUserQuotaLimit` does.
#[utoipa::path(get, path = "/api/v1/user/quota/{quota_id}/limit/{limit_id}", operation_id = "getUserQuotaLimit", tag = "namespacequota",
    params(("quota_id" = String, Path), ("limit_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota)))]
pub async fn user_get_limit(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    Path((quota_id, limit_id)): Path<(String, String)>,
) -> Result<Json<Quota>, QuayError> {
    let quota = find(&state, ctx.caller.user_id, &quota_id).await?;
    find_limit(&quota, &limit_id)?;
    Ok(Json(quota_view(&quota)))
}
