//! `/api/v1/repository/{repository}/manifest/{manifestref}...`: a manifest with its layers, and
//! its labels (list, add, get, delete).

use annals_commands::ContentCommand;
use annals_domain::Digest;
use annals_projections::queries::content::{self, ManifestView};
use annals_projections::queries::tags;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson, QuayQuery};
use super::images::SecurityStatus;
use super::repositories::{RepoPath, find};
use crate::state::AppState;

/// The manifest (and label) a route names.
#[derive(Debug, Clone)]
pub struct ManifestPath {
    pub reference: String,
    pub label: Option<String>,
}

async fn manifest(
    state: &AppState,
    path: &RepoPath,
    reference: &str,
) -> Result<ManifestView, QuayError> {
    let repo = find(state, path).await?;
    let not_found = || QuayError::not_found(format!("Manifest {reference} not found"));
    let digest = Digest::parse(reference).map_err(|_| not_found())?;
    content::manifest(state.db().as_ref(), repo.id, &digest)
        .await?
        .ok_or_else(not_found)
}

/// A layer of a manifest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ManifestLayer {
    pub index: usize,
    pub compressed_size: u64,
    pub is_remote: bool,
    pub urls: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub blob_digest: String,
    pub created_datetime: Option<String>,
}

/// A manifest with its layers (`null` for a manifest list).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Manifest {
    pub digest: String,
    pub is_manifest_list: bool,
    /// The manifest's bytes, as stored.
    pub manifest_data: String,
    pub config_media_type: Option<String>,
    pub layers: Option<Vec<ManifestLayer>>,
}

/// A label of a manifest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Label {
    pub id: Uuid,
    pub key: String,
    pub value: String,
    /// `api`.
    pub source_type: String,
    pub media_type: String,
}

/// `{labels: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LabelList {
    pub labels: Vec<Label>,
}

/// `{label: {...}}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedLabel {
    pub label: Label,
}

/// Get a manifest with its layers.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/manifest/{manifestref}", operation_id = "getRepoManifest", tag = "manifest",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("manifestref" = String, Path, description = "The digest of the manifest")),
    responses((status = 200, description = "`{digest, is_manifest_list, manifest_data, config_media_type, layers}`", body = Manifest),
        (status = 404, description = "No such manifest")))]
pub async fn get(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(target): Extension<ManifestPath>,
) -> Result<Json<Manifest>, QuayError> {
    let m = manifest(&state, &path, &target.reference).await?;
    let bytes = state
        .blobs
        .read_small(&m.digest)
        .await
        .map_err(QuayError::internal)?
        .ok_or_else(|| QuayError::not_found("The manifest's bytes are gone"))?;
    let refs = tags::refs(state.db().as_ref(), m.repository_id, &m.digest).await?;
    let is_list = refs.iter().any(|r| r.kind == "manifest")
        || m.media_type.contains("index")
        || m.media_type.contains("list");
    let config_media_type = refs
        .iter()
        .find(|r| r.kind == "config")
        .map(|r| r.media_type.clone());
    let layers = refs
        .iter()
        .filter(|r| r.kind == "layer")
        .enumerate()
        .map(|(i, r)| ManifestLayer {
            index: i,
            compressed_size: r.size,
            is_remote: false,
            urls: None,
            command: None,
            comment: None,
            author: None,
            blob_digest: r.digest.to_string(),
            created_datetime: None,
        })
        .collect();
    Ok(Json(Manifest {
        digest: m.digest.to_string(),
        is_manifest_list: is_list,
        manifest_data: String::from_utf8_lossy(&bytes).into_owned(),
        config_media_type,
        layers: (!is_list).then_some(layers),
    }))
}

fn render_label(l: &tags::LabelRow) -> Label {
    Label {
        id: l.id,
        key: l.key.clone(),
        value: l.value.clone(),
        source_type: "api".into(),
        media_type: l.media_type.clone(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LabelFilter {
    filter: Option<String>,
}

/// List the labels of a manifest (`filter`: only keys starting with it).
#[utoipa::path(get, path = "/api/v1/repository/{repository}/manifest/{manifestref}/labels", operation_id = "listManifestLabels", tag = "manifest",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("manifestref" = String, Path, description = "The digest of the manifest"),
        ("filter" = Option<String>, Query, description = "If specified, only labels matching the given prefix will be returned")),
    responses((status = 200, description = "`{labels: [...]}`", body = LabelList), (status = 404, description = "No such manifest")))]
pub async fn labels(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(target): Extension<ManifestPath>,
    QuayQuery(q): QuayQuery<LabelFilter>,
) -> Result<Json<LabelList>, QuayError> {
    let m = manifest(&state, &path, &target.reference).await?;
    let all = tags::labels(state.db().as_ref(), m.repository_id, &m.digest).await?;
    let prefix = q.filter.unwrap_or_default();
    Ok(Json(LabelList {
        labels: all
            .iter()
            .filter(|l| l.key.starts_with(&prefix))
            .map(render_label)
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewLabel {
    pub key: String,
    pub value: String,
    /// `text/plain` (default) or `application/json`.
    pub media_type: Option<String>,
}

/// Adds a new label into the tag manifest.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/manifest/{manifestref}/labels", operation_id = "addManifestLabel", tag = "manifest",
    request_body = NewLabel,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("manifestref" = String, Path, description = "The digest of the manifest")),
    responses((status = 201, description = "`{label: {...}}`", body = CreatedLabel), (status = 400, description = "Invalid label"),
        (status = 404, description = "No such manifest")))]
pub async fn add_label(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(target): Extension<ManifestPath>,
    QuayJson(body): QuayJson<NewLabel>,
) -> Result<Response, QuayError> {
    let m = manifest(&state, &path, &target.reference).await?;
    let label_id = ctx.envelope.derived_id("label");
    let media_type = body.media_type.unwrap_or_else(|| "text/plain".into());
    let done = state
        .commands
        .change_content(
            &ctx.envelope,
            &path.parse()?,
            ContentCommand::AddLabel {
                digest: m.digest.clone(),
                label_id,
                key: body.key.clone(),
                value: body.value.clone(),
                media_type: media_type.clone(),
            },
        )
        .await?;
    state.settle(&done).await;
    let label = tags::LabelRow {
        id: label_id,
        key: body.key,
        value: body.value,
        media_type,
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedLabel {
            label: render_label(&label),
        }),
    )
        .into_response())
}

async fn label(
    state: &AppState,
    path: &RepoPath,
    target: &ManifestPath,
) -> Result<(ManifestView, tags::LabelRow), QuayError> {
    let m = manifest(state, path, &target.reference).await?;
    let id = target.label.as_deref().unwrap_or_default();
    let not_found = || QuayError::not_found(format!("Label {id} not found"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let found = tags::labels(state.db().as_ref(), m.repository_id, &m.digest)
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(not_found)?;
    Ok((m, found))
}

/// Retrieves the label with the specific ID under the manifest.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/manifest/{manifestref}/labels/{labelid}", operation_id = "getManifestLabel", tag = "manifest",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("manifestref" = String, Path, description = "The digest of the manifest"),
        ("labelid" = String, Path, description = "The ID of the label")),
    responses((status = 200, description = "The label", body = Label), (status = 404, description = "No such label")))]
pub async fn get_label(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(target): Extension<ManifestPath>,
) -> Result<Json<Label>, QuayError> {
    Ok(Json(render_label(&label(&state, &path, &target).await?.1)))
}

/// Deletes an existing label from a manifest.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/manifest/{manifestref}/labels/{labelid}", operation_id = "deleteManifestLabel", tag = "manifest",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("manifestref" = String, Path, description = "The digest of the manifest"),
        ("labelid" = String, Path, description = "The ID of the label")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such label")))]
pub async fn delete_label(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(target): Extension<ManifestPath>,
) -> Result<Response, QuayError> {
    let (m, l) = label(&state, &path, &target).await?;
    let done = state
        .commands
        .change_content(
            &ctx.envelope,
            &path.parse()?,
            ContentCommand::DeleteLabel {
                digest: m.digest,
                label_id: l.id,
            },
        )
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Security scan results: Annals runs no scanner, so Quay's answer for that case.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/manifest/{manifestref}/security", operation_id = "getManifestSecurity", tag = "manifest",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("manifestref" = String, Path, description = "The digest of the manifest")),
    responses((status = 200, description = "`{status: \"unsupported\", data: null}`", body = SecurityStatus), (status = 404, description = "No such manifest")))]
pub async fn security(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(target): Extension<ManifestPath>,
) -> Result<Json<SecurityStatus>, QuayError> {
    manifest(&state, &path, &target.reference).await?;
    Ok(Json(SecurityStatus::unsupported()))
}
