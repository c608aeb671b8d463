//! `/api/v1/repository/{repository}/image/...`: Quay's legacy image view. Annals keeps no V1
//! images; each layer of a live manifest is shown as one, identified by its digest's hex, with
//! the layers before it as its ancestors.

use annals_projections::queries::tags::{self, RefRow};
use axum::extract::State;
use axum::{Extension, Json};
use chrono::DateTime;
use serde::Serialize;

use super::error::QuayError;
use super::log_range::format_datetime;
use super::repositories::{RepoPath, find};
use crate::state::AppState;

/// The image a route names.
#[derive(Debug, Clone)]
pub struct ImagePath(pub String);

/// A layer shown as a Quay (V1) image.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Image {
    /// The hex of the layer's digest.
    pub id: String,
    pub created: String,
    pub comment: String,
    pub command: Vec<String>,
    pub size: u64,
    pub uploading: bool,
    pub sort_index: usize,
    /// `/<id>/<id>/.../` of the layers before it, nearest first.
    pub ancestors: String,
}

/// `{images: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImageList {
    pub images: Vec<Image>,
}

/// Quay's answer where no scanner runs: `{status: "unsupported", data: null}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecurityStatus {
    pub status: String,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

impl SecurityStatus {
    pub fn unsupported() -> Self {
        SecurityStatus {
            status: "unsupported".into(),
            data: None,
        }
    }
}

fn render(layer: &RefRow, index: usize, ancestors: &[&RefRow], created_us: i64) -> Image {
    let chain: String = ancestors
        .iter()
        .rev()
        .map(|a| format!("/{}", a.digest.hex()))
        .collect();
    Image {
        id: layer.digest.hex().to_string(),
        created: format_datetime(DateTime::from_timestamp_micros(created_us).unwrap_or_default()),
        comment: String::new(),
        command: Vec::new(),
        size: layer.size,
        uploading: false,
        sort_index: index,
        ancestors: format!("{chain}/"),
    }
}

/// The layers of one manifest as a chain of images.
pub fn render_chain(layers: &[RefRow], created_us: i64) -> Vec<Image> {
    let refs: Vec<&RefRow> = layers.iter().collect();
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| render(l, i, &refs[..i], created_us))
        .collect()
}

async fn all(state: &AppState, path: &RepoPath) -> Result<Vec<Image>, QuayError> {
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
#[utoipa::path(get, path = "/api/v1/repository/{repository}/image/", operation_id = "listRepositoryImages", tag = "image",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{images: [...]}`", body = ImageList), (status = 404, description = "No such repository")))]
pub async fn list(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<ImageList>, QuayError> {
    Ok(Json(ImageList {
        images: all(&state, &path).await?,
    }))
}

/// Get the information available for the specified image.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/image/{imageid}", operation_id = "getImage", tag = "image",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("imageid" = String, Path, description = "The image identifier")),
    responses((status = 200, description = "The image", body = Image), (status = 404, description = "No such image")))]
pub async fn get(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(ImagePath(id)): Extension<ImagePath>,
) -> Result<Json<Image>, QuayError> {
    all(&state, &path)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .map(Json)
        .ok_or_else(|| QuayError::not_found(format!("Image {id} not found")))
}

/// Security scan results: Annals runs no scanner, so Quay's answer for that case.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/image/{imageid}/security", operation_id = "getImageSecurity", tag = "image",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("imageid" = String, Path, description = "The image identifier")),
    responses((status = 200, description = "`{status: \"unsupported\", data: null}`", body = SecurityStatus),
        (status = 404, description = "No such repository")))]
pub async fn security(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<SecurityStatus>, QuayError> {
    find(&state, &path).await?;
    Ok(Json(SecurityStatus::unsupported()))
}
