//! `GET /api/v1/discovery`: the OpenAPI document of the routes this server serves on its
//! management listener (Quay API v1 and the DigitalOcean Container Registry API), generated from
//! the handlers' own annotations. Errors every route can answer (401, 403, 404; 400, 409 and 422
//! where a request carries input or is a mutation) are added to each operation by
//! [`ErrorResponses`], in the shape of the operation's family; [`Links`] adds OpenAPI links from
//! the operations that create a resource to those that use it.

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use super::error::QuayErrorBody;
use super::{
    applications, apptokens, autoprune, exported_logs, images, log_exports, logs, manifests,
    messages, oauth, organizations, permissions, prototypes, repo_tokens, repositories, robots,
    search, service_keys, superuser, tags, teams, users,
};
// Repository mirroring.
use super::mirror;
// Proxy cache.
use super::proxy_cache;
// Namespace quotas.
use super::{quotas, superuser_quotas};
// Repository notifications.
use super::notifications;
use crate::docr;
use crate::docr::error::DoErrorBody;
use crate::events;
use crate::gerrit;
use crate::gerrit::docs::{AuthenticatedPaths, GerritErrorBody};
use crate::history::docs::TimeTravel;
use crate::ledger;
use crate::ledger::routes::LedgerErrorBody;
use crate::spaceone;
use crate::spaceone::error::SpaceErrorBody;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Annals — Quay API v1, DigitalOcean Container Registry API, SpaceONE Plugin API, Gerrit plugins API",
        description = "The Red Hat Quay API v1 (`/api/v1`), the DigitalOcean Container Registry API (`/v2/registry`), the SpaceONE repository Plugin API (`/repository/v1`) and the Gerrit plugins REST API (`/plugins/`, `/a/plugins/`; JSON answers start with Gerrit's `)]}'` line) as served by Annals, with its ledger (`/ledger/`) and event stream (`/events/v1/`: CloudEvents as NDJSON or SSE, webhook subscriptions). Every change is an event."),
    paths(
        discovery, crate::observe::healthz, crate::observe::readyz, crate::observe::metrics,
        organizations::create, organizations::get, organizations::update, organizations::delete,
        repositories::create, repositories::list, repositories::get, repositories::update,
        repositories::change_visibility, repositories::change_state, repositories::delete,
        logs::repository_logs, logs::repository_aggregate, logs::organization_logs,
        logs::organization_aggregate, logs::user_logs, logs::user_aggregate, logs::superuser_logs,
        log_exports::repository, log_exports::organization, log_exports::user,
        exported_logs::download,
        tags::list, tags::put, tags::delete, tags::restore, tags::images,
        manifests::get, manifests::labels, manifests::add_label, manifests::get_label,
        manifests::delete_label, manifests::security,
        images::list, images::get, images::security,
        users::me, users::get, users::starred, users::star, users::unstar,
        robots::org_list, robots::org_get, robots::org_create, robots::org_delete,
        robots::org_regenerate, robots::org_permissions,
        robots::user_list, robots::user_get, robots::user_create, robots::user_delete,
        robots::user_regenerate, robots::user_permissions,
        apptokens::list, apptokens::create, apptokens::get, apptokens::revoke,
        applications::list, applications::create, applications::get, applications::update,
        applications::delete, applications::reset_secret, applications::public,
        oauth::authorize,
        service_keys::list, service_keys::create, service_keys::get, service_keys::update,
        service_keys::delete, service_keys::approve,
        messages::list, messages::create, messages::delete,
        search::entities, search::find_repositories, search::find_all, search::error_description,
        prototypes::list, prototypes::create, prototypes::update, prototypes::delete,
        repo_tokens::list, repo_tokens::create, repo_tokens::get, repo_tokens::change,
        repo_tokens::delete,
        teams::put, teams::delete, teams::members, teams::add_member, teams::remove_member,
        teams::invite, teams::delete_invite, teams::permissions, teams::org_members,
        teams::org_member, teams::remove_org_member, teams::collaborators,
        permissions::list_users, permissions::list_teams, permissions::get, permissions::set,
        permissions::remove, permissions::transitive, permissions::get_team,
        permissions::set_team, permissions::remove_team,
        // Repository notifications.
        notifications::list, notifications::create, notifications::get, notifications::delete,
        notifications::reset, notifications::test,
        superuser::users, superuser::create_user, superuser::organizations,
        superuser::delete_organization, superuser::change_organization,
        docr::registry::create, docr::registry::get, docr::registry::delete,
        docr::registry::options, docr::registry::validate_name,
        docr::subscription::get, docr::subscription::update,
        docr::credentials::docker_credentials,
        docr::repositories::list, docr::repositories::list_v2, docr::repositories::tags,
        docr::repositories::delete_tag, docr::repositories::digests,
        docr::repositories::delete_manifest,
        docr::garbage_collection::start, docr::garbage_collection::active,
        docr::garbage_collection::update, docr::garbage_collection::list,
        spaceone::rest::register, spaceone::rest::update, spaceone::rest::deregister,
        spaceone::rest::enable, spaceone::rest::disable, spaceone::rest::versions,
        spaceone::rest::get, spaceone::rest::list, spaceone::rest::search, spaceone::rest::stat,
        spaceone::rest::v2_register, spaceone::rest::v2_update, spaceone::rest::v2_deregister,
        spaceone::rest::v2_enable, spaceone::rest::v2_disable, spaceone::rest::v2_versions,
        spaceone::rest::v2_get, spaceone::rest::v2_list, spaceone::rest::v2_stat,
        gerrit::list::list, gerrit::install::install, gerrit::actions::status,
        gerrit::actions::enable, gerrit::actions::disable, gerrit::actions::delete,
        gerrit::actions::reload,
        ledger::routes::checkpoint, ledger::routes::tile, ledger::routes::inclusion,
        ledger::routes::consistency, ledger::jobs::start, ledger::jobs::follow,
        events::stream::stream, events::subscriptions::create, events::subscriptions::list,
        events::subscriptions::get, events::subscriptions::delete, events::subscriptions::resume,
        // Namespace quotas and the registry size.
        quotas::org_list, quotas::org_create, quotas::org_get, quotas::org_change,
        quotas::org_delete, quotas::org_limits, quotas::org_create_limit, quotas::org_get_limit,
        quotas::org_change_limit, quotas::org_delete_limit, quotas::user_list, quotas::user_get,
        quotas::user_limits, quotas::user_get_limit,
        superuser_quotas::org_list, superuser_quotas::org_create, superuser_quotas::org_change,
        superuser_quotas::org_delete, superuser_quotas::user_list, superuser_quotas::user_create,
        superuser_quotas::user_change, superuser_quotas::user_delete,
        superuser_quotas::registry_size, superuser_quotas::queue_registry_size,
        // Auto-prune policies.
        autoprune::org_list, autoprune::org_create, autoprune::org_get, autoprune::org_update,
        autoprune::org_delete, autoprune::user_list, autoprune::user_create, autoprune::user_get,
        autoprune::user_update, autoprune::user_delete, autoprune::repo_list,
        autoprune::repo_create, autoprune::repo_get, autoprune::repo_update,
        autoprune::repo_delete,
        mirror::get, mirror::create, mirror::change, mirror::sync_now, mirror::sync_cancel,
        proxy_cache::get, proxy_cache::create, proxy_cache::delete, proxy_cache::validate,
    ),
    components(schemas(QuayErrorBody, DoErrorBody, SpaceErrorBody, GerritErrorBody, LedgerErrorBody)),
    modifiers(&BearerAuth, &AuthenticatedPaths, &TimeTravel, &ErrorResponses),
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

/// The routes that need no credentials: the document itself and the operator's.
pub const PUBLIC: [&str; 4] = ["/api/v1/discovery", "/healthz", "/readyz", "/metrics"];

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
            // Public routes that authenticate nobody and name no resource.
            if PUBLIC.contains(&path.as_str()) {
                continue;
            }
            // The ledger's routes are public too, and declare their own errors.
            if path.starts_with("/ledger/") {
                continue;
            }
            let gerrit = gerrit::docs::is_gerrit(path);
            let (schema, media_type) = if path.starts_with("/v2/") {
                ("DoErrorBody", "application/json")
            } else if path.starts_with("/repository/v1/") {
                ("SpaceErrorBody", "application/json")
            } else if gerrit {
                ("GerritErrorBody", "text/plain")
            } else {
                ("QuayErrorBody", "application/json")
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
                if mutation && gerrit {
                    // Gerrit takes no Idempotency-Key.
                    needed.push(("409", "Conflict"));
                } else if mutation {
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
                            media_type.to_owned(),
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

/// OpenAPI links from the operations that create a resource to those that read, change and
/// delete it, so that a client (or a stateful fuzzer) can follow them.
struct Links;

/// `(from operation, status, [(to operation, [(parameter, value)], request body)])`.
type LinkTable = [(
    &'static str,
    &'static str,
    &'static [(&'static str, &'static [(&'static str, &'static str)])],
)];

const REPO: &str = "{$response.body#/namespace}/{$response.body#/name}";
const ORG: &str = "$request.body#/name";
const REGISTRY: &str = "$response.body#/registry/name";
const NOTIFICATION: &[(&str, &str)] = &[
    ("repository", "$request.path.repository"),
    ("uuid", "$response.body#/uuid"),
];
const POLICY: &str = "$response.body#/uuid";

const LINKS: &LinkTable = &[
    // Auto-prune policies: from a created policy to the routes on it.
    (
        "createOrganizationAutoPrunePolicy",
        "201",
        &[
            (
                "getOrganizationAutoPrunePolicy",
                &[
                    ("orgname", "$request.path.orgname"),
                    ("policy_uuid", POLICY),
                ],
            ),
            (
                "updateOrganizationAutoPrunePolicy",
                &[
                    ("orgname", "$request.path.orgname"),
                    ("policy_uuid", POLICY),
                ],
            ),
            (
                "deleteOrganizationAutoPrunePolicy",
                &[
                    ("orgname", "$request.path.orgname"),
                    ("policy_uuid", POLICY),
                ],
            ),
        ],
    ),
    (
        "createUserAutoPrunePolicy",
        "201",
        &[
            ("getUserAutoPrunePolicy", &[("policy_uuid", POLICY)]),
            ("updateUserAutoPrunePolicy", &[("policy_uuid", POLICY)]),
            ("deleteUserAutoPrunePolicy", &[("policy_uuid", POLICY)]),
        ],
    ),
    (
        "createRepositoryAutoPrunePolicy",
        "201",
        &[
            (
                "getRepositoryAutoPrunePolicy",
                &[
                    ("repository", "$request.path.repository"),
                    ("policy_uuid", POLICY),
                ],
            ),
            (
                "updateRepositoryAutoPrunePolicy",
                &[
                    ("repository", "$request.path.repository"),
                    ("policy_uuid", POLICY),
                ],
            ),
            (
                "deleteRepositoryAutoPrunePolicy",
                &[
                    ("repository", "$request.path.repository"),
                    ("policy_uuid", POLICY),
                ],
            ),
        ],
    ),
    (
        "createOrganization",
        "201",
        &[
            ("getOrganization", &[("orgname", ORG)]),
            ("changeOrganizationDetails", &[("orgname", ORG)]),
            ("listOrgLogs", &[("orgname", ORG)]),
            ("getAggregateOrgLogs", &[("orgname", ORG)]),
            ("exportOrgLogs", &[("orgname", ORG)]),
            ("deleteAdminedOrganization", &[("orgname", ORG)]),
        ],
    ),
    (
        "createRepo",
        "201",
        &[
            ("getRepo", &[("repository", REPO)]),
            ("updateRepo", &[("repository", REPO)]),
            ("changeRepoVisibility", &[("repository", REPO)]),
            ("changeRepoState", &[("repository", REPO)]),
            ("listRepoLogs", &[("repository", REPO)]),
            ("getAggregateRepoLogs", &[("repository", REPO)]),
            ("exportRepoLogs", &[("repository", REPO)]),
            ("listRepoTags", &[("repository", REPO)]),
            ("listRepositoryImages", &[("repository", REPO)]),
            ("changeTag", &[("repository", REPO), ("tag", "latest")]),
            // Repository notifications.
            ("listRepoNotifications", &[("repository", REPO)]),
            ("createRepoNotification", &[("repository", REPO)]),
            ("deleteRepository", &[("repository", REPO)]),
        ],
    ),
    // Repository notifications: the one just made.
    (
        "createRepoNotification",
        "201",
        &[
            ("getRepoNotification", NOTIFICATION),
            ("deleteRepoNotification", NOTIFICATION),
            ("resetRepositoryNotificationFailures", NOTIFICATION),
            ("testRepoNotification", NOTIFICATION),
        ],
    ),
    (
        "registry_create",
        "201",
        &[
            ("registry_list_repositories", &[("registry_name", REGISTRY)]),
            (
                "registry_list_repositories_v2",
                &[("registry_name", REGISTRY)],
            ),
            (
                "registry_run_garbage_collection",
                &[("registry_name", REGISTRY)],
            ),
            (
                "registry_get_garbage_collection",
                &[("registry_name", REGISTRY)],
            ),
            (
                "registry_list_garbage_collections",
                &[("registry_name", REGISTRY)],
            ),
        ],
    ),
    (
        "registry_run_garbage_collection",
        "201",
        &[(
            "registry_update_garbage_collection",
            &[
                (
                    "registry_name",
                    "$response.body#/garbage_collection/registry_name",
                ),
                (
                    "garbage_collection_uuid",
                    "$response.body#/garbage_collection/uuid",
                ),
            ],
        )],
    ),
];

impl Links {
    /// Adds the links to the document's JSON (utoipa 5.5 serializes `Link` with snake_case
    /// keys, `operation_id`, which no OpenAPI reader knows; so they are written here).
    fn add(doc: &mut Value) {
        let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
            return;
        };
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in item.values_mut() {
                let Some(id) = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                else {
                    continue;
                };
                for (from, status, targets) in LINKS {
                    if *from != id {
                        continue;
                    }
                    let Some(response) = op.pointer_mut(&format!("/responses/{status}")) else {
                        continue;
                    };
                    let mut links = Map::new();
                    for (to, parameters) in targets.iter() {
                        let parameters: Map<String, Value> = parameters
                            .iter()
                            .map(|(name, value)| ((*name).to_owned(), json!(value)))
                            .collect();
                        links.insert(
                            (*to).to_owned(),
                            json!({"operationId": to, "parameters": parameters}),
                        );
                    }
                    // A repository in the organization just made.
                    if id == "createOrganization" {
                        links.insert(
                            "createRepo".to_owned(),
                            json!({
                                "operationId": "createRepo",
                                "requestBody": {
                                    "namespace": ORG,
                                    "repository": "web",
                                    "visibility": "private",
                                },
                            }),
                        );
                    }
                    response["links"] = Value::Object(links);
                }
            }
        }
    }
}

/// The document, serialized; built once when the server starts and kept in `AppState`.
pub fn document() -> bytes::Bytes {
    let mut doc = serde_json::to_value(QuayApi::openapi()).unwrap_or_default();
    Links::add(&mut doc);
    serde_json::to_vec(&doc).unwrap_or_default().into()
}

/// List all of the API endpoints available in the swagger API format.
#[utoipa::path(get, path = "/api/v1/discovery", operation_id = "discovery", tag = "discovery", security(()),
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
pub async fn discovery(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.discovery.clone(),
    )
}
