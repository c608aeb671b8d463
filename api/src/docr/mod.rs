//! The DigitalOcean Container Registry API (`/v2/registry...`), as `../shared/api-docs/` gives
//! it (with `repositories/` in the repository-scoped paths, as ENDPOINTS.md says): one registry
//! per account over the organization of the same name, its subscription, repositories, tags and
//! manifests, garbage collections and docker credentials. Errors are `{"id", "message"}`.

pub mod credentials;
pub mod error;
pub mod extract;
pub mod garbage_collection;
pub mod registry;
pub mod repositories;
pub mod subscription;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/registry",
            post(registry::create)
                .get(registry::get)
                .delete(registry::delete),
        )
        .route("/v2/registry/options", get(registry::options))
        .route("/v2/registry/validate-name", post(registry::validate_name))
        .route(
            "/v2/registry/subscription",
            get(subscription::get).post(subscription::update),
        )
        .route(
            "/v2/registry/docker-credentials",
            get(credentials::docker_credentials),
        )
        .route(
            "/v2/registry/{registry_name}/repositories",
            get(repositories::list),
        )
        .route(
            "/v2/registry/{registry_name}/repositoriesV2",
            get(repositories::list_v2),
        )
        .route(
            "/v2/registry/{registry_name}/repositories/{repository_name}/tags",
            get(repositories::tags),
        )
        .route(
            "/v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}",
            delete(repositories::delete_tag),
        )
        .route(
            "/v2/registry/{registry_name}/repositories/{repository_name}/digests",
            get(repositories::digests),
        )
        .route(
            "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
            delete(repositories::delete_manifest),
        )
        .route(
            "/v2/registry/{registry_name}/garbage-collection",
            post(garbage_collection::start).get(garbage_collection::active),
        )
        .route(
            "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}",
            put(garbage_collection::update),
        )
        .route(
            "/v2/registry/{registry_name}/garbage-collections",
            get(garbage_collection::list),
        )
}
