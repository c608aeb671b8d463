//! `/repository/{repository}/permissions/{user|team}/...`: who holds which role on a
//! repository, for its administrators (the check is `repositories::dispatch`'s). Users and
//! robots are granted under `user/` (a robot by its full name `namespace+short`), teams of the
//! repository's organization under `team/`.

use std::collections::{BTreeMap, HashSet};

use annals_domain::access::RepoRole;
use annals_domain::delegate::{Delegate, DelegateKind};
use annals_projections::queries::grants::{self, GrantView};
use annals_projections::queries::repositories::RepositoryView;
use annals_projections::queries::{namespaces, robots, teams};
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::organizations::{Avatar, avatar};
use super::repositories::{self, RepoPath};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelegateKindPath {
    User,
    Team,
}

/// The permission route a path names: the list of a kind, one entry, or a user's transitive
/// roles.
#[derive(Debug, Clone, PartialEq)]
pub struct PermissionPath {
    pub kind: DelegateKindPath,
    pub name: Option<String>,
    pub transitive: bool,
}

impl PermissionPath {
    /// Splits `namespace/name/permissions/{user|team}[/{name}[/transitive]]`; the repository
    /// part must be `namespace/name` when `strict`, a single segment otherwise.
    pub fn parse(rest: &str, strict: bool) -> Option<(String, PermissionPath)> {
        let segs: Vec<&str> = rest.split('/').collect();
        let n = segs.len();
        let at = |i: usize| (n > i).then(|| segs[n - 1 - i]);
        let kind = |s: Option<&str>| match s {
            Some("user") => Some(DelegateKindPath::User),
            Some("team") => Some(DelegateKindPath::Team),
            _ => None,
        };
        let reading = |keep: usize, path: PermissionPath| {
            let repo = segs[..n - keep].join("/");
            (!repo.is_empty() && repo.contains('/') == strict).then_some((repo, path))
        };
        if at(3) == Some("permissions") && at(2) == Some("user") && at(0) == Some("transitive") {
            let path = PermissionPath {
                kind: DelegateKindPath::User,
                name: at(1).map(str::to_owned),
                transitive: true,
            };
            if let Some(found) = reading(4, path) {
                return Some(found);
            }
        }
        if at(2) == Some("permissions")
            && let Some(k) = kind(at(1))
        {
            let path = PermissionPath {
                kind: k,
                name: at(0).map(str::to_owned),
                transitive: false,
            };
            if let Some(found) = reading(3, path) {
                return Some(found);
            }
        }
        if at(1) == Some("permissions")
            && let Some(k) = kind(at(0))
        {
            return reading(
                2,
                PermissionPath {
                    kind: k,
                    name: None,
                    transitive: false,
                },
            );
        }
        None
    }

    pub fn allows(&self, method: &Method) -> bool {
        match (&self.name, self.transitive) {
            (None, _) | (Some(_), true) => method == Method::GET,
            (Some(_), false) => matches!(*method, Method::GET | Method::PUT | Method::DELETE),
        }
    }
}

/// A user's or robot's role on the repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPermission {
    pub role: String,
    pub name: String,
    pub is_robot: bool,
    pub avatar: Avatar,
    pub is_org_member: bool,
}

/// A team's role on the repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamPermission {
    pub role: String,
    pub name: String,
    pub avatar: Avatar,
}

/// `{permissions: {<name>: {...}}}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserPermissions {
    pub permissions: BTreeMap<String, UserPermission>,
}

/// `{permissions: {<team>: {...}}}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamPermissions {
    pub permissions: BTreeMap<String, TeamPermission>,
}

/// `{permissions: [{role}]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransitivePermissions {
    pub permissions: Vec<Role>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Role {
    pub role: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PermissionChange {
    /// `read`, `write` or `admin`.
    #[schema(pattern = "^(read|write|admin)$")]
    pub role: String,
}

/// The users of the repository's organization's teams, read once per answer.
async fn org_members(state: &AppState, repo: &RepositoryView) -> Result<HashSet<Uuid>, QuayError> {
    Ok(
        teams::organization_members(state.db().as_ref(), repo.namespace_id)
            .await?
            .into_iter()
            .map(|(m, _)| m.id)
            .collect(),
    )
}

fn user_entry(grant: &GrantView, org_members: &HashSet<Uuid>) -> UserPermission {
    let is_robot = grant.kind == "robot";
    UserPermission {
        role: grant.role.clone(),
        name: grant.name.clone(),
        is_robot,
        avatar: avatar(&grant.name, "user"),
        is_org_member: !is_robot && org_members.contains(&grant.delegate_id),
    }
}

fn team_entry(grant: &GrantView) -> TeamPermission {
    TeamPermission {
        role: grant.role.clone(),
        name: grant.name.clone(),
        avatar: avatar(&grant.name, "team"),
    }
}

fn of_kind(grant: &GrantView, kind: DelegateKindPath) -> bool {
    match kind {
        DelegateKindPath::User => grant.kind == "user" || grant.kind == "robot",
        DelegateKindPath::Team => grant.kind == "team",
    }
}

/// List all user permissions.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/permissions/user/", operation_id = "listRepoUserPermissions", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{permissions: {<name>: {role, name, is_robot, avatar, is_org_member}}}`", body = UserPermissions)))]
pub async fn list_users(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<UserPermissions>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let members = org_members(&state, &repo).await?;
    let permissions = grants::of_repository(state.db().as_ref(), repo.id)
        .await?
        .iter()
        .filter(|g| of_kind(g, DelegateKindPath::User))
        .map(|g| (g.name.clone(), user_entry(g, &members)))
        .collect();
    Ok(Json(UserPermissions { permissions }))
}

/// List all team permission.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/permissions/team/", operation_id = "listRepoTeamPermissions", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{permissions: {<team>: {role, name, avatar}}}`", body = TeamPermissions)))]
pub async fn list_teams(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<TeamPermissions>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let permissions = grants::of_repository(state.db().as_ref(), repo.id)
        .await?
        .iter()
        .filter(|g| of_kind(g, DelegateKindPath::Team))
        .map(|g| (g.name.clone(), team_entry(g)))
        .collect();
    Ok(Json(TeamPermissions { permissions }))
}

fn name_of(p: &PermissionPath) -> &str {
    p.name.as_deref().unwrap_or_default()
}

async fn grant_of(
    state: &AppState,
    repo: &RepositoryView,
    p: &PermissionPath,
) -> Result<Option<GrantView>, QuayError> {
    Ok(grants::of_repository(state.db().as_ref(), repo.id)
        .await?
        .into_iter()
        .find(|g| of_kind(g, p.kind) && g.name == name_of(p)))
}

/// The entry answered for a grant: a user's on the `user/` routes, a team's on the `team/`
/// routes (each route documents its own shape).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PermissionEntry {
    User(UserPermission),
    Team(TeamPermission),
}

async fn entry(
    state: &AppState,
    repo: &RepositoryView,
    p: &PermissionPath,
) -> Result<PermissionEntry, QuayError> {
    let grant = grant_of(state, repo, p)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("No permission found for {}", name_of(p))))?;
    Ok(match p.kind {
        DelegateKindPath::User => {
            PermissionEntry::User(user_entry(&grant, &org_members(state, repo).await?))
        }
        DelegateKindPath::Team => PermissionEntry::Team(team_entry(&grant)),
    })
}

/// Get the permission of a user, robot or team on the repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/permissions/user/{username}", operation_id = "getUserPermissions", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("username" = String, Path)),
    responses((status = 200, description = "The entry", body = UserPermission)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<PermissionPath>,
) -> Result<Json<PermissionEntry>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    Ok(Json(entry(&state, &repo, &p).await?))
}

/// Who `name` is: a user, a robot of the repository's namespace, or a team of its organization.
async fn delegate(
    state: &AppState,
    repo: &RepositoryView,
    p: &PermissionPath,
) -> Result<Delegate, QuayError> {
    let name = name_of(p);
    let db = state.db();
    let unknown = || QuayError::invalid_request(format!("Invalid username or team: {name}"));
    match p.kind {
        DelegateKindPath::Team => {
            let team = teams::get(db.as_ref(), repo.namespace_id, name)
                .await?
                .ok_or_else(unknown)?;
            Ok(Delegate {
                kind: DelegateKind::Team,
                id: team.id,
                name: team.name,
            })
        }
        DelegateKindPath::User if name.contains('+') => {
            let robot = robots::get(db.as_ref(), repo.namespace_id, name)
                .await?
                .ok_or_else(unknown)?;
            Ok(Delegate {
                kind: DelegateKind::Robot,
                id: robot.id,
                name: robot.name,
            })
        }
        DelegateKindPath::User => {
            let user = namespaces::by_name(db.as_ref(), name)
                .await?
                .filter(|n| !n.is_organization())
                .ok_or_else(unknown)?;
            Ok(Delegate {
                kind: DelegateKind::User,
                id: user.id,
                name: user.name,
            })
        }
    }
}

/// Update (or grant) the permission of a user, robot or team on the repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/permissions/user/{username}", operation_id = "changeUserPermissions", tag = "permission",
    request_body = PermissionChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("username" = String, Path)),
    responses((status = 200, description = "The entry", body = UserPermission), (status = 400, description = "Unknown user or team, or an invalid role")))]
pub async fn set(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<PermissionPath>,
    QuayJson(body): QuayJson<PermissionChange>,
) -> Result<Json<PermissionEntry>, QuayError> {
    let role = RepoRole::parse(&body.role)?;
    let repo = repositories::find(&state, &path).await?;
    let who = delegate(&state, &repo, &p).await?;
    let done = state
        .commands
        .set_repository_permission(&ctx.envelope, &path.parse()?, who, role)
        .await?;
    state.settle(&done).await;
    Ok(Json(entry(&state, &repo, &p).await?))
}

/// Delete the permission of a user, robot or team on the repository.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/permissions/user/{username}", operation_id = "deleteUserPermissions", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("username" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 400, description = "No such permission")))]
pub async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<PermissionPath>,
) -> Result<StatusCode, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let grant = grant_of(&state, &repo, &p).await?.ok_or_else(|| {
        QuayError::invalid_request(format!("{} holds no permission here", name_of(&p)))
    })?;
    let done = state
        .commands
        .remove_repository_permission(&ctx.envelope, &path.parse()?, grant.delegate_id)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Get the roles a user holds on the repository, directly and through its teams.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/permissions/user/{username}/transitive", operation_id = "getUserTransitivePermission", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("username" = String, Path)),
    responses((status = 200, description = "`{permissions: [{role}]}`", body = TransitivePermissions)))]
pub async fn transitive(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<PermissionPath>,
) -> Result<Json<TransitivePermissions>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let who = delegate(&state, &repo, &p).await?;
    let roles = grants::transitive(state.db().as_ref(), repo.id, who.id).await?;
    Ok(Json(TransitivePermissions {
        permissions: roles
            .into_iter()
            .map(|r| Role {
                role: r.as_str().to_owned(),
            })
            .collect(),
    }))
}

/// Get the permission of a team on the repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/permissions/team/{teamname}", operation_id = "getTeamPermissions", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("teamname" = String, Path)),
    responses((status = 200, description = "`{role, name, avatar}`", body = TeamPermission)))]
pub async fn get_team(
    state: State<AppState>,
    path: Extension<RepoPath>,
    p: Extension<PermissionPath>,
) -> Result<Json<PermissionEntry>, QuayError> {
    get(state, path, p).await
}

/// Update (or grant) the permission of a team on the repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/permissions/team/{teamname}", operation_id = "changeTeamPermissions", tag = "permission",
    request_body = PermissionChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("teamname" = String, Path)),
    responses((status = 200, description = "`{role, name, avatar}`", body = TeamPermission), (status = 400, description = "Unknown team, or an invalid role")))]
pub async fn set_team(
    state: State<AppState>,
    ctx: Ctx,
    path: Extension<RepoPath>,
    p: Extension<PermissionPath>,
    body: QuayJson<PermissionChange>,
) -> Result<Json<PermissionEntry>, QuayError> {
    set(state, ctx, path, p, body).await
}

/// Delete the permission of a team on the repository.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/permissions/team/{teamname}", operation_id = "deleteTeamPermissions", tag = "permission",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("teamname" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 400, description = "No such permission")))]
pub async fn remove_team(
    state: State<AppState>,
    ctx: Ctx,
    path: Extension<RepoPath>,
    p: Extension<PermissionPath>,
) -> Result<StatusCode, QuayError> {
    remove(state, ctx, path, p).await
}
