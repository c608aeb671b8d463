//! `GET /api/v1/discovery`: the OpenAPI document of the routes this server serves, generated
//! from the handlers' own annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{images, logs, manifests, organizations, repositories, tags};

#[derive(OpenApi)]
#[openapi(
    info(title = "Annals — Quay API v1", description = "The Red Hat Quay API v1 as served by Annals. Every change is an event."),
    paths(
        discovery,
        organizations::create, organizations::get, organizations::update, organizations::delete,
        repositories::create, repositories::list, repositories::get, repositories::update,
        repositories::change_visibility, repositories::change_state, repositories::delete,
        logs::repository_logs, logs::repository_aggregate, logs::organization_logs,
        logs::organization_aggregate, logs::user_logs, logs::user_aggregate,
        tags::list, tags::put, tags::delete, tags::restore, tags::images,
        manifests::get, manifests::labels, manifests::add_label, manifests::get_label,
        manifests::delete_label, manifests::security,
        images::list, images::get, images::security,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct QuayApi;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// List all of the API endpoints available in the swagger API format.
#[utoipa::path(get, path = "/api/v1/discovery", tag = "discovery", security(()),
    responses((status = 200, description = "This OpenAPI document")))]
pub async fn discovery() -> Json<utoipa::openapi::OpenApi> {
    Json(QuayApi::openapi())
}
