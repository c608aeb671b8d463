//! Garbage collections of a registry: start one, read the active one and the history, cancel.
//! The work itself is the collection worker's (workers/src/gc.rs); these handlers record the
//! request and wake it.

use annals_domain::gc::GcType;
use annals_domain::registry::RegistryCommand;
use annals_projections::queries::registries::{self, GcRunView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::DoError;
use super::extract::{
    Ctx, DoJson, DoPath, DoQuery, Links, Meta, PageQuery, encode, named_registry, page_envelope,
    rfc3339,
};
use crate::state::AppState;

/// A garbage collection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GarbageCollection {
    pub uuid: Uuid,
    pub registry_name: String,
    /// `requested`, `waiting for write JWTs to expire`, `scanning manifests`, `deleting
    /// unreferenced blobs`, `cancelling`, `failed`, `succeeded`, `cancelled`.
    pub status: String,
    /// `untagged manifests only`, `unreferenced blobs only`, `untagged manifests and
    /// unreferenced blobs`.
    #[serde(rename = "type")]
    pub gc_type: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    pub blobs_deleted: u64,
    pub freed_bytes: u64,
}

/// `{garbage_collection}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GarbageCollectionBody {
    pub garbage_collection: GarbageCollection,
}

/// `{garbage_collections, meta, links}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GarbageCollectionList {
    pub garbage_collections: Vec<GarbageCollection>,
    pub meta: Meta,
    pub links: Links,
}

pub fn gc_json(gc: &GcRunView) -> GarbageCollection {
    GarbageCollection {
        uuid: gc.id,
        registry_name: gc.registry_name.clone(),
        status: gc.status.clone(),
        gc_type: gc.gc_type.clone(),
        created_at: rfc3339(gc.created_at),
        updated_at: rfc3339(gc.updated_at),
        blobs_deleted: gc.blobs_deleted,
        freed_bytes: gc.freed_bytes,
    }
}

fn body(gc: &GcRunView) -> Json<GarbageCollectionBody> {
    Json(GarbageCollectionBody {
        garbage_collection: gc_json(gc),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GarbageCollectionStart {
    /// The type of garbage collection (default `unreferenced blobs only`).
    #[serde(rename = "type")]
    gc_type: Option<String>,
}

/// Start garbage collection (default type: unreferenced blobs only).
#[utoipa::path(post, path = "/v2/registry/{registry_name}/garbage-collection", operation_id = "registry_run_garbage_collection", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry")),
    request_body(content = GarbageCollectionStart, description = "Optional; `{}` or no body starts the default type"),
    responses((status = 201, body = GarbageCollectionBody, description = "The garbage collection started")))]
pub async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoJson(body): DoJson<GarbageCollectionStart>,
) -> Result<(StatusCode, Json<GarbageCollectionBody>), DoError> {
    named_registry(&state, &ctx.caller, &registry_name).await?;
    let gc_type = body
        .gc_type
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| GcType::UnreferencedBlobsOnly.as_str().to_owned());
    let (gc_id, done) = state
        .commands
        .start_gc(&ctx.envelope, ctx.caller.user_id, &gc_type)
        .await?;
    state.settle(&done).await;
    state.gc_wake.notify_one();
    let gc = registries::gc_run(state.db().as_ref(), gc_id)
        .await?
        .ok_or_else(|| DoError::internal(format!("garbage collection {gc_id} not projected")))?;
    Ok((StatusCode::CREATED, self::body(&gc)))
}

/// Get the active garbage collection.
#[utoipa::path(get, path = "/v2/registry/{registry_name}/garbage-collection", operation_id = "registry_get_garbage_collection", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry")),
    responses((status = 200, body = GarbageCollectionBody, description = "The active garbage collection")))]
pub async fn active(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
) -> Result<Json<GarbageCollectionBody>, DoError> {
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let gc = registries::active_gc(state.db().as_ref(), &registry.name)
        .await?
        .ok_or_else(|| DoError::not_found("no active garbage collection"))?;
    Ok(body(&gc))
}

/// List garbage collections: every collection, newest first.
#[utoipa::path(get, path = "/v2/registry/{registry_name}/garbage-collections", operation_id = "registry_list_garbage_collections", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"), PageQuery),
    responses((status = 200, body = GarbageCollectionList, description = "A page of garbage collections")))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<GarbageCollectionList>, DoError> {
    let q = q.checked()?;
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let (page, total) = registries::gc_runs(
        state.db().as_ref(),
        &registry.name,
        q.offset(),
        q.per_page(),
    )
    .await?;
    let path = format!(
        "/v2/registry/{}/garbage-collections",
        encode(&registry.name)
    );
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(GarbageCollectionList {
        garbage_collections: page.iter().map(gc_json).collect(),
        meta,
        links,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GarbageCollectionUpdate {
    /// `true` cancels the collection.
    cancel: Option<bool>,
}

/// Update a garbage collection: `{"cancel": true}` asks the worker to stop after its current
/// batch.
#[utoipa::path(put, path = "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}", operation_id = "registry_update_garbage_collection", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"),
        ("garbage_collection_uuid" = String, Path, description = "The UUID of a garbage collection run")),
    request_body = GarbageCollectionUpdate,
    responses((status = 200, body = GarbageCollectionBody, description = "The garbage collection")))]
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, gc_id)): DoPath<(String, String)>,
    DoJson(body): DoJson<GarbageCollectionUpdate>,
) -> Result<Json<GarbageCollectionBody>, DoError> {
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let not_found = || DoError::not_found(format!("garbage collection {gc_id:?} not found"));
    let id = Uuid::parse_str(&gc_id).map_err(|_| not_found())?;
    let gc = registries::gc_run(state.db().as_ref(), id)
        .await?
        .filter(|gc| gc.registry_id == registry.id)
        .ok_or_else(not_found)?;
    if body.cancel == Some(true) {
        let done = state
            .commands
            .change_registry(
                &ctx.envelope,
                ctx.caller.user_id,
                RegistryCommand::CancelCollection { gc_id: gc.id },
            )
            .await?;
        state.settle(&done).await;
        state.gc_wake.notify_one();
    }
    let gc = registries::gc_run(state.db().as_ref(), id)
        .await?
        .ok_or_else(not_found)?;
    Ok(self::body(&gc))
}
