//! One plugin: its status (`gerrit~status`), enabling, disabling (`gerrit~disable`, or
//! `DELETE`; refused with 405 for a mandatory plugin) and reloading (`gerrit~reload`: the jar's
//! manifest read again from the blob store; 409 when its bytes are gone). An unknown plugin is
//! 404 `Not found`.

use annals_domain::Digest;
use annals_domain::gerrit_plugin::{GerritPluginCommand, Jar};
use annals_projections::queries::gerrit_plugins;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::auth::{AdministrateServer, Capable, ViewPlugins};
use super::error::GerritError;
use super::reply::{self, PluginInfo};
use super::{jar, strip_jar};
use crate::state::AppState;

/// The `{plugin_id}` of a path (a trailing `.jar` dropped); one that cannot name a plugin is
/// 404 `Not found`, as an unknown one is.
pub struct PluginId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PluginId {
    type Rejection = GerritError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GerritError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| GerritError::not_found())?;
        annals_domain::gerrit_plugin::parse_id(strip_jar(&raw))
            .map(PluginId)
            .map_err(|_| GerritError::not_found())
    }
}

/// The plugin as it now stands, in Gerrit's JSON.
pub async fn answer(
    state: &AppState,
    parts: &Parts,
    id: &str,
    status: StatusCode,
) -> Result<Response, GerritError> {
    let plugin = gerrit_plugins::get(state.db().as_ref(), id)
        .await?
        .ok_or_else(GerritError::not_found)?;
    Ok(reply::json(
        status,
        reply::compact(parts),
        &PluginInfo::from(&plugin),
    ))
}

async fn run(
    state: &AppState,
    admin: &Capable<AdministrateServer>,
    parts: &Parts,
    id: &str,
    command: GerritPluginCommand,
) -> Result<Response, GerritError> {
    let outcome = state
        .commands
        .gerrit_plugin_command(&admin.envelope, id, command)
        .await?;
    state.settle(&outcome.done).await;
    answer(state, parts, id, StatusCode::OK).await
}

/// Retrieves the status of a plugin on the Gerrit server.
#[utoipa::path(get, path = "/plugins/{plugin_id}/gerrit~status", operation_id = "gerrit_get_plugin_status", tag = "gerrit",
    params(("plugin_id" = String, Path, description = "The ID of the plugin")),
    responses((status = 200, description = "The plugin", body = PluginInfo, content_type = "application/json")))]
pub async fn status(
    State(state): State<AppState>,
    _viewer: Capable<ViewPlugins>,
    PluginId(id): PluginId,
    parts: Parts,
) -> Result<Response, GerritError> {
    answer(&state, &parts, &id, StatusCode::OK).await
}

/// Enables a plugin on the Gerrit server.
#[utoipa::path(post, path = "/plugins/{plugin_id}/gerrit~enable", operation_id = "gerrit_enable_plugin", tag = "gerrit",
    params(("plugin_id" = String, Path, description = "The ID of the plugin")),
    responses((status = 200, description = "The plugin, enabled", body = PluginInfo, content_type = "application/json")))]
pub async fn enable(
    State(state): State<AppState>,
    admin: Capable<AdministrateServer>,
    PluginId(id): PluginId,
    parts: Parts,
) -> Result<Response, GerritError> {
    run(&state, &admin, &parts, &id, GerritPluginCommand::Enable).await
}

async fn disable_plugin(
    state: &AppState,
    admin: &Capable<AdministrateServer>,
    parts: &Parts,
    id: &str,
) -> Result<Response, GerritError> {
    let mandatory = state.gerrit.mandatory.contains(id);
    run(
        state,
        admin,
        parts,
        id,
        GerritPluginCommand::Disable { mandatory },
    )
    .await
}

/// Disables a plugin on the Gerrit server.
#[utoipa::path(post, path = "/plugins/{plugin_id}/gerrit~disable", operation_id = "gerrit_disable_plugin", tag = "gerrit",
    params(("plugin_id" = String, Path, description = "The ID of the plugin")),
    responses(
        (status = 200, description = "The plugin, disabled", body = PluginInfo, content_type = "application/json"),
        (status = 405, description = "The plugin is mandatory (`Plugin <id> is mandatory`)"),
    ))]
pub async fn disable(
    State(state): State<AppState>,
    admin: Capable<AdministrateServer>,
    PluginId(id): PluginId,
    parts: Parts,
) -> Result<Response, GerritError> {
    disable_plugin(&state, &admin, &parts, &id).await
}

/// Disables a plugin on the Gerrit server (as `gerrit~disable` does).
#[utoipa::path(delete, path = "/plugins/{plugin_id}", operation_id = "gerrit_delete_plugin", tag = "gerrit",
    params(("plugin_id" = String, Path, description = "The ID of the plugin")),
    responses(
        (status = 200, description = "The plugin, disabled", body = PluginInfo, content_type = "application/json"),
        (status = 405, description = "The plugin is mandatory (`Plugin <id> is mandatory`)"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Capable<AdministrateServer>,
    PluginId(id): PluginId,
    parts: Parts,
) -> Result<Response, GerritError> {
    disable_plugin(&state, &admin, &parts, &id).await
}

/// The installed jar read again from the blob store; `None` when its bytes are gone or are no
/// longer a plugin jar.
async fn stored_jar(state: &AppState, digest: &str) -> Result<Option<Jar>, GerritError> {
    let digest = Digest::parse(digest).map_err(GerritError::internal)?;
    let path = state.blobs.path(&digest);
    let size = match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_file() => m.len(),
        _ => return Ok(None),
    };
    let Ok(manifest) = jar::read_manifest(path).await else {
        return Ok(None);
    };
    Ok(Some(Jar::new(digest, size, &manifest).map_err(|e| {
        GerritError::new(StatusCode::CONFLICT, format!("cannot reload: {e}"))
    })?))
}

/// Reloads a plugin on the Gerrit server: its jar's manifest is read again.
#[utoipa::path(post, path = "/plugins/{plugin_id}/gerrit~reload", operation_id = "gerrit_reload_plugin", tag = "gerrit",
    params(("plugin_id" = String, Path, description = "The ID of the plugin")),
    responses(
        (status = 200, description = "The plugin, reloaded", body = PluginInfo, content_type = "application/json"),
        (status = 409, description = "The plugin's jar is no longer stored"),
    ))]
pub async fn reload(
    State(state): State<AppState>,
    admin: Capable<AdministrateServer>,
    PluginId(id): PluginId,
    parts: Parts,
) -> Result<Response, GerritError> {
    let plugin = gerrit_plugins::get(state.db().as_ref(), &id)
        .await?
        .ok_or_else(GerritError::not_found)?;
    let jar = stored_jar(&state, &plugin.jar_digest).await?;
    run(
        &state,
        &admin,
        &parts,
        &id,
        GerritPluginCommand::Reload { jar },
    )
    .await
}
