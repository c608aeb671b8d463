//! `/superuser/...`: what only a superuser (with `super:user`) may do: list and create users,
//! list and delete organizations.

use annals_commands::CreateUser;
use annals_projections::queries::namespaces;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::Super;
use super::organizations::{Avatar, avatar};
use crate::access::{password, tokens};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuperUserUser {
    /// `user`.
    pub kind: String,
    pub name: String,
    pub username: String,
    pub email: String,
    pub verified: bool,
    pub avatar: Avatar,
    pub super_user: bool,
    pub enabled: bool,
}

/// `{users: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuperUserUsers {
    pub users: Vec<SuperUserUser>,
}

/// Returns a list of all users in the system.
#[utoipa::path(get, path = "/api/v1/superuser/users/", operation_id = "listAllUsers", tag = "superuser",
    responses((status = 200, description = "`{users: [...]}`", body = SuperUserUsers)))]
pub async fn users(
    State(state): State<AppState>,
    _su: Super,
) -> Result<Json<SuperUserUsers>, QuayError> {
    let found = namespaces::of_kind(state.db().as_ref(), "user").await?;
    Ok(Json(SuperUserUsers {
        users: found
            .into_iter()
            .map(|u| SuperUserUser {
                kind: "user".into(),
                avatar: avatar(&u.name, "user"),
                username: u.name.clone(),
                name: u.name,
                email: u.email.unwrap_or_default(),
                verified: true,
                super_user: u.super_user,
                enabled: true,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// The username of the user being created.
    #[schema(
        min_length = 2,
        max_length = 255,
        pattern = r"^[a-z0-9]+([._-][a-z0-9]+)*$"
    )]
    pub username: String,
    /// The email address of the user being created.
    pub email: Option<String>,
}

/// The created user and its generated password, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    pub username: String,
    pub email: Option<String>,
    pub password: String,
    /// Quay's encrypted form of the password; Annals keeps none (always null).
    pub encrypted_password: Option<String>,
}

/// Creates a new user, with a generated password.
#[utoipa::path(post, path = "/api/v1/superuser/users/", operation_id = "createInstallUser", tag = "superuser",
    request_body = NewUser,
    responses((status = 200, description = "The user and its password (shown once)", body = CreatedUser),
        (status = 400, description = "Invalid or taken name")))]
pub async fn create_user(
    State(state): State<AppState>,
    Super(ctx): Super,
    QuayJson(body): QuayJson<NewUser>,
) -> Result<Json<CreatedUser>, QuayError> {
    let secret = tokens::password();
    let hash = password::hash(secret.clone())
        .await
        .map_err(QuayError::internal)?;
    let done = state
        .commands
        .create_user(
            &ctx.envelope,
            CreateUser {
                username: body.username.clone(),
                email: body.email.clone(),
                super_user: false,
                token: None,
                password_hash: Some(hash),
            },
        )
        .await?;
    state.settle(&done).await;
    Ok(Json(CreatedUser {
        username: body.username,
        email: body.email,
        password: secret,
        encrypted_password: None,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuperUserOrganization {
    pub name: String,
    pub email: String,
    pub avatar: Avatar,
}

/// `{organizations: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuperUserOrganizations {
    pub organizations: Vec<SuperUserOrganization>,
}

/// Returns a list of all organizations in the system.
#[utoipa::path(get, path = "/api/v1/superuser/organizations", operation_id = "listAllOrganizations", tag = "superuser",
    responses((status = 200, description = "`{organizations: [...]}`", body = SuperUserOrganizations)))]
pub async fn organizations(
    State(state): State<AppState>,
    _su: Super,
) -> Result<Json<SuperUserOrganizations>, QuayError> {
    let found = namespaces::of_kind(state.db().as_ref(), "organization").await?;
    Ok(Json(SuperUserOrganizations {
        organizations: found
            .into_iter()
            .map(|o| SuperUserOrganization {
                avatar: avatar(&o.name, "org"),
                name: o.name,
                email: o.email.unwrap_or_default(),
            })
            .collect(),
    }))
}

/// Deletes the specified organization.
#[utoipa::path(delete, path = "/api/v1/superuser/organizations/{name}", operation_id = "deleteOrganization", tag = "superuser",
    params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such organization")))]
pub async fn delete_organization(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(name): Path<String>,
) -> Result<StatusCode, QuayError> {
    let done = state
        .commands
        .delete_organization(&ctx.envelope, &name)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrganizationChange {
    /// The organization's name: renaming is refused (names are namespaces, and their history
    /// stays under the name it was made with).
    pub name: Option<String>,
    pub email: Option<String>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<String>,
    #[schema(minimum = 0, maximum = 31_536_000)]
    pub tag_expiration_s: Option<i64>,
}

/// Updates information about the specified organization.
#[utoipa::path(put, path = "/api/v1/superuser/organizations/{name}", operation_id = "changeOrganization", tag = "superuser",
    request_body = OrganizationChange, params(("name" = String, Path)),
    responses((status = 200, description = "The organization", body = SuperUserOrganization),
        (status = 400, description = "Invalid change, or a rename")))]
pub async fn change_organization(
    State(state): State<AppState>,
    Super(ctx): Super,
    Path(name): Path<String>,
    QuayJson(body): QuayJson<OrganizationChange>,
) -> Result<Json<SuperUserOrganization>, QuayError> {
    if body.name.as_ref().is_some_and(|n| *n != name) {
        return Err(QuayError::invalid_request(
            "Renaming an organization is not supported",
        ));
    }
    let update = annals_commands::UpdateOrganization {
        email: body.email,
        invoice_email: body.invoice_email,
        invoice_email_address: body.invoice_email_address,
        tag_expiration_s: body.tag_expiration_s,
    };
    let done = state
        .commands
        .update_organization(&ctx.envelope, &name, update)
        .await?;
    state.settle(&done).await;
    let org = namespaces::by_name(state.db().as_ref(), &name)
        .await?
        .filter(|n| n.is_organization())
        .ok_or_else(|| QuayError::not_found(format!("Organization {name} not found")))?;
    Ok(Json(SuperUserOrganization {
        avatar: avatar(&org.name, "org"),
        name: org.name,
        email: org.email.unwrap_or_default(),
    }))
}
