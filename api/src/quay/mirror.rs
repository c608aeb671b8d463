//! `/api/v1/repository/{repository}/mirror[/sync-now|/sync-cancel]`: Quay's repository
//! mirroring configuration, for the repository's administrators (the check is
//! `repositories::dispatch`'s). The upstream password is kept by the mirror worker's table,
//! never in an event and never answered.

use annals_domain::delegate::{Delegate, DelegateKind};
use annals_domain::mirror::{self, MirrorCommand, MirrorConfig, MirrorPatch};
use annals_projections::queries::mirrors;
use annals_projections::queries::repositories::RepositoryView;
use annals_projections::queries::robots;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::repositories::{self, RepoPath};
use crate::state::AppState;

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MirrorRule {
    /// `tag_glob_csv`.
    pub rule_kind: String,
    /// Tag globs (`fnmatch`).
    pub rule_value: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct MirrorProxy {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub http_proxy: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub https_proxy: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub no_proxy: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MirrorRegistryConfig {
    pub verify_tls: Option<bool>,
    pub unsigned_images: Option<bool>,
    pub proxy: Option<MirrorProxy>,
}

/// The body of a create (`external_reference`, `sync_interval`, `sync_start_date`, `root_rule`
/// and `robot_username` required) or of a change (any subset).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MirrorBody {
    pub is_enabled: Option<bool>,
    /// `host[:port]/path` of the upstream repository.
    pub external_reference: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_registry_username: Option<Option<String>>,
    /// Never answered back.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_registry_password: Option<Option<String>>,
    pub external_registry_config: Option<MirrorRegistryConfig>,
    /// Seconds between scheduled syncs (1 to one year).
    #[schema(minimum = 1, maximum = 31536000)]
    pub sync_interval: Option<i64>,
    /// RFC 3339, such as `2026-12-06T12:00:00Z`.
    pub sync_start_date: Option<String>,
    pub root_rule: Option<MirrorRule>,
    /// `namespace+robot`, a robot of the repository's namespace.
    pub robot_username: Option<String>,
    /// Seconds a sync may run (300 to 43200; 300 when left out).
    #[schema(minimum = 300, maximum = 43200)]
    pub skopeo_timeout_interval: Option<i64>,
    /// Only empty: architecture filtering needs sparse indexes, which Annals does not keep.
    pub architecture_filter: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MirrorProxyView {
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MirrorRegistryConfigView {
    pub verify_tls: bool,
    pub unsigned_images: bool,
    pub proxy: MirrorProxyView,
}

/// Quay's `ViewMirrorConfig`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MirrorView {
    pub is_enabled: bool,
    /// `PULL`.
    pub mirror_type: &'static str,
    pub external_reference: String,
    pub external_registry_username: Option<String>,
    pub external_registry_config: MirrorRegistryConfigView,
    pub sync_interval: u64,
    pub sync_start_date: String,
    pub sync_expiration_date: Option<String>,
    pub sync_retries_remaining: i64,
    /// `NEVER_RUN`, `SYNC_NOW`, `SYNCING`, `SUCCESS`, `FAIL` or `CANCEL`.
    pub sync_status: String,
    pub root_rule: MirrorRule,
    pub robot_username: String,
    pub skopeo_timeout_interval: u64,
    pub architecture_filter: Vec<String>,
}

/// Quay's date form: `2026-12-06T12:00:00Z`.
fn quay_date(dt: DateTime<Utc>) -> String {
    dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn bad(message: impl Into<String>) -> QuayError {
    QuayError::invalid_request(message)
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, QuayError> {
    value.ok_or_else(|| bad(format!("'{field}' is a required property")))
}

fn start_date(value: &str) -> Result<DateTime<Utc>, QuayError> {
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| bad("Incorrect DateTime format for sync_start_date."))
}

fn interval(value: i64) -> Result<u64, QuayError> {
    u64::try_from(value)
        .ok()
        .filter(|v| (1..=mirror::MAX_SYNC_INTERVAL_S).contains(v))
        .ok_or_else(|| {
            bad(format!(
                "sync_interval must be between 1 and {} seconds",
                mirror::MAX_SYNC_INTERVAL_S
            ))
        })
}

fn timeout(value: i64) -> Result<u64, QuayError> {
    u64::try_from(value)
        .ok()
        .filter(|v| (mirror::MIN_TIMEOUT_S..=mirror::MAX_TIMEOUT_S).contains(v))
        .ok_or_else(|| bad("Skopeo timeout interval cannot be less than 300 seconds"))
}

fn globs(rule: &MirrorRule) -> Result<Vec<String>, QuayError> {
    if rule.rule_kind != "tag_glob_csv" {
        return Err(bad("validation failed: rule_type must be TAG_GLOB_CSV"));
    }
    mirror::check_globs(&rule.rule_value)?;
    Ok(rule.rule_value.clone())
}

fn no_architectures(filter: &Option<Vec<String>>) -> Result<(), QuayError> {
    match filter {
        Some(f) if !f.is_empty() => Err(bad(
            "Architecture filtering requires FEATURE_SPARSE_INDEX to be enabled.",
        )),
        _ => Ok(()),
    }
}

/// The robot `name` of the repository's namespace (Quay: `Invalid robot` otherwise).
async fn robot(state: &AppState, repo: &RepositoryView, name: &str) -> Result<Delegate, QuayError> {
    let invalid = || bad("Invalid robot");
    if name.split_once('+').map(|(ns, _)| ns) != Some(repo.namespace.as_str()) {
        return Err(invalid());
    }
    let found = robots::get(state.db().as_ref(), repo.namespace_id, name)
        .await?
        .ok_or_else(invalid)?;
    Ok(Delegate {
        kind: DelegateKind::Robot,
        id: found.id,
        name: found.name,
    })
}

/// Keeps an upstream `password` (a mirror's or a proxy cache's) under an id derived from the
/// command, and answers the id.
pub(super) async fn keep_password(
    state: &AppState,
    ctx: &Ctx,
    password: &str,
) -> Result<uuid::Uuid, QuayError> {
    mirror::check_setting(password)?;
    let id = ctx.envelope.derived_id("mirror-credential");
    state
        .events
        .delivery
        .store_mirror_password(id, password)
        .await?;
    Ok(id)
}

/// Get the mirroring configuration of a repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/mirror", operation_id = "getRepoMirrorConfig", tag = "mirror",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "The configuration (never the password)", body = MirrorView),
        (status = 404, description = "No such repository, or it has no mirror")))]
pub async fn get(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<MirrorView>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let m = mirrors::get(state.db().as_ref(), repo.id)
        .await?
        .ok_or_else(|| QuayError::not_found("Mirror configuration not found"))?;
    let c = m.config;
    Ok(Json(MirrorView {
        is_enabled: m.is_enabled,
        mirror_type: "PULL",
        external_reference: c.external_reference,
        external_registry_username: c.username,
        external_registry_config: MirrorRegistryConfigView {
            verify_tls: c.verify_tls,
            unsigned_images: c.unsigned_images,
            proxy: MirrorProxyView {
                http_proxy: c.http_proxy,
                https_proxy: c.https_proxy,
                no_proxy: c.no_proxy,
            },
        },
        sync_interval: c.sync_interval_s,
        // Quay moves the start date on as syncs happen; so does the schedule.
        sync_start_date: quay_date(
            m.next_sync_at
                .and_then(DateTime::from_timestamp_micros)
                .unwrap_or(c.sync_start_date),
        ),
        sync_expiration_date: m
            .sync_expiration_date
            .and_then(DateTime::from_timestamp_micros)
            .map(quay_date),
        sync_retries_remaining: m.retries_remaining,
        sync_status: m.sync_status,
        root_rule: MirrorRule {
            rule_kind: "tag_glob_csv".to_owned(),
            rule_value: c.tag_globs,
        },
        robot_username: c.robot.name,
        skopeo_timeout_interval: c.timeout_s,
        architecture_filter: Vec::new(),
    }))
}

/// Create the mirroring configuration of a repository: the repository goes into the `MIRROR`
/// state, where only the mirror's robot (granted `write` if it lacks it) may push.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/mirror", operation_id = "createRepoMirrorConfig", tag = "mirror",
    request_body = MirrorBody,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 201, description = "Created: an empty JSON string, as Quay's", body = String, content_type = "application/json", example = json!("")), (status = 400, description = "Invalid or missing settings, unknown robot"),
        (status = 404, description = "No such repository"), (status = 409, description = "The repository has a mirror already")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<MirrorBody>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let external_reference = required(body.external_reference, "external_reference")?;
    mirror::check_reference(&external_reference)?;
    no_architectures(&body.architecture_filter)?;
    let timeout_s = timeout(body.skopeo_timeout_interval.unwrap_or(300))?;
    let sync_start_date = start_date(&required(body.sync_start_date, "sync_start_date")?)?;
    let sync_interval_s = interval(required(body.sync_interval, "sync_interval")?)?;
    let tag_globs = globs(&required(body.root_rule, "root_rule")?)?;
    let robot = robot(
        &state,
        &repo,
        &required(body.robot_username, "robot_username")?,
    )
    .await?;
    let registry = body.external_registry_config.unwrap_or_default();
    let proxy = registry.proxy.unwrap_or_default();
    let password = body.external_registry_password.flatten();
    let mut config = MirrorConfig {
        is_enabled: body.is_enabled.unwrap_or(true),
        external_reference,
        username: body.external_registry_username.flatten(),
        credential_id: None,
        verify_tls: registry.verify_tls.unwrap_or(true),
        unsigned_images: registry.unsigned_images.unwrap_or(false),
        http_proxy: proxy.http_proxy.flatten(),
        https_proxy: proxy.https_proxy.flatten(),
        no_proxy: proxy.no_proxy.flatten(),
        sync_interval_s,
        sync_start_date,
        timeout_s,
        tag_globs,
        robot,
    };
    // Every check before the password is kept, so refused input leaves nothing behind.
    mirror::check_config(&config)?;
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        config.credential_id = Some(keep_password(&state, &ctx, &password).await?);
    }
    let done = state
        .commands
        .mirror_command(&ctx.envelope, &path.parse()?, MirrorCommand::Create(config))
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("")))
}

/// Change the mirroring configuration of a repository: only the settings the body names.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/mirror", operation_id = "changeRepoMirrorConfig", tag = "mirror",
    request_body = MirrorBody,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 201, description = "Changed: an empty JSON string, as Quay's", body = String, content_type = "application/json", example = json!("")), (status = 400, description = "Invalid settings, unknown robot"),
        (status = 404, description = "No such repository, or it has no mirror")))]
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<MirrorBody>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    let repo = repositories::find(&state, &path).await?;
    if let Some(reference) = &body.external_reference {
        mirror::check_reference(reference)?;
    }
    no_architectures(&body.architecture_filter)?;
    let mut patch = MirrorPatch {
        is_enabled: body.is_enabled,
        external_reference: body.external_reference,
        sync_start_date: body
            .sync_start_date
            .as_deref()
            .map(start_date)
            .transpose()?,
        sync_interval_s: body.sync_interval.map(interval).transpose()?,
        timeout_s: body.skopeo_timeout_interval.map(timeout).transpose()?,
        tag_globs: body.root_rule.as_ref().map(globs).transpose()?,
        ..MirrorPatch::default()
    };
    match (
        &body.external_registry_username,
        &body.external_registry_password,
    ) {
        (None, Some(_)) => {
            return Err(bad(
                "Unable to set a new password without also specifying a username.",
            ));
        }
        (Some(None), Some(Some(_))) => {
            return Err(bad("Unable to delete username while setting a password."));
        }
        _ => {}
    }
    if let Some(name) = &body.robot_username {
        patch.robot = Some(robot(&state, &repo, name).await?);
    }
    if let Some(registry) = body.external_registry_config {
        patch.verify_tls = registry.verify_tls;
        patch.unsigned_images = registry.unsigned_images;
        if let Some(proxy) = registry.proxy {
            patch.http_proxy = proxy.http_proxy;
            patch.https_proxy = proxy.https_proxy;
            patch.no_proxy = proxy.no_proxy;
        }
    }
    for value in [&patch.http_proxy, &patch.https_proxy, &patch.no_proxy]
        .into_iter()
        .flatten()
        .flatten()
        .chain(body.external_registry_username.iter().flatten())
    {
        mirror::check_setting(value)?;
    }
    match (
        body.external_registry_username,
        body.external_registry_password,
    ) {
        (Some(username), Some(password)) => {
            let id = match password.filter(|p| !p.is_empty()) {
                Some(p) => Some(keep_password(&state, &ctx, &p).await?),
                None => None,
            };
            patch.credentials = Some((username, id));
        }
        (username, _) => patch.username = username,
    }
    let done = state
        .commands
        .mirror_command(&ctx.envelope, &path.parse()?, MirrorCommand::Change(patch))
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("")))
}

/// `sync-now` and `sync-cancel`: the command on the repository's mirror, answered `204`.
async fn sync_request(
    state: &AppState,
    ctx: &Ctx,
    path: &RepoPath,
    command: MirrorCommand,
) -> Result<StatusCode, QuayError> {
    repositories::find(state, path).await?;
    let done = state
        .commands
        .mirror_command(&ctx.envelope, &path.parse()?, command)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a sync now (not while one runs).
#[utoipa::path(post, path = "/api/v1/repository/{repository}/mirror/sync-now", operation_id = "syncNow", tag = "mirror",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 204, description = "Requested"), (status = 404, description = "No such repository or mirror, or a sync is running")))]
pub async fn sync_now(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<StatusCode, QuayError> {
    sync_request(&state, &ctx, &path, MirrorCommand::SyncNow).await
}

/// Cancel the sync asked for or running.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/mirror/sync-cancel", operation_id = "syncCancel", tag = "mirror",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 204, description = "Cancelled"), (status = 404, description = "No such repository or mirror, or no sync to cancel")))]
pub async fn sync_cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<StatusCode, QuayError> {
    sync_request(&state, &ctx, &path, MirrorCommand::Cancel).await
}
