//! `PUT /plugins/{id}` (and `{id}.jar`): installs a plugin, from the jar sent as the body or
//! from the URL of a JSON `PluginInput`. The jar streams into an upload session (capped), is
//! opened as a zip and its `META-INF/MANIFEST.MF` read; anything that is not a plugin jar is
//! 400 with the session dropped (nothing stored, no event). Otherwise the upload completes into
//! the content-addressed blob store and the install is recorded: 201 for a new plugin, 200 when
//! it overwrote one. The manifest's `Gerrit-PluginName` takes precedence over the path's id.

use std::error::Error as _;

use annals_domain::gerrit_plugin::{self, GerritPluginCommand, Jar};
use annals_store::blobs::UploadError;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::{AdministrateServer, Capable};
use super::error::GerritError;
use super::fetch::{self, Source};
use super::jar::{self, JarError};
use super::reply::PluginInfo;
use super::{actions, strip_jar};
use crate::state::AppState;

/// The largest JSON `PluginInput` body.
pub const MAX_JSON_BYTES: usize = 64 << 10;

/// The upload sessions of plugin installs are counted under this name.
const SESSIONS: &str = "gerrit:plugins";

/// The `PluginInput` entity: a plugin that should be installed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PluginInput {
    /// URL to the plugin jar: `file:` (inside the server's plugin directory), `http:` or
    /// `https:`.
    pub url: String,
}

/// A plugin jar, as the raw request body.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct JarBody(#[allow(dead_code)] Vec<u8>);

fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The source a JSON `PluginInput` names.
async fn plugin_input(state: &AppState, parts: &Parts, body: Body) -> Result<Source, GerritError> {
    let too_large = || {
        GerritError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a PluginInput is at most {MAX_JSON_BYTES} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_JSON_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_JSON_BYTES)
        .await
        .map_err(|e| {
            let limited = e
                .source()
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if limited {
                too_large()
            } else {
                GerritError::bad_request("the request body broke off")
            }
        })?;
    let input: PluginInput = serde_json::from_slice(&bytes).map_err(|e| {
        GerritError::bad_request(format!("malformed PluginInput: {}", first_line(&e)))
    })?;
    fetch::resolve(&state.gerrit, &input.url).await
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// Fills the upload from `source` and reads the jar: answers the plugin's id and its jar.
async fn stage(
    state: &AppState,
    id: Uuid,
    source: Source,
    path_id: &str,
) -> Result<(String, Jar), GerritError> {
    fetch::fill(state, id, source).await?;
    let path = state.blobs.upload_data_path(id).await?;
    let manifest = jar::read_manifest(path).await.map_err(|e| match e {
        JarError::Io(m) => GerritError::internal(m),
        e => GerritError::bad_request(e.to_string()),
    })?;
    let plugin_id = manifest
        .plugin_name
        .clone()
        .unwrap_or_else(|| path_id.to_owned());
    let plugin_id = gerrit_plugin::parse_id(&plugin_id)?;
    let (digest, size) = state.blobs.upload_sha256(id).await?;
    let jar = Jar::new(digest, size, &manifest)?;
    Ok((plugin_id, jar))
}

/// Installs a new plugin on the Gerrit server, or overwrites the installed one.
#[utoipa::path(put, path = "/plugins/{plugin_id}", operation_id = "gerrit_install_plugin", tag = "gerrit",
    params(("plugin_id" = String, Path, description = "The ID of the plugin (a trailing `.jar` is dropped); the jar manifest's `Gerrit-PluginName` takes precedence")),
    request_body(description = "The jar as the body (any content type but JSON), or a `PluginInput` naming its URL",
        content((PluginInput = "application/json"), (JarBody = "application/octet-stream"))),
    responses(
        (status = 201, description = "Installed", body = PluginInfo, content_type = "application/json"),
        (status = 200, description = "An installed plugin was overwritten", body = PluginInfo, content_type = "application/json"),
        (status = 400, description = "Not a plugin jar, a malformed PluginInput, a URL that cannot be used, or an invalid plugin name"),
        (status = 413, description = "The jar (or the PluginInput) is larger than allowed"),
        (status = 429, description = "Too many uploads in progress"),
    ))]
pub async fn install(
    State(state): State<AppState>,
    admin: Capable<AdministrateServer>,
    Path(raw_id): Path<String>,
    request: Request,
) -> Result<Response, GerritError> {
    let path_id = gerrit_plugin::parse_id(strip_jar(&raw_id))?;
    let (parts, body) = request.into_parts();
    let source = if is_json(&parts) {
        plugin_input(&state, &parts, body).await?
    } else {
        fetch::check_declared_length(&state.gerrit, &parts.headers)?;
        Source::Body(body)
    };
    let described = source.describe();
    let upload = state
        .blobs
        .start_upload(
            SESSIONS,
            &admin.caller.user_id.to_string(),
            state.upload_limits,
        )
        .await?;
    let staged = stage(&state, upload.id, source, &path_id).await;
    let (plugin_id, jar) = match staged {
        Ok(staged) => staged,
        Err(e) => {
            cancel(&state, upload.id).await;
            return Err(e);
        }
    };
    if let Err(e) = state.blobs.complete_upload(upload.id, &jar.digest).await {
        cancel(&state, upload.id).await;
        return Err(e.into());
    }
    let outcome = state
        .commands
        .gerrit_plugin_command(
            &admin.envelope,
            &plugin_id,
            GerritPluginCommand::Install {
                plugin_id: plugin_id.clone(),
                jar,
                source: described,
            },
        )
        .await?;
    state.settle(&outcome.done).await;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    actions::answer(&state, &parts, &plugin_id, status).await
}

async fn cancel(state: &AppState, id: Uuid) {
    match state.blobs.cancel_upload(id).await {
        Ok(()) | Err(UploadError::Unknown) => {}
        Err(e) => tracing::warn!("could not drop the upload of a refused plugin jar: {e}"),
    }
}
