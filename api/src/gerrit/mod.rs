//! The Gerrit plugins REST API (`/plugins/`), as `../shared/api-docs/gerrit-plugins-rest-api.txt`
//! gives it: list, install, status, enable, disable (or delete), reload. Every route is served
//! twice, as in Gerrit: under `/plugins/...` (the anonymous path, which also honours an Annals
//! bearer token) and under `/a/plugins/...` (HTTP basic auth); see [`auth`]. JSON answers carry
//! Gerrit's `)]}'` line ([`reply`]); errors are plain text ([`error`]).
//!
//! - [`list`]: `GET /plugins/` and its options.
//! - [`install`]: `PUT /plugins/{id}`, with [`fetch`] (where the jar comes from) and [`jar`]
//!   (reading its manifest).
//! - [`actions`]: status, enable, disable, delete, reload.
//! - [`docs`]: the `/a/` twins of the operations in the OpenAPI document.

pub mod actions;
pub mod auth;
pub mod docs;
pub mod error;
pub mod fetch;
pub mod install;
pub mod jar;
pub mod list;
pub mod reply;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::{get, post, put};

use crate::config::ServeArgs;
use crate::state::AppState;

/// What the Gerrit routes are configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The directory `file:` URLs may name jars in (canonical).
    pub plugin_dir: PathBuf,
    /// The largest jar an install may store.
    pub max_jar_bytes: u64,
    /// Plugins that may not be disabled (Gerrit's `plugins.mandatory`).
    pub mandatory: BTreeSet<String>,
    /// The client `http(s):` jars are fetched with (timeouts, few redirects).
    pub http: reqwest::Client,
}

impl Settings {
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Settings> {
        let dir = args
            .gerrit_plugin_dir
            .clone()
            .unwrap_or_else(|| args.storage.data_dir.join("gerrit-plugins"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("making the Gerrit plugin directory {}", dir.display()))?;
        let plugin_dir = std::fs::canonicalize(&dir)
            .with_context(|| format!("resolving the Gerrit plugin directory {}", dir.display()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(args.gerrit_fetch_timeout_s))
            .connect_timeout(Duration::from_secs(args.gerrit_fetch_timeout_s.min(10)))
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("annals/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client for Gerrit plugin jars")?;
        Ok(Settings {
            plugin_dir,
            max_jar_bytes: args.gerrit_max_jar_bytes,
            mandatory: args
                .gerrit_mandatory_plugins
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            http,
        })
    }
}

/// A plugin id as a path names it: `x.jar` is plugin `x`.
pub fn strip_jar(id: &str) -> &str {
    id.strip_suffix(".jar").unwrap_or(id)
}

/// Where the routes are served: Gerrit's anonymous path and its authenticated one.
pub const PREFIXES: [&str; 2] = ["", "/a"];

pub fn router() -> Router<AppState> {
    PREFIXES.iter().fold(Router::new(), |router, prefix| {
        router
            .route(&format!("{prefix}/plugins/"), get(list::list))
            .route(
                &format!("{prefix}/plugins/{{plugin_id}}"),
                put(install::install).delete(actions::delete),
            )
            .route(
                &format!("{prefix}/plugins/{{plugin_id}}/gerrit~status"),
                get(actions::status),
            )
            .route(
                &format!("{prefix}/plugins/{{plugin_id}}/gerrit~enable"),
                post(actions::enable),
            )
            .route(
                &format!("{prefix}/plugins/{{plugin_id}}/gerrit~disable"),
                post(actions::disable),
            )
            .route(
                &format!("{prefix}/plugins/{{plugin_id}}/gerrit~reload"),
                post(actions::reload),
            )
    })
}
