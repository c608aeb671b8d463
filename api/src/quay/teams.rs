//! Teams of an organization and its members: create or change a team, add and remove members,
//! invite by e-mail, the team's repository permissions; the organization's members and outside
//! collaborators. Members of the organization may look; its administrators change.

use annals_domain::Email;
use annals_domain::access::TeamRole;
use annals_domain::team::{TeamCommand, TeamName};
use annals_projections::queries::namespaces;
use annals_projections::queries::robots::{self, HeldPermission};
use annals_projections::queries::teams::{self, TeamView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::guard::{InOrg, Member, OrgAdmin};
use super::organizations::{Avatar, Team, avatar};
use super::robots::{PermissionRepository, RobotPermission};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TeamInput {
    /// `member`, `creator` or `admin`.
    #[schema(pattern = "^(member|creator|admin)$")]
    pub role: String,
    /// Markdown description for the team.
    pub description: Option<String>,
}

async fn find(state: &AppState, org_id: uuid::Uuid, name: &str) -> Result<TeamView, QuayError> {
    teams::get(state.db().as_ref(), org_id, name)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Team {name} not found")))
}

async fn run(state: &AppState, ctx: &Ctx, org: &str, c: TeamCommand) -> Result<(), QuayError> {
    let done = state.commands.team_command(&ctx.envelope, org, c).await?;
    state.settle(&done).await;
    Ok(())
}

/// Update the org-wide permission for the specified team (creating it when it is new).
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/team/{teamname}", operation_id = "updateOrganizationTeam", tag = "team",
    request_body = TeamInput, params(("orgname" = String, Path), ("teamname" = String, Path)),
    responses((status = 200, description = "The team", body = Team), (status = 400, description = "Invalid name or role")))]
pub async fn put(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
    QuayJson(body): QuayJson<TeamInput>,
) -> Result<Json<Team>, QuayError> {
    let name = TeamName::parse(&path.1)?;
    let role = TeamRole::parse(&body.role)?;
    let command = TeamCommand::Put {
        team_id: guard.ctx.envelope.derived_id("team"),
        name,
        role,
        description: body.description,
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    let team = find(&state, guard.org.id, &path.1).await?;
    Ok(Json(Team::from_view(&team, true)))
}

/// Delete the specified team (not `owners`).
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/team/{teamname}", operation_id = "deleteOrganizationTeam", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, description = "The owners team")))]
pub async fn delete(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    find(&state, guard.org.id, &path.1).await?;
    let command = TeamCommand::Delete {
        name: TeamName::parse(&path.1)?,
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A member of a team: a user or robot, or an invited e-mail address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamMember {
    pub name: String,
    /// `user` or `invite`.
    pub kind: String,
    pub is_robot: bool,
    pub avatar: Avatar,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invited: Option<bool>,
}

/// `{name, members, can_edit}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamMembers {
    pub name: String,
    pub members: Vec<TeamMember>,
    pub can_edit: bool,
}

/// Retrieve the list of members for the specified team.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/team/{teamname}/members", operation_id = "getOrganizationTeamMembers", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path)),
    responses((status = 200, description = "`{name, members, can_edit}`", body = TeamMembers)))]
pub async fn members(
    State(state): State<AppState>,
    guard: InOrg<Member>,
    Path(path): Path<(String, String)>,
) -> Result<Json<TeamMembers>, QuayError> {
    let team = find(&state, guard.org.id, &path.1).await?;
    let db = state.db();
    let mut members: Vec<TeamMember> = teams::members(db.as_ref(), team.id)
        .await?
        .into_iter()
        .map(|m| TeamMember {
            avatar: avatar(&m.name, "user"),
            name: m.name,
            kind: "user".into(),
            is_robot: m.is_robot,
            invited: None,
        })
        .collect();
    if guard.is_admin() {
        members.extend(
            teams::invites(db.as_ref(), team.id)
                .await?
                .into_iter()
                .map(|email| TeamMember {
                    avatar: avatar(&email, "user"),
                    name: email,
                    kind: "invite".into(),
                    is_robot: false,
                    invited: Some(true),
                }),
        );
    }
    Ok(Json(TeamMembers {
        name: team.name,
        members,
        can_edit: guard.is_admin(),
    }))
}

/// Adds a user or robot (`org+name`) to the team.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}", operation_id = "updateOrganizationTeamMember", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path), ("membername" = String, Path)),
    responses((status = 200, description = "The member", body = TeamMember), (status = 400, description = "Unknown user or robot")))]
pub async fn add_member(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<TeamMember>, QuayError> {
    find(&state, guard.org.id, &path.1).await?;
    let name = &path.2;
    let db = state.db();
    let unknown = || QuayError::invalid_request(format!("Unknown user or robot: {name}"));
    let (member_id, is_robot) = if name.contains('+') {
        let robot = robots::get(db.as_ref(), guard.org.id, name)
            .await?
            .ok_or_else(unknown)?;
        (robot.id, true)
    } else {
        let user = namespaces::by_name(db.as_ref(), name)
            .await?
            .filter(|n| !n.is_organization())
            .ok_or_else(unknown)?;
        (user.id, false)
    };
    let command = TeamCommand::AddMember {
        name: TeamName::parse(&path.1)?,
        member_id,
        member: name.clone(),
        is_robot,
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(Json(TeamMember {
        avatar: avatar(name, "user"),
        name: name.clone(),
        kind: "user".into(),
        is_robot,
        invited: None,
    }))
}

/// Removes a member from the team: its access through the team ends at once.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/team/{teamname}/members/{membername}", operation_id = "deleteOrganizationTeamMember", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path), ("membername" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 400, description = "Not a member")))]
pub async fn remove_member(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String, String)>,
) -> Result<StatusCode, QuayError> {
    let team = find(&state, guard.org.id, &path.1).await?;
    let member = teams::members(state.db().as_ref(), team.id)
        .await?
        .into_iter()
        .find(|m| m.name == path.2)
        .ok_or_else(|| QuayError::invalid_request(format!("{} is not a member", path.2)))?;
    let command = TeamCommand::RemoveMember {
        name: TeamName::parse(&path.1)?,
        member_id: member.id,
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites an e-mail address to the team.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/team/{teamname}/invite/{email}", operation_id = "inviteTeamMemberEmail", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path), ("email" = String, Path)),
    responses((status = 200, description = "The invite", body = TeamMember), (status = 400, description = "Invalid e-mail address")))]
pub async fn invite(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<TeamMember>, QuayError> {
    find(&state, guard.org.id, &path.1).await?;
    let command = TeamCommand::Invite {
        name: TeamName::parse(&path.1)?,
        email: Email::parse(&path.2)?,
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(Json(TeamMember {
        avatar: avatar(&path.2, "user"),
        name: path.2.clone(),
        kind: "invite".into(),
        is_robot: false,
        invited: Some(true),
    }))
}

/// Deletes an invite of an e-mail address to the team.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/team/{teamname}/invite/{email}", operation_id = "deleteTeamMemberEmailInvite", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path), ("email" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, description = "No such invite")))]
pub async fn delete_invite(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String, String)>,
) -> Result<StatusCode, QuayError> {
    find(&state, guard.org.id, &path.1).await?;
    let command = TeamCommand::DeleteInvite {
        name: TeamName::parse(&path.1)?,
        email: Email::parse(&path.2)?,
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{permissions: [{repository: {name, is_public}, role}]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamRepositoryPermissions {
    pub permissions: Vec<RobotPermission>,
}

/// Returns the list of repository permissions for the team.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/team/{teamname}/permissions", operation_id = "getOrganizationTeamPermissions", tag = "team",
    params(("orgname" = String, Path), ("teamname" = String, Path)),
    responses((status = 200, description = "`{permissions: [...]}`", body = TeamRepositoryPermissions)))]
pub async fn permissions(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<Json<TeamRepositoryPermissions>, QuayError> {
    let team = find(&state, guard.org.id, &path.1).await?;
    let held = robots::permissions_of(state.db().as_ref(), team.id).await?;
    Ok(Json(TeamRepositoryPermissions {
        permissions: held.into_iter().map(permission).collect(),
    }))
}

fn permission(p: HeldPermission) -> RobotPermission {
    RobotPermission {
        repository: PermissionRepository {
            name: p.repository,
            is_public: p.is_public,
        },
        role: p.role,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamRef {
    pub name: String,
    pub avatar: Avatar,
}

/// A member of the organization (or an outside collaborator).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationMember {
    pub name: String,
    /// `user`.
    pub kind: String,
    pub avatar: Avatar,
    pub teams: Vec<TeamRef>,
    pub repositories: Vec<String>,
}

/// `{members: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationMembers {
    pub members: Vec<OrganizationMember>,
}

/// `{collaborators: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationCollaborators {
    pub collaborators: Vec<OrganizationMember>,
}

async fn member_view(
    state: &AppState,
    id: uuid::Uuid,
    name: String,
    team_names: Vec<String>,
) -> Result<OrganizationMember, QuayError> {
    let repositories = robots::permissions_of(state.db().as_ref(), id)
        .await?
        .into_iter()
        .map(|p| p.repository)
        .collect();
    Ok(OrganizationMember {
        avatar: avatar(&name, "user"),
        name,
        kind: "user".into(),
        teams: team_names
            .into_iter()
            .map(|t| TeamRef {
                avatar: avatar(&t, "team"),
                name: t,
            })
            .collect(),
        repositories,
    })
}

/// List the human members of the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/members", operation_id = "getOrganizationMembers", tag = "organization",
    params(("orgname" = String, Path)),
    responses((status = 200, description = "`{members: [...]}`", body = OrganizationMembers)))]
pub async fn org_members(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
) -> Result<Json<OrganizationMembers>, QuayError> {
    let mut members = Vec::new();
    for (m, team_names) in teams::organization_members(state.db().as_ref(), guard.org.id).await? {
        members.push(member_view(&state, m.id, m.name, team_names).await?);
    }
    Ok(Json(OrganizationMembers { members }))
}

/// Retrieves the details of a member of the organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/members/{membername}", operation_id = "getOrganizationMember", tag = "organization",
    params(("orgname" = String, Path), ("membername" = String, Path)),
    responses((status = 200, description = "The member", body = OrganizationMember), (status = 404, description = "Not a member")))]
pub async fn org_member(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<Json<OrganizationMember>, QuayError> {
    let (m, team_names) = teams::organization_members(state.db().as_ref(), guard.org.id)
        .await?
        .into_iter()
        .find(|(m, _)| m.name == path.1)
        .ok_or_else(|| QuayError::not_found(format!("{} is not a member", path.1)))?;
    Ok(Json(member_view(&state, m.id, m.name, team_names).await?))
}

/// Removes a member from the organization: out of every team and every repository permission
/// it holds there, in one change.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/members/{membername}", operation_id = "removeOrganizationMember", tag = "organization",
    params(("orgname" = String, Path), ("membername" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, description = "Not a member")))]
pub async fn remove_org_member(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    let user = namespaces::by_name(state.db().as_ref(), &path.1)
        .await?
        .filter(|n| !n.is_organization())
        .ok_or_else(|| QuayError::not_found(format!("{} is not a member", path.1)))?;
    let done = state
        .commands
        .remove_organization_member(&guard.ctx.envelope, &guard.org.name, user.id)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// List outside collaborators of the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/collaborators", operation_id = "getOrganizationCollaborators", tag = "organization",
    params(("orgname" = String, Path)),
    responses((status = 200, description = "`{collaborators: [...]}`", body = OrganizationCollaborators)))]
pub async fn collaborators(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
) -> Result<Json<OrganizationCollaborators>, QuayError> {
    let mut out = Vec::new();
    for m in teams::collaborators(state.db().as_ref(), guard.org.id).await? {
        out.push(member_view(&state, m.id, m.name, Vec::new()).await?);
    }
    Ok(Json(OrganizationCollaborators { collaborators: out }))
}
