//! The Red Hat Quay API v1 family (`/api/v1/...`), as `../shared/api-docs/` gives it: handlers
//! turn requests into commands and queries, and answer Quay's shapes and errors.

pub mod applications;
pub mod apptokens;
// Auto-prune policies (issue 14 part 2).
pub mod autoprune;
pub mod discovery;
pub mod error;
pub mod exported_logs;
pub mod extract;
pub mod guard;
pub mod images;
pub mod log_entry;
pub mod log_exports;
pub mod log_range;
pub mod logs;
pub mod manifests;
pub mod messages;
// Repository notifications.
pub mod mirror;
pub mod notifications;
pub mod oauth;
pub mod organizations;
pub mod permissions;
pub mod prototypes;
pub mod proxy_cache;
pub mod quota_size;
pub mod quotas;
pub mod repo_tokens;
pub mod repositories;
pub mod robots;
pub mod search;
pub mod service_keys;
pub mod superuser;
pub mod superuser_quotas;
pub mod tags;
pub mod teams;
pub mod users;

use axum::Router;
use axum::routing::{any, delete, get, post};

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
            "/api/v1/organization/{orgname}/exportlogs",
            post(log_exports::organization),
        )
        .route("/api/v1/user/exportlogs", post(log_exports::user))
        .route("/exportedlogs/{export_id}", get(exported_logs::download))
        .route(
            "/api/v1/repository",
            post(repositories::create).get(repositories::list),
        )
        .route(
            "/api/v1/repository/{*repository}",
            any(repositories::dispatch),
        )
        .route("/api/v1/user/", get(users::me))
        .route("/api/v1/users/{username}", get(users::get))
        .route(
            "/api/v1/user/starred",
            get(users::starred).post(users::star),
        )
        .route("/api/v1/user/starred/{*repository}", delete(users::unstar))
        .route("/api/v1/user/robots", get(robots::user_list))
        .route(
            "/api/v1/user/robots/{robot_shortname}",
            get(robots::user_get)
                .put(robots::user_create)
                .delete(robots::user_delete),
        )
        .route(
            "/api/v1/user/robots/{robot_shortname}/permissions",
            get(robots::user_permissions),
        )
        .route(
            "/api/v1/user/robots/{robot_shortname}/regenerate",
            post(robots::user_regenerate),
        )
        .route(
            "/api/v1/organization/{orgname}/robots",
            get(robots::org_list),
        )
        .route(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}",
            get(robots::org_get)
                .put(robots::org_create)
                .delete(robots::org_delete),
        )
        .route(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}/permissions",
            get(robots::org_permissions),
        )
        .route(
            "/api/v1/organization/{orgname}/robots/{robot_shortname}/regenerate",
            post(robots::org_regenerate),
        )
        .route(
            "/api/v1/user/apptoken",
            get(apptokens::list).post(apptokens::create),
        )
        .route(
            "/api/v1/user/apptoken/{token_uuid}",
            get(apptokens::get).delete(apptokens::revoke),
        )
        .route(
            "/api/v1/organization/{orgname}/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/api/v1/organization/{orgname}/applications/{client_id}",
            get(applications::get)
                .put(applications::update)
                .delete(applications::delete),
        )
        .route(
            "/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret",
            post(applications::reset_secret),
        )
        .route("/api/v1/app/{client_id}", get(applications::public))
        .route("/oauth/authorize", get(oauth::authorize))
        .route(
            "/api/v1/superuser/users/",
            get(superuser::users).post(superuser::create_user),
        )
        .route(
            "/api/v1/superuser/organizations",
            get(superuser::organizations),
        )
        .route(
            "/api/v1/superuser/organizations/{name}",
            delete(superuser::delete_organization).put(superuser::change_organization),
        )
        .route(
            "/api/v1/organization/{orgname}/team/{teamname}",
            axum::routing::put(teams::put).delete(teams::delete),
        )
        .route(
            "/api/v1/organization/{orgname}/team/{teamname}/members",
            get(teams::members),
        )
        .route(
            "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}",
            axum::routing::put(teams::add_member).delete(teams::remove_member),
        )
        .route(
            "/api/v1/organization/{orgname}/team/{teamname}/invite/{email}",
            axum::routing::put(teams::invite).delete(teams::delete_invite),
        )
        .route(
            "/api/v1/organization/{orgname}/team/{teamname}/permissions",
            get(teams::permissions),
        )
        .route(
            "/api/v1/organization/{orgname}/members",
            get(teams::org_members),
        )
        .route(
            "/api/v1/organization/{orgname}/members/{membername}",
            get(teams::org_member).delete(teams::remove_org_member),
        )
        .route(
            "/api/v1/organization/{orgname}/collaborators",
            get(teams::collaborators),
        )
        .route(
            "/api/v1/organization/{orgname}/prototypes",
            get(prototypes::list).post(prototypes::create),
        )
        .route(
            "/api/v1/organization/{orgname}/prototypes/{prototypeid}",
            axum::routing::put(prototypes::update).delete(prototypes::delete),
        )
        // Auto-prune policies of an organization and of the caller's namespace (a
        // repository's are routed by `repositories::dispatch`).
        .route(
            "/api/v1/organization/{orgname}/autoprunepolicy/",
            get(autoprune::org_list).post(autoprune::org_create),
        )
        .route(
            "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}",
            get(autoprune::org_get)
                .put(autoprune::org_update)
                .delete(autoprune::org_delete),
        )
        .route(
            "/api/v1/user/autoprunepolicy/",
            get(autoprune::user_list).post(autoprune::user_create),
        )
        .route(
            "/api/v1/user/autoprunepolicy/{policy_uuid}",
            get(autoprune::user_get)
                .put(autoprune::user_update)
                .delete(autoprune::user_delete),
        )
        .route("/api/v1/entities/{prefix}", get(search::entities))
        .route("/api/v1/find/repositories", get(search::find_repositories))
        .route("/api/v1/find/all", get(search::find_all))
        .route("/api/v1/error/{error_type}", get(search::error_description))
        .route("/api/v1/superuser/logs", get(logs::superuser_logs))
        .route(
            "/api/v1/superuser/keys",
            get(service_keys::list).post(service_keys::create),
        )
        .route(
            "/api/v1/superuser/keys/{kid}",
            get(service_keys::get)
                .put(service_keys::update)
                .delete(service_keys::delete),
        )
        .route(
            "/api/v1/superuser/approvedkeys/{kid}",
            post(service_keys::approve),
        )
        .route(
            "/api/v1/messages",
            get(messages::list).post(messages::create),
        )
        .route("/api/v1/message/{uuid}", delete(messages::delete))
        .route("/api/v1/user/logs", get(logs::user_logs))
        .route("/api/v1/user/aggregatelogs", get(logs::user_aggregate))
        // Proxy cache.
        .route(
            "/api/v1/organization/{orgname}/proxycache",
            get(proxy_cache::get)
                .post(proxy_cache::create)
                .delete(proxy_cache::delete),
        )
        .route(
            "/api/v1/organization/{orgname}/validateproxycache",
            post(proxy_cache::validate),
        )
        // Namespace quotas and the registry size.
        .route(
            "/api/v1/organization/{orgname}/quota",
            get(quotas::org_list).post(quotas::org_create),
        )
        .route(
            "/api/v1/organization/{orgname}/quota/{quota_id}",
            get(quotas::org_get)
                .put(quotas::org_change)
                .delete(quotas::org_delete),
        )
        .route(
            "/api/v1/organization/{orgname}/quota/{quota_id}/limit",
            get(quotas::org_limits).post(quotas::org_create_limit),
        )
        .route(
            "/api/v1/organization/{orgname}/quota/{quota_id}/limit/{limit_id}",
            get(quotas::org_get_limit)
                .put(quotas::org_change_limit)
                .delete(quotas::org_delete_limit),
        )
        .route("/api/v1/user/quota", get(quotas::user_list))
        .route("/api/v1/user/quota/{quota_id}", get(quotas::user_get))
        .route(
            "/api/v1/user/quota/{quota_id}/limit",
            get(quotas::user_limits),
        )
        .route(
            "/api/v1/user/quota/{quota_id}/limit/{limit_id}",
            get(quotas::user_get_limit),
        )
        .route(
            "/api/v1/superuser/organization/{namespace}/quota",
            get(superuser_quotas::org_list).post(superuser_quotas::org_create),
        )
        .route(
            "/api/v1/superuser/organization/{namespace}/quota/{quota_id}",
            axum::routing::put(superuser_quotas::org_change).delete(superuser_quotas::org_delete),
        )
        .route(
            "/api/v1/superuser/users/{namespace}/quota",
            get(superuser_quotas::user_list).post(superuser_quotas::user_create),
        )
        .route(
            "/api/v1/superuser/users/{namespace}/quota/{quota_id}",
            axum::routing::put(superuser_quotas::user_change).delete(superuser_quotas::user_delete),
        )
        .route(
            "/api/v1/superuser/registrysize/",
            get(superuser_quotas::registry_size).post(superuser_quotas::queue_registry_size),
        )
        .fallback(|| async { error::QuayError::not_found("No such API route") })
}
