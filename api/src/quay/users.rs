//! `/api/v1/user/`, `/api/v1/users/{username}` and the caller's starred repositories.

use annals_commands::RepositoryRef;
use annals_domain::access::{NamespaceStanding, TeamRole};
use annals_domain::user::UserCommand;
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::repositories::{self, ListFilter};
use annals_projections::queries::teams;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::{QuayJson, QuayQuery};
use super::guard::{Account, MaybeCaller};
use super::organizations::{Avatar, avatar};
use super::repositories::{RepoPath, decode_cursor, encode_cursor};
use crate::access::guard::{self, Attempt, RepoAccess};
use crate::state::AppState;

/// An organization the caller belongs to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserOrganization {
    pub name: String,
    pub avatar: Avatar,
    pub can_create_repo: bool,
    pub public: bool,
    pub is_org_admin: bool,
    pub preferred_namespace: bool,
}

/// The caller, as Quay's clients read it to check their token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    pub anonymous: bool,
    pub username: String,
    pub email: String,
    pub verified: bool,
    pub avatar: Avatar,
    pub super_user: bool,
    pub can_create_repo: bool,
    pub is_me: bool,
    pub organizations: Vec<UserOrganization>,
    pub logins: Vec<String>,
    pub tag_expiration_s: i64,
    pub prompts: Vec<String>,
    pub invoice_email: bool,
}

/// Get user information for the authenticated user.
#[utoipa::path(get, path = "/api/v1/user/", operation_id = "getLoggedInUser", tag = "user",
    responses((status = 200, description = "The caller", body = User), (status = 401, description = "No valid credentials")))]
pub async fn me(
    State(state): State<AppState>,
    Account(ctx): Account,
) -> Result<Json<User>, QuayError> {
    let db = state.db();
    let (account, memberships) = tokio::try_join!(
        namespaces::by_id(db.as_ref(), ctx.caller.user_id),
        teams::memberships(db.as_ref(), ctx.caller.user_id),
    )?;
    let account = account.ok_or_else(|| QuayError::not_found("No such user"))?;
    let organizations = memberships
        .into_iter()
        .map(|m| {
            let standing = NamespaceStanding {
                owns: false,
                team_role: TeamRole::parse(&m.role).ok(),
            };
            UserOrganization {
                avatar: avatar(&m.org_name, "org"),
                can_create_repo: standing.can_create(),
                is_org_admin: standing.is_admin(),
                name: m.org_name,
                public: false,
                preferred_namespace: false,
            }
        })
        .collect();
    Ok(Json(User {
        anonymous: false,
        avatar: avatar(&account.name, "user"),
        email: account.email.clone().unwrap_or_default(),
        verified: true,
        super_user: account.super_user,
        can_create_repo: true,
        is_me: true,
        organizations,
        logins: Vec::new(),
        tag_expiration_s: account.tag_expiration_s,
        prompts: Vec::new(),
        invoice_email: account.invoice_email,
        username: account.name,
    }))
}

/// Another user, as anyone may see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicUser {
    pub username: String,
    pub avatar: Avatar,
    /// `user`.
    pub kind: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub super_user: bool,
}

/// Get user information for the specified user.
#[utoipa::path(get, path = "/api/v1/users/{username}", operation_id = "getUserInformation", tag = "user",
    params(("username" = String, Path)),
    responses((status = 200, description = "The user", body = PublicUser), (status = 404, description = "No such user")))]
pub async fn get(
    State(state): State<AppState>,
    _caller: MaybeCaller,
    Path(username): Path<String>,
) -> Result<Json<PublicUser>, QuayError> {
    let user = namespaces::by_name(state.db().as_ref(), &username)
        .await?
        .filter(|n: &NamespaceView| !n.is_organization())
        .ok_or_else(|| QuayError::not_found(format!("User {username} not found")))?;
    Ok(Json(PublicUser {
        avatar: avatar(&user.name, "user"),
        kind: "user".into(),
        super_user: user.super_user,
        username: user.name,
    }))
}

/// A starred repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StarredRepository {
    pub namespace: String,
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub kind: String,
}

/// `{repositories, next_page?}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StarredList {
    pub repositories: Vec<StarredRepository>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StarredParams {
    next_page: Option<String>,
}

/// Repositories per page of the starred list.
const STARRED_PAGE: usize = 100;

/// List all starred repositories (those the caller may still read).
#[utoipa::path(get, path = "/api/v1/user/starred", operation_id = "listStarredRepos", tag = "user",
    params(("next_page" = Option<String>, Query, description = "The page token for the next page")),
    responses((status = 200, description = "`{repositories, next_page?}`", body = StarredList)))]
pub async fn starred(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayQuery(params): QuayQuery<StarredParams>,
) -> Result<Json<StarredList>, QuayError> {
    let after = params.next_page.as_deref().map(decode_cursor).transpose()?;
    let (repos, more) = repositories::list(
        state.db().as_ref(),
        &ListFilter::Starred(ctx.caller.user_id),
        ctx.caller.viewer(),
        None,
        after,
        STARRED_PAGE,
    )
    .await?;
    let next_page = match (more, repos.last()) {
        (true, Some(last)) => Some(encode_cursor(&last.namespace, &last.name)),
        _ => None,
    };
    Ok(Json(StarredList {
        repositories: repos
            .into_iter()
            .map(|r| StarredRepository {
                is_public: r.is_public(),
                namespace: r.namespace,
                name: r.name,
                description: r.description,
                kind: r.kind,
            })
            .collect(),
        next_page,
    }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewStar {
    /// Namespace in which the repository belongs.
    pub namespace: String,
    /// Repository name.
    pub repository: String,
}

/// Star a repository.
#[utoipa::path(post, path = "/api/v1/user/starred", operation_id = "createStar", tag = "user", request_body = NewStar,
    responses((status = 201, description = "Starred", body = NewStar), (status = 404, description = "No such repository")))]
pub async fn star(
    State(state): State<AppState>,
    Account(ctx): Account,
    parts: Parts,
    QuayJson(body): QuayJson<NewStar>,
) -> Result<impl IntoResponse, QuayError> {
    let path = RepoPath(format!("{}/{}", body.namespace, body.repository));
    let target = readable(&state, &parts, &ctx.caller, &path).await?;
    let done = state
        .commands
        .change_user(
            &ctx.envelope,
            ctx.caller.user_id,
            UserCommand::Star {
                repository_id: target.1,
                namespace: target.0.namespace,
                repository: target.0.name,
            },
        )
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json(body)))
}

/// Removes a star from a repository.
#[utoipa::path(delete, path = "/api/v1/user/starred/{repository}", operation_id = "deleteStar", tag = "user",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 204, description = "Unstarred"), (status = 404, description = "No such repository")))]
pub async fn unstar(
    State(state): State<AppState>,
    Account(ctx): Account,
    parts: Parts,
    Path(repository): Path<String>,
) -> Result<StatusCode, QuayError> {
    let target = readable(&state, &parts, &ctx.caller, &RepoPath(repository)).await?;
    let done = state
        .commands
        .change_user(
            &ctx.envelope,
            ctx.caller.user_id,
            UserCommand::Unstar {
                repository_id: target.1,
                namespace: target.0.namespace,
                repository: target.0.name,
            },
        )
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The repository `path`, which the caller must be able to read.
async fn readable(
    state: &AppState,
    parts: &Parts,
    caller: &crate::access::Caller,
    path: &RepoPath,
) -> Result<(RepositoryRef, uuid::Uuid), QuayError> {
    let target = path.parse()?;
    let (namespace, repo) = super::repositories::located(state, &target)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Repository {} not found", path.0)))?;
    let action = format!("{} {}", parts.method, parts.uri.path());
    guard::repository(
        state,
        parts,
        Some(caller),
        &namespace,
        &repo,
        RepoAccess::Read,
        Attempt::new(&action, &path.0),
    )
    .await?;
    Ok((target, repo.id))
}
