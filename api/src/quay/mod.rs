//! The Red Hat Quay API v1 family (`/api/v1/...`), as `../shared/api-docs/` gives it: handlers
//! turn requests into commands and queries, and answer Quay's shapes and errors.

pub mod discovery;
pub mod error;
pub mod extract;
pub mod images;
pub mod log_entry;
pub mod log_range;
pub mod logs;
pub mod manifests;
pub mod organizations;
pub mod repositories;
pub mod tags;

use axum::Router;
use axum::routing::{any, get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/discovery", get(discovery::discovery))
        .route("/api/v1/organization/", post(organizations::create))
        .route(
            "/api/v1/organization/{orgname}",
            get(organizations::get)
                .put(organizations::update)
                .delete(organizations::delete),
        )
        .route(
            "/api/v1/organization/{orgname}/logs",
            get(logs::organization_logs),
        )
        .route(
            "/api/v1/organization/{orgname}/aggregatelogs",
            get(logs::organization_aggregate),
        )
        .route(
            "/api/v1/repository",
            post(repositories::create).get(repositories::list),
        )
        .route(
            "/api/v1/repository/{*repository}",
            any(repositories::dispatch),
        )
        .route("/api/v1/user/logs", get(logs::user_logs))
        .route("/api/v1/user/aggregatelogs", get(logs::user_aggregate))
        .fallback(|| async { error::QuayError::not_found("No such API route") })
}
