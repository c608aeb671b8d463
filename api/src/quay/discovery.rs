//! `GET /api/v1/discovery`: the OpenAPI document of the routes this server serves on its
//! management listener (Quay API v1 and the DigitalOcean Container Registry API), generated from
//! the handlers' own annotations. Errors every route can answer (401, 403, 404; 400, 409 and 422
//! where a request carries input or is a mutation) are added to each operation by
//! [`ErrorResponses`], in the shape of the operation's family.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use super::error::QuayErrorBody;
use super::{images, logs, manifests, organizations, repositories, tags};
use crate::docr;
use crate::docr::error::DoErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "Annals — Quay API v1 and DigitalOcean Container Registry API",
        description = "The Red Hat Quay API v1 (`/api/v1`) and the DigitalOcean Container Registry API (`/v2/registry`) as served by Annals. Every change is an event."),
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
        docr::registry::create, docr::registry::get, docr::registry::delete,
        docr::registry::options, docr::registry::validate_name,
        docr::subscription::get, docr::subscription::update,
        docr::credentials::docker_credentials,
        docr::repositories::list, docr::repositories::list_v2, docr::repositories::tags,
        docr::repositories::delete_tag, docr::repositories::digests,
        docr::repositories::delete_manifest,
        docr::garbage_collection::start, docr::garbage_collection::active,
        docr::garbage_collection::update, docr::garbage_collection::list,
    ),
    components(schemas(QuayErrorBody, DoErrorBody)),
    modifiers(&BearerAuth, &ErrorResponses),
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

/// Declares on every operation the errors the server answers on it, with the family's error
/// schema; an error response an annotation declares without a body gets the schema too.
struct ErrorResponses;

impl ErrorResponses {
    fn operations(item: &mut PathItem) -> Vec<(bool, &mut Operation)> {
        [
            (false, item.get.as_mut()),
            (true, item.put.as_mut()),
            (true, item.post.as_mut()),
            (true, item.delete.as_mut()),
            (true, item.patch.as_mut()),
        ]
        .into_iter()
        .filter_map(|(mutation, op)| op.map(|op| (mutation, op)))
        .collect()
    }
}

impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if path == "/api/v1/discovery" {
                continue;
            }
            let schema = if path.starts_with("/v2/") {
                "DoErrorBody"
            } else {
                "QuayErrorBody"
            };
            for (mutation, op) in Self::operations(item) {
                let has_input = op.request_body.is_some()
                    || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut needed = vec![
                    ("401", "Missing or invalid bearer token"),
                    ("403", "Not allowed"),
                    ("404", "No such resource"),
                ];
                if has_input || mutation {
                    needed.push(("400", "Malformed request"));
                }
                if mutation {
                    needed.push((
                        "409",
                        "Conflict, or the same Idempotency-Key still in flight",
                    ));
                    needed.push(("422", "Idempotency-Key reused for another request"));
                }
                if path.starts_with("/v2/") && has_input {
                    needed.push(("422", "Invalid argument"));
                }
                let responses = &mut op.responses.responses;
                for (status, description) in needed {
                    responses.entry(status.to_owned()).or_insert_with(|| {
                        RefOr::T(ResponseBuilder::new().description(description).build())
                    });
                }
                for (status, response) in responses.iter_mut() {
                    if let (true, RefOr::T(response)) = (status.starts_with('4'), response)
                        && response.content.is_empty()
                    {
                        response.content.insert(
                            "application/json".to_owned(),
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name(schema)))
                                .build(),
                        );
                    }
                }
            }
        }
    }
}

/// List all of the API endpoints available in the swagger API format.
#[utoipa::path(get, path = "/api/v1/discovery", operation_id = "discovery", tag = "discovery", security(()),
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
pub async fn discovery() -> Json<utoipa::openapi::OpenApi> {
    Json(QuayApi::openapi())
}
