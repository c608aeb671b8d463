//! A superuser's quota routes over any namespace — `/superuser/organization/{namespace}/quota`
//! and `/superuser/users/{namespace}/quota` (Quay serves both over users and organizations
//! alike) — and `/superuser/registrysize/`, the registry's size, recomputed on request.

use annals_domain::quota::QuotaCommand;
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::quotas;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::guard::Super;
use super::quotas::{Quota, QuotaInput, created, quota_view, requested_bytes, run};
use crate::state::AppState;

const MALFORMED: &str = "Invalid limit format";

/// The live user or organization `namespace`, or 404.
async fn namespace(state: &AppState, name: &str) -> Result<NamespaceView, QuayError> {
    namespaces::by_name(state.db().as_ref(), name)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Namespace {name} not found")))
}

async fn list(state: &AppState, name: &str) -> Result<Json<Vec<Quota>>, QuayError> {
    let ns = namespace(state, name).await?;
    let quota = quotas::get(state.db().as_ref(), ns.id).await?;
    Ok(Json(quota.iter().map(quota_view).collect()))
}

async fn create(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    body: &QuotaInput,
) -> Result<StatusCode, QuayError> {
    let limit_bytes = requested_bytes(body, MALFORMED)?
        .ok_or_else(|| QuayError::invalid_request("limit_bytes or limit is required"))?;
    let ns = namespace(state, name).await?;
    if quotas::get(state.db().as_ref(), ns.id).await?.is_some() {
        return Err(QuayError::invalid_request(format!(
            "Quota for '{name}' already exists"
        )));
    }
    run(
        state,
        &ctx.envelope,
        &ns.name,
        QuotaCommand::Create { limit_bytes },
    )
    .await?;
    Ok(StatusCode::CREATED)
}

/// Changes the quota `quota_id` of the namespace `name` (an organization or a user).
async fn change(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    quota_id: &str,
    body: &QuotaInput,
) -> Result<Json<Quota>, QuayError> {
    let bytes = requested_bytes(body, MALFORMED)?;
    let ns = namespace(state, name).await?;
    super::quotas::change(state, &ctx.envelope, &ns, quota_id, bytes).await
}

/// Deletes the quota `quota_id` of the namespace `name`.
async fn delete(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    quota_id: &str,
) -> Result<StatusCode, QuayError> {
    let ns = namespace(state, name).await?;
    super::quotas::delete(state, &ctx.envelope, &ns, quota_id).await
}

/// List an organization's quotas.
#[utoipa::path(get, path = "/api/v1/superuser/organization/{namespace}/quota", operation_id = "listOrganizationQuotaSuperUser", tag = "superuser",
    params(("namespace" = String, Path)),
    responses((status = 200, description = "The quotas", body = [Quota])))]
pub async fn org_list(
    State(state): State<AppState>,
    _: Super,
    Path(name): Path<String>,
) -> Result<Json<Vec<Quota>>, QuayError> {
    list(&state, &name).await
}

/// Create an organization's quota.
#[utoipa::path(post, path = "/api/v1/superuser/organization/{namespace}/quota", operation_id = "createOrganizationQuotaSuperUser", tag = "superuser",
    request_body = QuotaInput, params(("namespace" = String, Path)),
    responses((status = 201, description = "Created", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid size, or a quota exists already")))]
pub async fn org_create(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(name): Path<String>,
    QuayJson(body): QuayJson<QuotaInput>,
) -> Result<impl IntoResponse, QuayError> {
    create(&state, &ctx, &name, &body).await?;
    Ok(created())
}

/// Change an organization's quota.
#[utoipa::path(put, path = "/api/v1/superuser/organization/{namespace}/quota/{quota_id}", operation_id = "changeOrganizationQuotaSuperUser", tag = "superuser",
    request_body = QuotaInput, params(("namespace" = String, Path), ("quota_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota), (status = 400, description = "Invalid size")))]
pub async fn org_change(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((name, quota_id)): Path<(String, String)>,
    QuayJson(body): QuayJson<QuotaInput>,
) -> Result<Json<Quota>, QuayError> {
    change(&state, &ctx, &name, &quota_id, &body).await
}

/// Delete an organization's quota.
#[utoipa::path(delete, path = "/api/v1/superuser/organization/{namespace}/quota/{quota_id}", operation_id = "deleteOrganizationQuotaSuperUser", tag = "superuser",
    params(("namespace" = String, Path), ("quota_id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn org_delete(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((name, quota_id)): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    delete(&state, &ctx, &name, &quota_id).await
}

/// List a user's quotas.
#[utoipa::path(get, path = "/api/v1/superuser/users/{namespace}/quota", operation_id = "listUserQuotaSuperUser", tag = "superuser",
    params(("namespace" = String, Path)),
    responses((status = 200, description = "The quotas", body = [Quota])))]
pub async fn user_list(
    State(state): State<AppState>,
    _: Super,
    Path(name): Path<String>,
) -> Result<Json<Vec<Quota>>, QuayError> {
    list(&state, &name).await
}

/// Create a user's quota.
#[utoipa::path(post, path = "/api/v1/superuser/users/{namespace}/quota", operation_id = "createUserQuotaSuperUser", tag = "superuser",
    request_body = QuotaInput, params(("namespace" = String, Path)),
    responses((status = 201, description = "Created", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid size, or a quota exists already")))]
pub async fn user_create(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(name): Path<String>,
    QuayJson(body): QuayJson<QuotaInput>,
) -> Result<impl IntoResponse, QuayError> {
    create(&state, &ctx, &name, &body).await?;
    Ok(created())
}

/// Change a user's quota.
#[utoipa::path(put, path = "/api/v1/superuser/users/{namespace}/quota/{quota_id}", operation_id = "changeUserQuotaSuperUser", tag = "superuser",
    request_body = QuotaInput, params(("namespace" = String, Path), ("quota_id" = String, Path)),
    responses((status = 200, description = "The quota", body = Quota), (status = 400, description = "Invalid size")))]
pub async fn user_change(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((name, quota_id)): Path<(String, String)>,
    QuayJson(body): QuayJson<QuotaInput>,
) -> Result<Json<Quota>, QuayError> {
    change(&state, &ctx, &name, &quota_id, &body).await
}

/// Delete a user's quota.
#[utoipa::path(delete, path = "/api/v1/superuser/users/{namespace}/quota/{quota_id}", operation_id = "deleteUserQuotaSuperUser", tag = "superuser",
    params(("namespace" = String, Path), ("quota_id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn user_delete(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path((name, quota_id)): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    delete(&state, &ctx, &name, &quota_id).await
}

/// The registry's size as last computed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrySize {
    /// The bytes of the distinct blobs the registry's manifests reference.
    pub size_bytes: u64,
    /// When it was computed (milliseconds since the epoch), if ever.
    pub last_ran: Option<i64>,
    pub queued: bool,
    pub running: bool,
}

/// Returns the size of the registry.
#[utoipa::path(get, path = "/api/v1/superuser/registrysize/", operation_id = "getRegistrySize", tag = "superuser",
    responses((status = 200, description = "The size", body = RegistrySize)))]
pub async fn registry_size(
    State(state): State<AppState>,
    _: Super,
) -> Result<Json<RegistrySize>, QuayError> {
    let (size_bytes, last_ran) = quotas::registry_size(state.db().as_ref())
        .await?
        .unwrap_or((0, None));
    Ok(Json(RegistrySize {
        size_bytes,
        last_ran,
        queued: false,
        running: false,
    }))
}

/// Queues a calculation of the registry's size (answered by the time this returns).
#[utoipa::path(post, path = "/api/v1/superuser/registrysize/", operation_id = "queueRegistrySizeCalculation", tag = "superuser",
    responses((status = 201, description = "Queued", body = String, content_type = "application/json", example = json!(""))))]
pub async fn queue_registry_size(
    State(state): State<AppState>,
    Super(ctx): Super,
) -> Result<impl IntoResponse, QuayError> {
    let done = state.commands.queue_registry_size(&ctx.envelope).await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("")))
}
