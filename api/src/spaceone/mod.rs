//! The SpaceONE repository Plugin API (`spaceone.api.repository.v1.Plugin`): plugins are
//! images of this registry registered for a SpaceONE domain, which is an Annals organization.
//!
//! - [`rest`]: the repository API document's routes (`/repository/v1/plugins...`) and today's
//!   releases' `POST /repository/v1/plugin/<method>`;
//! - [`grpc`]: the same service natively over gRPC, with server reflection; [`capped`] its
//!   listener's connection cap;
//! - [`service`]: the operations both call (access checks, commands, queries);
//! - [`model`] the JSON messages, [`convert`] the protobuf ones to and from them, [`query`]
//!   SpaceONE's query language, [`error`] its error shapes.

pub mod capped;
pub mod convert;
pub mod error;
pub mod grpc;
pub mod model;
pub mod proto;
pub mod query;
pub mod rest;
pub mod service;

use axum::Router;
use axum::routing::{get, post, put};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/repository/v1/plugins",
            post(rest::register).get(rest::list),
        )
        .route("/repository/v1/plugins/search", post(rest::search))
        .route("/repository/v1/plugins/stat", post(rest::stat))
        .route("/repository/v1/plugins/{plugin_id}", get(rest::get))
        .route(
            "/repository/v1/plugins/{plugin_id}/versions",
            get(rest::versions),
        )
        .route(
            "/repository/v1/plugin/{plugin_id}",
            put(rest::update).delete(rest::deregister),
        )
        .route(
            "/repository/v1/plugin/{plugin_id}/enable",
            put(rest::enable),
        )
        .route(
            "/repository/v1/plugin/{plugin_id}/disable",
            put(rest::disable),
        )
        .route("/repository/v1/plugin/register", post(rest::v2_register))
        .route("/repository/v1/plugin/update", post(rest::v2_update))
        .route(
            "/repository/v1/plugin/deregister",
            post(rest::v2_deregister),
        )
        .route("/repository/v1/plugin/enable", post(rest::v2_enable))
        .route("/repository/v1/plugin/disable", post(rest::v2_disable))
        .route(
            "/repository/v1/plugin/get-versions",
            post(rest::v2_versions),
        )
        .route("/repository/v1/plugin/get", post(rest::v2_get))
        .route("/repository/v1/plugin/list", post(rest::v2_list))
        .route("/repository/v1/plugin/stat", post(rest::v2_stat))
}
