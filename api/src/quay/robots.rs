//! Robots of an organization (`/organization/{orgname}/robots...`, for its administrators) and
//! of the caller's own namespace (`/user/robots...`). A robot's token is shown when it is made
//! or regenerated, never again: only its SHA-256 is kept.

use annals_domain::robot::{self, RobotCommand, RobotShortname};
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::robots::{self, MAX_ROBOTS, RobotView};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::{Ctx, QuayQuery, bounded};
use super::guard::{Account, InOrg, OrgAdmin};
use super::log_range::format_datetime;
use super::organizations::{Avatar, avatar};
use crate::access::resolve::token_digest;
use crate::access::tokens;
use crate::state::AppState;

/// A robot as Quay shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Robot {
    /// `namespace+shortname`.
    pub name: String,
    pub created: String,
    pub last_accessed: Option<String>,
    pub description: String,
    /// The token: only in the answer that made or regenerated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[schema(value_type = Object)]
    pub unstructured_metadata: serde_json::Value,
    /// With `permissions=true`: the repositories it holds a permission on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    /// With `permissions=true`: its teams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<RobotTeam>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RobotTeam {
    pub name: String,
    pub avatar: Avatar,
}

/// `{robots: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RobotList {
    pub robots: Vec<Robot>,
}

fn time(micros: i64) -> String {
    format_datetime(chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default())
}

fn view(robot: &RobotView, token: Option<String>) -> Robot {
    Robot {
        name: robot.name.clone(),
        created: time(robot.created_at),
        last_accessed: robot.last_accessed.map(time),
        description: robot.description.clone(),
        token,
        unstructured_metadata: serde_json::from_str(&robot.metadata)
            .ok()
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({})),
        repositories: None,
        teams: None,
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct NewRobot {
    /// Optional text description for the robot.
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub description: String,
    /// Optional unstructured metadata for the robot (a JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub unstructured_metadata: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    permissions: bool,
    /// Tokens are never listed (only their hashes are kept); accepted for Quay's clients.
    #[serde(default)]
    #[allow(dead_code)]
    token: Option<bool>,
    limit: Option<u64>,
}

/// The robot `{robot_shortname}` of the namespace, or Quay's 404.
async fn find(state: &AppState, ns: &NamespaceView, short: &str) -> Result<RobotView, QuayError> {
    let name = robot::full_name(&ns.name, short);
    robots::get(state.db().as_ref(), ns.id, &name)
        .await?
        .ok_or_else(|| {
            QuayError::not_found(format!(
                "Could not find robot with specified username: {name}"
            ))
        })
}

async fn list_in(
    state: &AppState,
    ns: &NamespaceView,
    params: ListParams,
) -> Result<Json<RobotList>, QuayError> {
    let limit = bounded(
        "limit",
        params.limit,
        MAX_ROBOTS as u64,
        1,
        MAX_ROBOTS as u64,
    )?;
    let db = state.db();
    let found = robots::list(db.as_ref(), ns.id, limit as i64).await?;
    let mut out = Vec::with_capacity(found.len());
    for r in &found {
        let mut robot = view(r, None);
        if params.permissions {
            let held = robots::permissions_of(db.as_ref(), r.id).await?;
            robot.repositories = Some(held.into_iter().map(|p| p.repository).collect());
            let teams = if ns.is_organization() {
                robots::teams_of(db.as_ref(), ns.id, r.id).await?
            } else {
                Vec::new()
            };
            robot.teams = Some(
                teams
                    .into_iter()
                    .map(|name| RobotTeam {
                        avatar: avatar(&name, "team"),
                        name,
                    })
                    .collect(),
            );
        }
        out.push(robot);
    }
    Ok(Json(RobotList { robots: out }))
}

/// Reads an optional JSON body: none (or whitespace) is the default.
fn optional_body<T: Default + serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, QuayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| QuayError::invalid_request(format!("Malformed JSON body: {e}")))
}

async fn create_in(
    state: &AppState,
    ctx: &Ctx,
    ns: &NamespaceView,
    short: &str,
    body: &Bytes,
) -> Result<(StatusCode, Json<Robot>), QuayError> {
    let shortname = RobotShortname::parse(short)?;
    let NewRobot {
        description,
        unstructured_metadata,
    } = optional_body(body)?;
    let token = tokens::robot_token();
    let done = state
        .commands
        .robot_command(
            &ctx.envelope,
            &ns.name,
            RobotCommand::Create {
                robot_id: ctx.envelope.derived_id("robot"),
                shortname,
                description,
                unstructured_metadata,
                token_sha256: token_digest(&token),
            },
        )
        .await?;
    state.settle(&done).await;
    let robot = find(state, ns, short).await?;
    Ok((StatusCode::CREATED, Json(view(&robot, Some(token)))))
}

async fn regenerate_in(
    state: &AppState,
    ctx: &Ctx,
    ns: &NamespaceView,
    short: &str,
) -> Result<Json<Robot>, QuayError> {
    let shortname = RobotShortname::parse(short)?;
    find(state, ns, short).await?;
    let token = tokens::robot_token();
    let done = state
        .commands
        .robot_command(
            &ctx.envelope,
            &ns.name,
            RobotCommand::RegenerateToken {
                shortname,
                token_sha256: token_digest(&token),
            },
        )
        .await?;
    state.settle(&done).await;
    Ok(Json(view(&find(state, ns, short).await?, Some(token))))
}

async fn delete_in(
    state: &AppState,
    ctx: &Ctx,
    ns: &NamespaceView,
    short: &str,
) -> Result<StatusCode, QuayError> {
    let shortname = RobotShortname::parse(short)?;
    find(state, ns, short).await?;
    let done = state
        .commands
        .robot_command(&ctx.envelope, &ns.name, RobotCommand::Delete { shortname })
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A repository permission a robot holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RobotPermission {
    pub repository: PermissionRepository,
    /// `read`, `write` or `admin`.
    pub role: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PermissionRepository {
    pub name: String,
    pub is_public: bool,
}

/// `{permissions: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RobotPermissions {
    pub permissions: Vec<RobotPermission>,
}

async fn permissions_in(
    state: &AppState,
    ns: &NamespaceView,
    short: &str,
) -> Result<Json<RobotPermissions>, QuayError> {
    let robot = find(state, ns, short).await?;
    let held = robots::permissions_of(state.db().as_ref(), robot.id).await?;
    Ok(Json(RobotPermissions {
        permissions: held
            .into_iter()
            .map(|p| RobotPermission {
                repository: PermissionRepository {
                    name: p.repository,
                    is_public: p.is_public,
                },
                role: p.role,
            })
            .collect(),
    }))
}

/// The caller's own namespace.
async fn own(state: &AppState, ctx: &Ctx) -> Result<NamespaceView, QuayError> {
    namespaces::by_id(state.db().as_ref(), ctx.caller.user_id)
        .await?
        .ok_or_else(|| QuayError::not_found("No such user"))
}

const LIST_PARAMS: &str = "permissions: include the repositories and teams of each robot; \
    limit: at most this many robots; token: accepted, but tokens are shown only when made";

/// List the organization's robots.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/robots", operation_id = "getOrgRobots", tag = "robot", description = LIST_PARAMS,
    params(("orgname" = String, Path), ("permissions" = Option<bool>, Query), ("token" = Option<bool>, Query),
        ("limit" = Option<u64>, Query)),
    responses((status = 200, description = "`{robots: [...]}`", body = RobotList)))]
pub async fn org_list(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    QuayQuery(params): QuayQuery<ListParams>,
) -> Result<Json<RobotList>, QuayError> {
    list_in(&state, &guard.org, params).await
}

/// Returns the organization's robot with the specified name.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/robots/{robot_shortname}", operation_id = "getOrgRobot", tag = "robot",
    params(("orgname" = String, Path), ("robot_shortname" = String, Path)),
    responses((status = 200, description = "The robot", body = Robot)))]
pub async fn org_get(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<Json<Robot>, QuayError> {
    Ok(Json(view(&find(&state, &guard.org, &path.1).await?, None)))
}

/// Create a new robot in the organization.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/robots/{robot_shortname}", operation_id = "createOrgRobot", tag = "robot",
    request_body(content = Option<NewRobot>, description = "Optional"),
    params(("orgname" = String, Path), ("robot_shortname" = String, Path)),
    responses((status = 201, description = "The robot, with its token (shown once)", body = Robot),
        (status = 400, description = "Invalid name, or the robot exists")))]
pub async fn org_create(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
    body: Bytes,
) -> Result<impl IntoResponse, QuayError> {
    create_in(&state, &guard.ctx, &guard.org, &path.1, &body).await
}

/// Delete an existing organization robot.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/robots/{robot_shortname}", operation_id = "deleteOrgRobot", tag = "robot",
    params(("orgname" = String, Path), ("robot_shortname" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn org_delete(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    delete_in(&state, &guard.ctx, &guard.org, &path.1).await
}

/// Regenerates the token for an organization robot.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/robots/{robot_shortname}/regenerate", operation_id = "regenerateOrgRobotToken", tag = "robot",
    params(("orgname" = String, Path), ("robot_shortname" = String, Path)),
    responses((status = 200, description = "The robot, with its new token (shown once)", body = Robot)))]
pub async fn org_regenerate(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<Json<Robot>, QuayError> {
    regenerate_in(&state, &guard.ctx, &guard.org, &path.1).await
}

/// Returns the list of repository permissions for the org's robot.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/robots/{robot_shortname}/permissions", operation_id = "getOrgRobotPermissions", tag = "robot",
    params(("orgname" = String, Path), ("robot_shortname" = String, Path)),
    responses((status = 200, description = "`{permissions: [{repository: {name, is_public}, role}]}`", body = RobotPermissions)))]
pub async fn org_permissions(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<Json<RobotPermissions>, QuayError> {
    permissions_in(&state, &guard.org, &path.1).await
}

/// List the available robots for the user.
#[utoipa::path(get, path = "/api/v1/user/robots", operation_id = "getUserRobots", tag = "robot", description = LIST_PARAMS,
    params(("permissions" = Option<bool>, Query), ("token" = Option<bool>, Query), ("limit" = Option<u64>, Query)),
    responses((status = 200, description = "`{robots: [...]}`", body = RobotList)))]
pub async fn user_list(
    State(state): State<AppState>,
    Account(ctx): Account,
    QuayQuery(params): QuayQuery<ListParams>,
) -> Result<Json<RobotList>, QuayError> {
    list_in(&state, &own(&state, &ctx).await?, params).await
}

/// Returns the user's robot with the specified name.
#[utoipa::path(get, path = "/api/v1/user/robots/{robot_shortname}", operation_id = "getUserRobot", tag = "robot",
    params(("robot_shortname" = String, Path)),
    responses((status = 200, description = "The robot", body = Robot)))]
pub async fn user_get(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(short): Path<String>,
) -> Result<Json<Robot>, QuayError> {
    let ns = own(&state, &ctx).await?;
    Ok(Json(view(&find(&state, &ns, &short).await?, None)))
}

/// Create a new user robot with the specified name.
#[utoipa::path(put, path = "/api/v1/user/robots/{robot_shortname}", operation_id = "createUserRobot", tag = "robot",
    request_body(content = Option<NewRobot>, description = "Optional"),
    params(("robot_shortname" = String, Path)),
    responses((status = 201, description = "The robot, with its token (shown once)", body = Robot),
        (status = 400, description = "Invalid name, or the robot exists")))]
pub async fn user_create(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(short): Path<String>,
    body: Bytes,
) -> Result<impl IntoResponse, QuayError> {
    let ns = own(&state, &ctx).await?;
    create_in(&state, &ctx, &ns, &short, &body).await
}

/// Delete an existing robot.
#[utoipa::path(delete, path = "/api/v1/user/robots/{robot_shortname}", operation_id = "deleteUserRobot", tag = "robot",
    params(("robot_shortname" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn user_delete(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(short): Path<String>,
) -> Result<StatusCode, QuayError> {
    let ns = own(&state, &ctx).await?;
    delete_in(&state, &ctx, &ns, &short).await
}

/// Regenerates the token for a user's robot.
#[utoipa::path(post, path = "/api/v1/user/robots/{robot_shortname}/regenerate", operation_id = "regenerateUserRobotToken", tag = "robot",
    params(("robot_shortname" = String, Path)),
    responses((status = 200, description = "The robot, with its new token (shown once)", body = Robot)))]
pub async fn user_regenerate(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(short): Path<String>,
) -> Result<Json<Robot>, QuayError> {
    let ns = own(&state, &ctx).await?;
    regenerate_in(&state, &ctx, &ns, &short).await
}

/// Returns the list of repository permissions for the user's robot.
#[utoipa::path(get, path = "/api/v1/user/robots/{robot_shortname}/permissions", operation_id = "getUserRobotPermissions", tag = "robot",
    params(("robot_shortname" = String, Path)),
    responses((status = 200, description = "`{permissions: [{repository: {name, is_public}, role}]}`", body = RobotPermissions)))]
pub async fn user_permissions(
    State(state): State<AppState>,
    Account(ctx): Account,
    Path(short): Path<String>,
) -> Result<Json<RobotPermissions>, QuayError> {
    let ns = own(&state, &ctx).await?;
    permissions_in(&state, &ns, &short).await
}
