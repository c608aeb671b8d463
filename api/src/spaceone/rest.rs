//! The REST routes: the repository API document's (`/repository/v1/plugins...`, resources and
//! verbs) and today's releases' (`POST /repository/v1/plugin/<method>` with the request
//! message as the body). Both call the same operations in [`service`]; a handler only reads
//! the request and answers JSON.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{SpaceError, SpaceErrorBody};
use super::model::*;
use super::service::{self, Call, Switch};
use crate::context::{self, Caller};
use crate::state::AppState;

/// The largest request body a REST call reads.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An authenticated REST call: the caller and a copy of the request's parts (for the
/// envelope and the record of a refusal).
pub struct Space {
    caller: Caller,
    envelope: annals_commands::Envelope,
    parts: Parts,
}

impl FromRequestParts<AppState> for Space {
    type Rejection = SpaceError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, SpaceError> {
        let ctx = context::Ctx::<SpaceError>::from_request_parts(parts, state).await?;
        let Ok(copy) = Parts::from_request_parts(parts, state).await;
        Ok(Space {
            caller: ctx.caller,
            envelope: ctx.envelope,
            parts: copy,
        })
    }
}

impl Space {
    fn call<'a>(&'a self, state: &'a AppState) -> Call<'a> {
        Call {
            state,
            parts: &self.parts,
            caller: &self.caller,
            envelope: self.envelope.clone(),
            domain: None,
        }
    }
}

/// A JSON body of at most [`MAX_BODY_BYTES`]; an empty one reads as `{}`.
pub struct SpaceJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for SpaceJson<T> {
    type Rejection = SpaceError;

    async fn from_request(req: Request, _: &S) -> Result<Self, SpaceError> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                SpaceError::invalid(format!(
                    "the body is unreadable or larger than {MAX_BODY_BYTES} bytes"
                ))
            })?;
        let bytes: &[u8] = if bytes.trim_ascii().is_empty() {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes)
            .map(SpaceJson)
            .map_err(|e| SpaceError::invalid(format!("Argument is invalid. ({e})")))
    }
}

/// The `{plugin_id}` of a path; an undecodable one is an invalid argument.
pub struct PluginId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PluginId {
    type Rejection = SpaceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SpaceError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| PluginId(id))
            .map_err(|e| SpaceError::invalid(format!("Argument is invalid. ({})", e.body_text())))
    }
}

/// Query parameters; unreadable ones are an invalid argument.
pub struct SpaceQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for SpaceQuery<T> {
    type Rejection = SpaceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, SpaceError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| SpaceQuery(v))
            .map_err(|e| SpaceError::invalid(format!("Argument is invalid. ({})", e.body_text())))
    }
}

type Answer<T> = Result<Json<T>, SpaceError>;

fn answered(info: Option<PluginInfo>, plugin_id: &str) -> Answer<PluginInfo> {
    info.map(Json)
        .ok_or_else(|| SpaceError::not_found("plugin_id", plugin_id))
}

// ---- The repository API document's routes ----

/// Registers a plugin (`register`).
#[utoipa::path(post, path = "/repository/v1/plugins", operation_id = "spaceone_register", tag = "SpaceONE",
    request_body = RegisterPluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo),
        (status = 409, description = "The plugin id is taken", body = SpaceErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<RegisterPluginRequest>,
) -> Answer<PluginInfo> {
    service::register(&space.call(&state), req).await.map(Json)
}

/// Changes a plugin's name, capability, template, docs, labels or tags (`update`).
#[utoipa::path(put, path = "/repository/v1/plugin/{plugin_id}", operation_id = "spaceone_update", tag = "SpaceONE",
    params(("plugin_id" = String, Path)), request_body = UpdatePluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn update(
    State(state): State<AppState>,
    PluginId(plugin_id): PluginId,
    space: Space,
    SpaceJson(mut req): SpaceJson<UpdatePluginRequest>,
) -> Answer<PluginInfo> {
    req.plugin_id = Some(plugin_id);
    service::update(&space.call(&state), req).await.map(Json)
}

/// Deregisters a plugin (`deregister`).
#[utoipa::path(delete, path = "/repository/v1/plugin/{plugin_id}", operation_id = "spaceone_deregister", tag = "SpaceONE",
    params(("plugin_id" = String, Path), PluginRequest),
    responses((status = 200, description = "Deregistered", body = Empty)))]
pub async fn deregister(
    State(state): State<AppState>,
    PluginId(plugin_id): PluginId,
    space: Space,
    SpaceQuery(mut req): SpaceQuery<PluginRequest>,
) -> Answer<Empty> {
    req.plugin_id = Some(plugin_id);
    service::switch(&space.call(&state), req, Switch::Deregister).await?;
    Ok(Json(Empty {}))
}

async fn switch_by_path(
    state: AppState,
    plugin_id: String,
    space: Space,
    mut req: PluginRequest,
    switch: Switch,
) -> Answer<PluginInfo> {
    req.plugin_id = Some(plugin_id.clone());
    answered(
        service::switch(&space.call(&state), req, switch).await?,
        &plugin_id,
    )
}

/// Enables a plugin (`enable`).
#[utoipa::path(put, path = "/repository/v1/plugin/{plugin_id}/enable", operation_id = "spaceone_enable", tag = "SpaceONE",
    params(("plugin_id" = String, Path)), request_body = PluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn enable(
    State(state): State<AppState>,
    PluginId(plugin_id): PluginId,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<PluginInfo> {
    switch_by_path(state, plugin_id, space, req, Switch::Enable).await
}

/// Disables a plugin (`disable`).
#[utoipa::path(put, path = "/repository/v1/plugin/{plugin_id}/disable", operation_id = "spaceone_disable", tag = "SpaceONE",
    params(("plugin_id" = String, Path)), request_body = PluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn disable(
    State(state): State<AppState>,
    PluginId(plugin_id): PluginId,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<PluginInfo> {
    switch_by_path(state, plugin_id, space, req, Switch::Disable).await
}

/// The versions of a plugin: its image's tags, newest first (`get_versions`).
#[utoipa::path(get, path = "/repository/v1/plugins/{plugin_id}/versions", operation_id = "spaceone_get_versions", tag = "SpaceONE",
    params(("plugin_id" = String, Path), PluginRequest),
    responses((status = 200, description = "The versions", body = VersionsInfo)))]
pub async fn versions(
    State(state): State<AppState>,
    PluginId(plugin_id): PluginId,
    space: Space,
    SpaceQuery(mut req): SpaceQuery<PluginRequest>,
) -> Answer<VersionsInfo> {
    req.plugin_id = Some(plugin_id);
    service::versions(&space.call(&state), req).await.map(Json)
}

/// A plugin (`get`).
#[utoipa::path(get, path = "/repository/v1/plugins/{plugin_id}", operation_id = "spaceone_get", tag = "SpaceONE",
    params(("plugin_id" = String, Path), PluginRequest),
    responses((status = 200, description = "The plugin (only the fields of `only` when given)", body = PluginInfo)))]
pub async fn get(
    State(state): State<AppState>,
    PluginId(plugin_id): PluginId,
    space: Space,
    SpaceQuery(mut req): SpaceQuery<PluginRequest>,
) -> Answer<Value> {
    req.plugin_id = Some(plugin_id);
    service::get(&space.call(&state), req).await.map(Json)
}

/// The plugins that match (`list`); `query` is SpaceONE's query as JSON text.
#[utoipa::path(get, path = "/repository/v1/plugins", operation_id = "spaceone_list", tag = "SpaceONE",
    params(PluginQuery),
    responses((status = 200, description = "The plugins", body = PluginsInfo)))]
pub async fn list(
    State(state): State<AppState>,
    space: Space,
    SpaceQuery(q): SpaceQuery<PluginQuery>,
) -> Answer<PluginsInfo> {
    service::list(&space.call(&state), q).await.map(Json)
}

/// The plugins that match (`list`, with the query as the body).
#[utoipa::path(post, path = "/repository/v1/plugins/search", operation_id = "spaceone_search", tag = "SpaceONE",
    request_body = PluginQuery,
    responses((status = 200, description = "The plugins", body = PluginsInfo)))]
pub async fn search(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(q): SpaceJson<PluginQuery>,
) -> Answer<PluginsInfo> {
    service::list(&space.call(&state), q).await.map(Json)
}

/// Statistics over the plugins (`stat`).
#[utoipa::path(post, path = "/repository/v1/plugins/stat", operation_id = "spaceone_stat", tag = "SpaceONE",
    request_body = PluginStatQuery,
    responses((status = 200, description = "`{results}`", body = StatInfo)))]
pub async fn stat(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(q): SpaceJson<PluginStatQuery>,
) -> Answer<StatInfo> {
    service::stat(&space.call(&state), q).await.map(Json)
}

// ---- Today's releases: `POST /repository/v1/plugin/<method>`, the message as the body ----

/// `register` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/register", operation_id = "spaceone_v2_register", tag = "SpaceONE",
    request_body = RegisterPluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo),
        (status = 409, description = "The plugin id is taken", body = SpaceErrorBody)))]
pub async fn v2_register(
    state: State<AppState>,
    space: Space,
    req: SpaceJson<RegisterPluginRequest>,
) -> Answer<PluginInfo> {
    register(state, space, req).await
}

/// `update` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/update", operation_id = "spaceone_v2_update", tag = "SpaceONE",
    request_body = UpdatePluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn v2_update(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<UpdatePluginRequest>,
) -> Answer<PluginInfo> {
    service::update(&space.call(&state), req).await.map(Json)
}

async fn v2_switch(
    state: AppState,
    space: Space,
    req: PluginRequest,
    switch: Switch,
) -> Answer<PluginInfo> {
    let plugin_id = req.plugin_id.clone().unwrap_or_default();
    answered(
        service::switch(&space.call(&state), req, switch).await?,
        &plugin_id,
    )
}

/// `deregister` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/deregister", operation_id = "spaceone_v2_deregister", tag = "SpaceONE",
    request_body = PluginRequest,
    responses((status = 200, description = "Deregistered", body = Empty)))]
pub async fn v2_deregister(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<Empty> {
    service::switch(&space.call(&state), req, Switch::Deregister).await?;
    Ok(Json(Empty {}))
}

/// `enable` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/enable", operation_id = "spaceone_v2_enable", tag = "SpaceONE",
    request_body = PluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn v2_enable(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<PluginInfo> {
    v2_switch(state, space, req, Switch::Enable).await
}

/// `disable` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/disable", operation_id = "spaceone_v2_disable", tag = "SpaceONE",
    request_body = PluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn v2_disable(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<PluginInfo> {
    v2_switch(state, space, req, Switch::Disable).await
}

/// `get_versions` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/get-versions", operation_id = "spaceone_v2_get_versions", tag = "SpaceONE",
    request_body = PluginRequest,
    responses((status = 200, description = "The versions", body = VersionsInfo)))]
pub async fn v2_versions(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<VersionsInfo> {
    service::versions(&space.call(&state), req).await.map(Json)
}

/// `get` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/get", operation_id = "spaceone_v2_get", tag = "SpaceONE",
    request_body = PluginRequest,
    responses((status = 200, description = "The plugin", body = PluginInfo)))]
pub async fn v2_get(
    State(state): State<AppState>,
    space: Space,
    SpaceJson(req): SpaceJson<PluginRequest>,
) -> Answer<Value> {
    service::get(&space.call(&state), req).await.map(Json)
}

/// `list` as today's releases call it.
#[utoipa::path(post, path = "/repository/v1/plugin/list", operation_id = "spaceone_v2_list", tag = "SpaceONE",
    request_body = PluginQuery,
    responses((status = 200, description = "The plugins", body = PluginsInfo)))]
pub async fn v2_list(
    state: State<AppState>,
    space: Space,
    q: SpaceJson<PluginQuery>,
) -> Answer<PluginsInfo> {
    search(state, space, q).await
}

/// `stat` with today's path form.
#[utoipa::path(post, path = "/repository/v1/plugin/stat", operation_id = "spaceone_v2_stat", tag = "SpaceONE",
    request_body = PluginStatQuery,
    responses((status = 200, description = "`{results}`", body = StatInfo)))]
pub async fn v2_stat(
    state: State<AppState>,
    space: Space,
    q: SpaceJson<PluginStatQuery>,
) -> Answer<StatInfo> {
    stat(state, space, q).await
}
