//! Garbage collections of a registry: start one, read the active one and the history, cancel.
//! The work itself is the collection worker's (workers/src/gc.rs); these handlers record the
//! request and wake it.

use annals_domain::gc::GcType;
use annals_domain::registry::RegistryCommand;
use annals_projections::queries::registries::{self, GcRunView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::DoError;
use super::extract::{
    Ctx, DoJson, DoPath, DoQuery, PageQuery, encode, named_registry, page_envelope, rfc3339,
};
use crate::state::AppState;

pub fn gc_json(gc: &GcRunView) -> Value {
    json!({
        "uuid": gc.id,
        "registry_name": gc.registry_name,
        "status": gc.status,
        "type": gc.gc_type,
        "created_at": rfc3339(gc.created_at),
        "updated_at": rfc3339(gc.updated_at),
        "blobs_deleted": gc.blobs_deleted,
        "freed_bytes": gc.freed_bytes,
    })
}

#[derive(Debug, Deserialize)]
pub struct StartBody {
    #[serde(rename = "type")]
    gc_type: Option<String>,
}

/// `POST /v2/registry/{registry_name}/garbage-collection` (default type: unreferenced blobs only).
pub async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoJson(body): DoJson<StartBody>,
) -> Result<(StatusCode, Json<Value>), DoError> {
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
    Ok((
        StatusCode::CREATED,
        Json(json!({"garbage_collection": gc_json(&gc)})),
    ))
}

/// `GET /v2/registry/{registry_name}/garbage-collection`: the active collection.
pub async fn active(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
) -> Result<Json<Value>, DoError> {
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let gc = registries::active_gc(state.db().as_ref(), &registry.name)
        .await?
        .ok_or_else(|| DoError::not_found("no active garbage collection"))?;
    Ok(Json(json!({"garbage_collection": gc_json(&gc)})))
}

/// `GET /v2/registry/{registry_name}/garbage-collections`: every collection, newest first.
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<Value>, DoError> {
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
    Ok(Json(json!({
        "garbage_collections": page.iter().map(gc_json).collect::<Vec<_>>(),
        "meta": meta,
        "links": links,
    })))
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    cancel: Option<bool>,
}

/// `PUT /v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}`:
/// `{"cancel": true}` asks the worker to stop after its current batch.
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, gc_id)): DoPath<(String, String)>,
    DoJson(body): DoJson<UpdateBody>,
) -> Result<Json<Value>, DoError> {
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
    Ok(Json(json!({"garbage_collection": gc_json(&gc)})))
}
