//! `/api/v1/repository/{repository}/image/...`: Quay's legacy image view. Annals keeps no V1
//! images; each layer of a live manifest is shown as one, identified by its digest's hex, with
//! the layers before it as its ancestors.

use annals_projections::queries::tags::{self, RefRow};
use axum::extract::State;
use axum::{Extension, Json};
use chrono::DateTime;
use serde_json::{Value, json};

use super::error::QuayError;
use super::extract::Ctx;
use super::log_range::format_datetime;
use super::repositories::{RepoPath, find};
use crate::state::AppState;

/// The image a route names.
#[derive(Debug, Clone)]
pub struct ImagePath(pub String);

fn render(layer: &RefRow, index: usize, ancestors: &[&RefRow], created_us: i64) -> Value {
    let chain: String = ancestors
        .iter()
        .rev()
        .map(|a| format!("/{}", a.digest.hex()))
        .collect();
    json!({
        "id": layer.digest.hex(),
        "created": format_datetime(DateTime::from_timestamp_micros(created_us).unwrap_or_default()),
        "comment": "",
        "command": [],
        "size": layer.size,
        "uploading": false,
        "sort_index": index,
        "ancestors": format!("{chain}/"),
    })
}

/// The layers of one manifest as a chain of images.
pub fn render_chain(layers: &[RefRow], created_us: i64) -> Vec<Value> {
    let refs: Vec<&RefRow> = layers.iter().collect();
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| render(l, i, &refs[..i], created_us))
        .collect()
}

async fn all(state: &AppState, path: &RepoPath) -> Result<Vec<Value>, QuayError> {
    let repo = find(state, path).await?;
    let rows = tags::layers(state.db().as_ref(), repo.id).await?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(rows
        .iter()
        .enumerate()
        .filter(|(_, (l, _))| seen.insert(l.digest.clone()))
        .map(|(i, (l, created))| render(l, i, &[], *created))
        .collect())
}

/// List the images of a repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/image/", tag = "image",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{images: [...]}`"), (status = 404, description = "No such repository")))]
pub async fn list(
    State(state): State<AppState>,
    _ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<Value>, QuayError> {
    Ok(Json(json!({"images": all(&state, &path).await?})))
}

/// Get the information available for the specified image.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/image/{imageid}", tag = "image",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("imageid" = String, Path, description = "The image identifier")),
    responses((status = 200, description = "The image"), (status = 404, description = "No such image")))]
pub async fn get(
    State(state): State<AppState>,
    _ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(ImagePath(id)): Extension<ImagePath>,
) -> Result<Json<Value>, QuayError> {
    all(&state, &path)
        .await?
        .into_iter()
        .find(|i| i["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| QuayError::not_found(format!("Image {id} not found")))
}

/// Security scan results: Annals runs no scanner, so Quay's answer for that case.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/image/{imageid}/security", tag = "image",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("imageid" = String, Path, description = "The image identifier")),
    responses((status = 200, description = "`{status: \"unsupported\", data: null}`")))]
pub async fn security(
    State(state): State<AppState>,
    _ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<Value>, QuayError> {
    find(&state, &path).await?;
    Ok(Json(json!({"status": "unsupported", "data": null})))
}
