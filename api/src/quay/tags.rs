//! `/api/v1/repository/{repository}/tag/...`: the tag history, pointing a tag at a manifest,
//! tag expiration, deleting a tag, and restoring a tag to a manifest it pointed at before (the
//! time machine, read from the tag's events).

use annals_commands::ContentCommand;
use annals_domain::{Digest, TagName};
use annals_projections::queries::tags::{self, TagFilter, TagRow};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::{Ctx, MAX_PAGE, QuayJson, QuayQuery, bounded};
use super::images;
use super::log_range::format_datetime;
use super::repositories::{RepoPath, find};
use crate::state::AppState;

/// Tags per page at most, as Quay.
pub const MAX_TAG_LIMIT: u64 = 100;

/// The latest tag expiration accepted (seconds since the epoch): the last second of 9999, the
/// last a Quay `datetime` can show.
pub const MAX_EXPIRATION: i64 = 253_402_300_799;

/// The tag a route names.
#[derive(Debug, Clone)]
pub struct TagPath(pub String);

fn micros_to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A tag period: from `start_ts` to `end_ts` (absent while live, unless it expires).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagPeriod {
    pub name: String,
    pub reversion: bool,
    /// Seconds since the epoch.
    pub start_ts: i64,
    /// Seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_ts: Option<i64>,
    pub manifest_digest: String,
    pub is_manifest_list: bool,
    pub size: u64,
    pub last_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
}

/// `{tags, page, has_additional}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagHistory {
    pub tags: Vec<TagPeriod>,
    pub page: u64,
    pub has_additional: bool,
}

/// A tag period in Quay's shape.
pub fn render(t: &TagRow) -> TagPeriod {
    TagPeriod {
        name: t.name.clone(),
        reversion: t.reversion,
        start_ts: t.start_ts / 1_000_000,
        end_ts: t.end_ts.or(t.expiration).map(|end| end / 1_000_000),
        manifest_digest: t.digest.to_string(),
        is_manifest_list: t
            .media_type
            .as_deref()
            .is_some_and(|m| m.contains("index") || m.contains("list")),
        size: t.size,
        last_modified: format_datetime(micros_to_time(t.start_ts)),
        expiration: t.expiration.map(|e| format_datetime(micros_to_time(e))),
    }
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    page: Option<u64>,
    limit: Option<u64>,
    #[serde(rename = "onlyActiveTags")]
    only_active_tags: Option<bool>,
    #[serde(rename = "specificTag")]
    specific_tag: Option<String>,
    filter_tag_name: Option<String>,
}

/// List the tags of a repository: the full history (ended periods too, unless
/// `onlyActiveTags`), newest first.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/tag/", operation_id = "listRepoTags", tag = "tag",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("page" = Option<u64>, Query, minimum = 1, maximum = 100_000, description = "Page index for the results. Default 1."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 100, description = "Limit to the number of results to return per page. Default 50, max 100."),
        ("onlyActiveTags" = Option<bool>, Query, description = "Filter to only active tags."),
        ("specificTag" = Option<String>, Query, description = "Filters the tags to the specific tag."),
        ("filter_tag_name" = Option<String>, Query, description = "`like:<part>` or `eq:<name>`")),
    responses((status = 200, description = "`{tags, page, has_additional}`", body = TagHistory),
        (status = 400, description = "Bad filter, page or limit"),
        (status = 404, description = "No such repository")))]
pub async fn list(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<ListParams>,
) -> Result<Json<TagHistory>, QuayError> {
    let repo = find(&state, &path).await?;
    let page = bounded("page", params.page, 1, 1, MAX_PAGE)?;
    let limit = bounded("limit", params.limit, 50, 1, MAX_TAG_LIMIT)?;
    let mut filter = TagFilter {
        only_active: params.only_active_tags.unwrap_or(false),
        specific: params.specific_tag.filter(|t| !t.is_empty()),
        ..TagFilter::default()
    };
    if let Some(f) = params.filter_tag_name.filter(|f| !f.is_empty()) {
        match f.split_once(':') {
            Some(("like", part)) => filter.name_like = Some(part.to_owned()),
            Some(("eq", name)) => filter.name_eq = Some(name.to_owned()),
            _ => {
                return Err(QuayError::invalid_request(
                    "filter_tag_name must be like:<part> or eq:<name>",
                ));
            }
        }
    }
    let (rows, more) = tags::history(state.db().as_ref(), repo.id, &filter, page, limit).await?;
    Ok(Json(TagHistory {
        tags: rows.iter().map(render).collect(),
        page,
        has_additional: more,
    }))
}

/// Both fields are optional; `{}` changes nothing.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TagChange {
    /// The manifest the tag should point at.
    #[serde(default)]
    pub manifest_digest: Option<String>,
    /// When the tag expires (seconds since the epoch, in the future); `null` clears it.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 253_402_300_799.0)]
    pub expiration: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

fn parse_tag(tag: &str) -> Result<TagName, QuayError> {
    TagName::parse(tag).map_err(|e| QuayError::invalid_request(e.to_string()))
}

fn parse_digest(d: &str) -> Result<Digest, QuayError> {
    Digest::parse(d).map_err(|e| QuayError::invalid_request(e.to_string()))
}

/// Change the manifest a tag points at, or its expiration.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/tag/{tag}", operation_id = "changeTag", tag = "tag", request_body = TagChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("tag" = String, Path, description = "The name of the tag")),
    responses((status = 201, description = "`\"Updated\"`", body = String, content_type = "application/json", example = json!("Updated")),
        (status = 400, description = "Bad tag, digest or expiration"),
        (status = 404, description = "No such repository, tag or manifest")))]
pub async fn put(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(TagPath(tag)): Extension<TagPath>,
    QuayJson(body): QuayJson<TagChange>,
) -> Result<Response, QuayError> {
    let target = path.parse()?;
    let tag = parse_tag(&tag)?;
    if body.manifest_digest.is_none() && body.expiration.is_none() {
        // Nothing to change (Quay answers the same): only the repository must exist.
        find(&state, &path).await?;
    }
    let mut last = None;
    if let Some(digest) = &body.manifest_digest {
        let digest = parse_digest(digest)?;
        last = Some(
            state
                .commands
                .change_content(
                    &ctx.envelope,
                    &target,
                    ContentCommand::SetTag {
                        tag: tag.clone(),
                        digest,
                    },
                )
                .await?,
        );
    }
    if let Some(expiration) = body.expiration {
        let expiration = expiration
            .map(|s| {
                (0..=MAX_EXPIRATION)
                    .contains(&s)
                    .then(|| DateTime::from_timestamp(s, 0))
                    .flatten()
                    .ok_or_else(|| {
                        QuayError::invalid_request(format!(
                            "expiration must be seconds since the epoch, at most {MAX_EXPIRATION}"
                        ))
                    })
            })
            .transpose()?;
        if expiration.is_some_and(|e| e <= Utc::now()) {
            return Err(QuayError::invalid_request(
                "the expiration must be in the future",
            ));
        }
        let envelope = if last.is_some() {
            ctx.envelope.follow_up("expiration")
        } else {
            ctx.envelope.clone()
        };
        last = Some(
            state
                .commands
                .change_content(
                    &envelope,
                    &target,
                    ContentCommand::SetTagExpiration { tag, expiration },
                )
                .await?,
        );
    }
    if let Some(done) = &last {
        state.settle(done).await;
    }
    Ok((StatusCode::CREATED, Json("Updated")).into_response())
}

/// Delete the specified repository tag.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/tag/{tag}", operation_id = "deleteFullTag", tag = "tag",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("tag" = String, Path, description = "The name of the tag")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such repository or tag")))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(TagPath(tag)): Extension<TagPath>,
) -> Result<Response, QuayError> {
    let tag = parse_tag(&tag)?;
    let done = state
        .commands
        .change_content(
            &ctx.envelope,
            &path.parse()?,
            ContentCommand::DeleteTag { tag },
        )
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TagRestore {
    /// A manifest the tag pointed at before.
    pub manifest_digest: String,
}

/// The answer of a restore: `{}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Restored {}

/// Restore a repository tag back to a previous image in the repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/tag/{tag}/restore", operation_id = "restoreTag", tag = "tag", request_body = TagRestore,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("tag" = String, Path, description = "The name of the tag")),
    responses((status = 200, description = "`{}`", body = Restored), (status = 400, description = "The tag never pointed there"),
        (status = 404, description = "No such repository, tag or manifest")))]
pub async fn restore(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(TagPath(tag)): Extension<TagPath>,
    QuayJson(body): QuayJson<TagRestore>,
) -> Result<Json<Restored>, QuayError> {
    let tag = parse_tag(&tag)?;
    let digest = parse_digest(&body.manifest_digest)?;
    let done = state
        .commands
        .change_content(
            &ctx.envelope,
            &path.parse()?,
            ContentCommand::RestoreTag { tag, digest },
        )
        .await?;
    state.settle(&done).await;
    Ok(Json(Restored {}))
}

/// The images (layers) of the manifest a tag points at.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/tag/{tag}/images", operation_id = "listTagImages", tag = "tag",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("tag" = String, Path, description = "The name of the tag")),
    responses((status = 200, description = "`{images: [...]}`", body = images::ImageList), (status = 404, description = "No such repository or tag")))]
pub async fn images(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(TagPath(tag)): Extension<TagPath>,
) -> Result<Json<images::ImageList>, QuayError> {
    let repo = find(&state, &path).await?;
    let db = state.db();
    let digest = annals_projections::queries::content::tag_target(db.as_ref(), repo.id, &tag)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Tag {tag} not found")))?;
    let manifest = annals_projections::queries::content::manifest(db.as_ref(), repo.id, &digest)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Tag {tag} not found")))?;
    let layers = tags::refs(db.as_ref(), repo.id, &digest).await?;
    let layers: Vec<_> = layers.into_iter().filter(|r| r.kind == "layer").collect();
    Ok(Json(images::ImageList {
        images: images::render_chain(&layers, manifest.created_at),
    }))
}
