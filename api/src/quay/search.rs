//! Search: entities by name prefix (`/entities/{prefix}`), repositories and everything by text
//! (`/find/repositories`, `/find/all`), each filtered to what the caller may see; and Quay's
//! error descriptions (`/error/{error_type}`).

use annals_projections::queries::access::Viewer;
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::repositories::{self, RepositoryView};
use annals_projections::queries::{robots, teams};
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::{MAX_PAGE, QuayQuery, bounded};
use super::guard::{Account, MaybeCaller};
use super::organizations::{Avatar, avatar};
use crate::access::{Caller, standing};
use crate::state::AppState;
use annals_domain::access::{Need, allows};

/// Results an entity search answers, at most.
const ENTITIES: i64 = 20;
/// Repositories per page of a search.
const FIND_PAGE: usize = 10;
/// The longest search text.
const MAX_QUERY: usize = 255;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entity {
    pub name: String,
    /// `user`, `team` or `org`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_robot: Option<bool>,
    pub avatar: Avatar,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_org_member: Option<bool>,
}

/// `{results: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Entities {
    pub results: Vec<Entity>,
}

#[derive(Debug, Deserialize)]
pub struct EntityParams {
    namespace: Option<String>,
    #[serde(default, rename = "includeTeams")]
    include_teams: bool,
    #[serde(default, rename = "includeOrgs")]
    include_orgs: bool,
}

/// Get a list of entities that match the specified prefix: users, and — in a namespace the
/// caller is a member of — its robots and teams.
#[utoipa::path(get, path = "/api/v1/entities/{prefix}", operation_id = "getMatchingEntities", tag = "search",
    params(("prefix" = String, Path), ("namespace" = Option<String>, Query), ("includeTeams" = Option<bool>, Query),
        ("includeOrgs" = Option<bool>, Query)),
    responses((status = 200, description = "`{results: [...]}`", body = Entities)))]
pub async fn entities(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(prefix): Path<String>,
    QuayQuery(params): QuayQuery<EntityParams>,
) -> Result<Json<Entities>, QuayError> {
    if prefix.len() > MAX_QUERY {
        return Err(QuayError::invalid_request("The prefix is too long"));
    }
    let db = state.db();
    let mut results = Vec::new();
    // The namespace's robots and teams, for its members only.
    let namespace = match &params.namespace {
        Some(n) => namespaces::by_name(db.as_ref(), n).await?,
        None => None,
    };
    let member_of = match &namespace {
        Some(ns) => member(&state, &ctx.caller, ns).await?,
        None => false,
    };
    if let (Some(ns), true) = (&namespace, member_of) {
        let robot_prefix = format!("{}+{prefix}", ns.name);
        for r in robots::list(db.as_ref(), ns.id, robots::MAX_ROBOTS).await? {
            if r.name.starts_with(&robot_prefix) && (results.len() as i64) < ENTITIES {
                results.push(Entity {
                    avatar: avatar(&r.name, "user"),
                    name: r.name,
                    kind: "user".into(),
                    is_robot: Some(true),
                    is_org_member: Some(true),
                });
            }
        }
        if params.include_teams && ns.is_organization() {
            for t in teams::list(db.as_ref(), ns.id).await? {
                if t.name.starts_with(&prefix) && (results.len() as i64) < ENTITIES {
                    results.push(Entity {
                        avatar: avatar(&t.name, "team"),
                        name: t.name,
                        kind: "team".into(),
                        is_robot: None,
                        is_org_member: None,
                    });
                }
            }
        }
    }
    for u in namespaces::with_prefix(db.as_ref(), "user", &prefix, ENTITIES).await? {
        let in_org = match namespace
            .as_ref()
            .filter(|n| n.is_organization() && member_of)
        {
            Some(org) => Some(
                !robots::teams_of(db.as_ref(), org.id, u.id)
                    .await?
                    .is_empty(),
            ),
            None => None,
        };
        results.push(Entity {
            avatar: avatar(&u.name, "user"),
            name: u.name,
            kind: "user".into(),
            is_robot: Some(false),
            is_org_member: in_org,
        });
    }
    if params.include_orgs {
        for o in namespaces::with_prefix(db.as_ref(), "organization", &prefix, ENTITIES).await? {
            results.push(Entity {
                avatar: avatar(&o.name, "org"),
                name: o.name,
                kind: "org".into(),
                is_robot: None,
                is_org_member: None,
            });
        }
    }
    results.truncate(ENTITIES as usize);
    Ok(Json(Entities { results }))
}

/// Whether the caller may see the namespace's members (a search narrows what it answers; it
/// refuses nothing, so nothing is recorded).
async fn member(state: &AppState, caller: &Caller, ns: &NamespaceView) -> Result<bool, QuayError> {
    let held = standing::namespace(state, caller, ns.id).await?;
    Ok(allows(&caller.subject, &Need::ViewNamespace(held)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundNamespace {
    pub name: String,
    /// `user` or `org`.
    pub kind: String,
    pub avatar: Avatar,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundRepository {
    /// `repository`.
    pub kind: String,
    pub name: String,
    pub namespace: FoundNamespace,
    pub description: String,
    pub is_public: bool,
    pub score: f64,
    pub href: String,
    /// Seconds since the epoch.
    pub last_modified: i64,
}

/// `{results, has_additional, page, page_size, start_index}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundRepositories {
    pub results: Vec<FoundRepository>,
    pub has_additional: bool,
    pub page: u64,
    pub page_size: usize,
    pub start_index: u64,
}

#[derive(Debug, Deserialize)]
pub struct FindParams {
    #[serde(default)]
    query: String,
    page: Option<u64>,
}

fn found(r: RepositoryView, org: bool) -> FoundRepository {
    let kind = if org { "org" } else { "user" };
    FoundRepository {
        kind: "repository".into(),
        href: format!("/repository/{}/{}", r.namespace, r.name),
        namespace: FoundNamespace {
            avatar: avatar(&r.namespace, kind),
            name: r.namespace.clone(),
            kind: kind.into(),
        },
        description: r.description,
        is_public: r.visibility == "public",
        score: 1.0,
        last_modified: r.last_modified / 1_000_000,
        name: r.name,
    }
}

fn viewer(caller: &Option<Caller>) -> Viewer {
    caller.as_ref().map_or(Viewer::Anonymous, Caller::viewer)
}

/// Get a list of apps and repositories that match the specified query.
#[utoipa::path(get, path = "/api/v1/find/repositories", operation_id = "getMatchingRepositories", tag = "search",
    params(("query" = String, Query, description = "The search query"),
        ("page" = Option<u64>, Query, minimum = 1, maximum = 100_000, description = "The page")),
    responses((status = 200, description = "`{results, has_additional, page, page_size, start_index}`", body = FoundRepositories)))]
pub async fn find_repositories(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    QuayQuery(params): QuayQuery<FindParams>,
) -> Result<Json<FoundRepositories>, QuayError> {
    if params.query.len() > MAX_QUERY {
        return Err(QuayError::invalid_request("The query is too long"));
    }
    let page = bounded("page", params.page, 1, 1, MAX_PAGE)?;
    let start = (page - 1) * FIND_PAGE as u64;
    let db = state.db();
    let (repos, more) = repositories::search(
        db.as_ref(),
        viewer(&caller),
        &params.query,
        start as i64,
        FIND_PAGE,
    )
    .await?;
    let mut results = Vec::with_capacity(repos.len());
    for r in repos {
        let org = namespaces::by_id(db.as_ref(), r.namespace_id)
            .await?
            .is_some_and(|n| n.is_organization());
        results.push(found(r, org));
    }
    Ok(Json(FoundRepositories {
        results,
        has_additional: more,
        page,
        page_size: FIND_PAGE,
        start_index: start,
    }))
}

/// One result of `/find/all`: a repository, a user or an organization.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundEntity {
    /// `repository`, `user` or `organization`.
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<FoundNamespace>,
    pub avatar: Avatar,
    pub href: String,
    pub score: f64,
}

/// `{results: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundAll {
    pub results: Vec<FoundEntity>,
}

/// Get a list of entities and resources that match the specified query.
#[utoipa::path(get, path = "/api/v1/find/all", operation_id = "conductSearch", tag = "search",
    params(("query" = String, Query, description = "The search query")),
    responses((status = 200, description = "`{results: [...]}`", body = FoundAll)))]
pub async fn find_all(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    QuayQuery(params): QuayQuery<FindParams>,
) -> Result<Json<FoundAll>, QuayError> {
    if params.query.len() > MAX_QUERY {
        return Err(QuayError::invalid_request("The query is too long"));
    }
    let db = state.db();
    let mut results = Vec::new();
    if !params.query.is_empty() {
        for (kind, shown) in [("user", "user"), ("organization", "org")] {
            for n in namespaces::with_prefix(db.as_ref(), kind, &params.query, ENTITIES).await? {
                results.push(FoundEntity {
                    kind: kind.into(),
                    avatar: avatar(&n.name, shown),
                    href: format!(
                        "/{}/{}",
                        if kind == "user" {
                            "user"
                        } else {
                            "organization"
                        },
                        n.name
                    ),
                    name: n.name,
                    namespace: None,
                    score: 1.0,
                });
            }
        }
    }
    let (repos, _) = repositories::search(
        db.as_ref(),
        viewer(&caller),
        &params.query,
        0,
        ENTITIES as usize,
    )
    .await?;
    for r in repos {
        let f = found(r, false);
        results.push(FoundEntity {
            kind: "repository".into(),
            avatar: avatar(&f.name, "repository"),
            name: f.name,
            href: f.href,
            namespace: Some(f.namespace),
            score: f.score,
        });
    }
    Ok(Json(FoundAll { results }))
}

/// Quay's description of an error type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDescription {
    pub title: String,
    #[serde(rename = "type")]
    pub type_url: String,
    pub description: String,
}

/// The error types Quay describes, and what each means.
const ERROR_TYPES: &[(&str, &str)] = &[
    (
        "downstream_issue",
        "An error occurred in a downstream service.",
    ),
    (
        "exceeds_license",
        "The action was refused because the current license does not allow it.",
    ),
    ("expired_token", "The access token provided has expired."),
    (
        "fresh_login_required",
        "The action requires a fresh login to succeed.",
    ),
    (
        "insufficient_scope",
        "The access token did not have sufficient scope to access the requested resource.",
    ),
    ("internal_error", "An internal error occurred."),
    (
        "invalid_request",
        "The request is missing a required parameter, includes an unsupported parameter value (other than grant type), repeats a parameter, includes multiple credentials, utilizes more than one mechanism for authenticating the client, or is otherwise malformed.",
    ),
    ("invalid_response", "The response was found to be invalid."),
    (
        "invalid_token",
        "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
    ),
    ("not_found", "The resource was not found."),
    (
        "tag_immutable",
        "The tag is immutable and cannot be changed or deleted.",
    ),
    (
        "unauthorized",
        "The caller lacks the role the action needs.",
    ),
];

/// Get a detailed description of the error.
#[utoipa::path(get, path = "/api/v1/error/{error_type}", operation_id = "getErrorDescription", tag = "error",
    params(("error_type" = String, Path, description = "The error code identifying the type of error.")),
    responses((status = 200, description = "`{title, type, description}`", body = ErrorDescription)))]
pub async fn error_description(
    State(state): State<AppState>,
    Path(error_type): Path<String>,
) -> Result<Json<ErrorDescription>, QuayError> {
    let (title, description) = ERROR_TYPES
        .iter()
        .find(|(t, _)| *t == error_type)
        .ok_or_else(|| QuayError::not_found(format!("Unknown error type {error_type}")))?;
    Ok(Json(ErrorDescription {
        title: (*title).to_owned(),
        type_url: format!(
            "{}/api/v1/error/{title}",
            state.public_url.trim_end_matches('/')
        ),
        description: (*description).to_owned(),
    }))
}
