//! `/organization/{orgname}/prototypes...`: default permissions, granted to a user, robot or
//! team on every repository created in the organization (by anyone, or only by the
//! `activating_user`). For the organization's administrators.

use annals_domain::access::RepoRole;
use annals_domain::delegate::{Delegate, DelegateKind};
use annals_domain::prototype::PrototypeCommand;
use annals_projections::queries::prototypes::{self, PrototypeView};
use annals_projections::queries::{namespaces, robots, teams};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::{InOrg, OrgAdmin};
use crate::state::AppState;

/// Who a prototype grants to, or who activates it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrototypeEntity {
    pub name: String,
    /// `user` or `team`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_robot: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Prototype {
    pub id: Uuid,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activating_user: Option<PrototypeEntity>,
    pub delegate: PrototypeEntity,
}

/// `{prototypes: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Prototypes {
    pub prototypes: Vec<Prototype>,
}

fn view(p: &PrototypeView) -> Prototype {
    let team = p.delegate_kind == "team";
    Prototype {
        id: p.id,
        role: p.role.clone(),
        activating_user: p.activating_name.as_ref().map(|name| PrototypeEntity {
            name: name.clone(),
            kind: "user".into(),
            is_robot: Some(name.contains('+')),
        }),
        delegate: PrototypeEntity {
            name: p.delegate_name.clone(),
            kind: if team { "team" } else { "user" }.into(),
            is_robot: (!team).then_some(p.delegate_kind == "robot"),
        },
    }
}

async fn find(state: &AppState, org_id: Uuid, id: &str) -> Result<PrototypeView, QuayError> {
    let not_found = || QuayError::not_found(format!("No prototype {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    prototypes::list(state.db().as_ref(), org_id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found)
}

/// List the existing prototypes for this organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/prototypes", operation_id = "getOrganizationPrototypePermissions", tag = "prototype",
    params(("orgname" = String, Path)),
    responses((status = 200, description = "`{prototypes: [...]}`", body = Prototypes)))]
pub async fn list(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
) -> Result<Json<Prototypes>, QuayError> {
    let found = prototypes::list(state.db().as_ref(), guard.org.id).await?;
    Ok(Json(Prototypes {
        prototypes: found.iter().map(view).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EntityInput {
    /// `user` or `team`.
    #[serde(default = "user_kind")]
    pub kind: String,
    pub name: String,
}

fn user_kind() -> String {
    "user".into()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPrototype {
    /// `read`, `write` or `admin`.
    #[schema(pattern = "^(read|write|admin)$")]
    pub role: String,
    pub delegate: EntityInput,
    pub activating_user: Option<EntityInput>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PrototypeChange {
    #[schema(pattern = "^(read|write|admin)$")]
    pub role: String,
}

/// The user, robot (of this organization) or team an entity names.
async fn resolve(
    state: &AppState,
    org_id: Uuid,
    entity: &EntityInput,
) -> Result<Delegate, QuayError> {
    let db = state.db();
    let unknown = || QuayError::invalid_request(format!("Unknown {} {}", entity.kind, entity.name));
    match entity.kind.as_str() {
        "team" => {
            let t = teams::get(db.as_ref(), org_id, &entity.name)
                .await?
                .ok_or_else(unknown)?;
            Ok(Delegate {
                kind: DelegateKind::Team,
                id: t.id,
                name: t.name,
            })
        }
        "user" if entity.name.contains('+') => {
            let r = robots::get(db.as_ref(), org_id, &entity.name)
                .await?
                .ok_or_else(unknown)?;
            Ok(Delegate {
                kind: DelegateKind::Robot,
                id: r.id,
                name: r.name,
            })
        }
        "user" => {
            let u = namespaces::by_name(db.as_ref(), &entity.name)
                .await?
                .filter(|n| !n.is_organization())
                .ok_or_else(unknown)?;
            Ok(Delegate {
                kind: DelegateKind::User,
                id: u.id,
                name: u.name,
            })
        }
        other => Err(QuayError::invalid_request(format!(
            "Unknown delegate kind {other:?}: use user or team"
        ))),
    }
}

/// Create a new permission prototype.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/prototypes", operation_id = "createOrganizationPrototypePermission", tag = "prototype",
    request_body = NewPrototype, params(("orgname" = String, Path)),
    responses((status = 200, description = "The prototype", body = Prototype), (status = 400, description = "Unknown delegate or invalid role")))]
pub async fn create(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    QuayJson(body): QuayJson<NewPrototype>,
) -> Result<Json<Prototype>, QuayError> {
    let role = RepoRole::parse(&body.role)?;
    let delegate = resolve(&state, guard.org.id, &body.delegate).await?;
    let activating_user = match &body.activating_user {
        Some(a) => Some(resolve(&state, guard.org.id, a).await?),
        None => None,
    };
    let prototype_id = guard.ctx.envelope.derived_id("prototype");
    let command = PrototypeCommand::Create {
        prototype_id,
        role,
        delegate,
        activating_user,
    };
    let done = state
        .commands
        .prototype_command(&guard.ctx.envelope, &guard.org.name, command)
        .await?;
    state.settle(&done).await;
    Ok(Json(view(
        &find(&state, guard.org.id, &prototype_id.to_string()).await?,
    )))
}

/// Update the role of an existing permission prototype.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/prototypes/{prototypeid}", operation_id = "updateOrganizationPrototypePermission", tag = "prototype",
    request_body = PrototypeChange, params(("orgname" = String, Path), ("prototypeid" = String, Path)),
    responses((status = 200, description = "The prototype", body = Prototype)))]
pub async fn update(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
    QuayJson(body): QuayJson<PrototypeChange>,
) -> Result<Json<Prototype>, QuayError> {
    let role = RepoRole::parse(&body.role)?;
    let existing = find(&state, guard.org.id, &path.1).await?;
    let command = PrototypeCommand::Change {
        prototype_id: existing.id,
        role,
    };
    let done = state
        .commands
        .prototype_command(&guard.ctx.envelope, &guard.org.name, command)
        .await?;
    state.settle(&done).await;
    Ok(Json(view(&find(&state, guard.org.id, &path.1).await?)))
}

/// Delete an existing permission prototype.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/prototypes/{prototypeid}", operation_id = "deleteOrganizationPrototypePermission", tag = "prototype",
    params(("orgname" = String, Path), ("prototypeid" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    let existing = find(&state, guard.org.id, &path.1).await?;
    let command = PrototypeCommand::Delete {
        prototype_id: existing.id,
    };
    let done = state
        .commands
        .prototype_command(&guard.ctx.envelope, &guard.org.name, command)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}
