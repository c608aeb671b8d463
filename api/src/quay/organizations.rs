//! `/api/v1/organization/...`: create, read, update and delete organizations.

use annals_commands::{CreateOrganization, UpdateOrganization};
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::teams::{self, TeamView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::{InOrg, Member, OrgAdmin, OrgCreator};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOrganization {
    /// Organization username.
    #[schema(
        min_length = 2,
        max_length = 255,
        pattern = r"^[a-z0-9]+([._-][a-z0-9]+)*$"
    )]
    pub name: String,
    /// Organization contact email.
    pub email: Option<String>,
    /// Accepted and ignored (Quay's recaptcha is disabled here).
    #[allow(dead_code)]
    pub recaptcha_response: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrganizationUpdate {
    pub email: Option<String>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<String>,
    /// Seconds a deleted tag stays restorable.
    #[schema(minimum = 0, maximum = 31_536_000)]
    pub tag_expiration_s: Option<i64>,
}

/// Create a new organization.
#[utoipa::path(post, path = "/api/v1/organization/", operation_id = "createOrganization", tag = "organization", request_body = NewOrganization,
    responses((status = 201, description = "Created", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid or taken name")))]
pub async fn create(
    State(state): State<AppState>,
    OrgCreator(ctx): OrgCreator,
    QuayJson(body): QuayJson<NewOrganization>,
) -> Result<impl IntoResponse, QuayError> {
    let done = state
        .commands
        .create_organization(
            &ctx.envelope,
            CreateOrganization {
                name: body.name,
                email: body.email,
            },
        )
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("Created")))
}

/// Get the details for the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}", operation_id = "getOrganization", tag = "organization",
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 200, description = "The organization", body = Organization), (status = 404, description = "No such organization")))]
pub async fn get(
    State(state): State<AppState>,
    guard: InOrg<Member>,
) -> Result<Json<Organization>, QuayError> {
    Ok(Json(view(&state, &guard.org, guard.is_admin()).await?))
}

/// Change the details for the specified organization.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}", operation_id = "changeOrganizationDetails", tag = "organization", request_body = OrganizationUpdate,
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 200, description = "The updated organization", body = Organization), (status = 400, description = "Invalid change"),
        (status = 404, description = "No such organization")))]
pub async fn update(
    State(state): State<AppState>,
    InOrg { ctx, org, .. }: InOrg<OrgAdmin>,
    QuayJson(body): QuayJson<OrganizationUpdate>,
) -> Result<Json<Organization>, QuayError> {
    let update = UpdateOrganization {
        email: body.email,
        invoice_email: body.invoice_email,
        invoice_email_address: body.invoice_email_address,
        tag_expiration_s: body.tag_expiration_s,
    };
    let done = state
        .commands
        .update_organization(&ctx.envelope, &org.name, update)
        .await?;
    state.settle(&done).await;
    Ok(Json(
        view(&state, &find(&state, &org.name).await?, true).await?,
    ))
}

/// Deletes the specified organization.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}", operation_id = "deleteAdminedOrganization", tag = "organization",
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such organization")))]
pub async fn delete(
    State(state): State<AppState>,
    InOrg { ctx, org, .. }: InOrg<OrgAdmin>,
) -> Result<StatusCode, QuayError> {
    let done = state
        .commands
        .delete_organization(&ctx.envelope, &org.name)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The live organization called `orgname`, or Quay's 404.
pub async fn find(state: &AppState, orgname: &str) -> Result<NamespaceView, QuayError> {
    namespaces::by_name(state.db().as_ref(), orgname)
        .await?
        .filter(NamespaceView::is_organization)
        .ok_or_else(|| QuayError::not_found(format!("Organization {orgname} not found")))
}

/// Quay's avatar of a user or organization.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Avatar {
    pub name: String,
    pub hash: String,
    pub color: String,
    /// `user` or `org`.
    pub kind: String,
}

pub fn avatar(name: &str, kind: &str) -> Avatar {
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    Avatar {
        name: name.to_owned(),
        hash: hash[..32].to_owned(),
        color: format!("#{}", &hash[..6]),
        kind: kind.to_owned(),
    }
}

/// A team of an organization, as the organization view lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Team {
    pub name: String,
    pub description: String,
    /// `member`, `creator` or `admin`.
    pub role: String,
    pub avatar: Avatar,
    pub can_view: bool,
    pub repo_count: i64,
    pub member_count: i64,
    pub is_synced: bool,
}

impl Team {
    pub fn from_view(team: &TeamView, can_view: bool) -> Self {
        Team {
            name: team.name.clone(),
            description: team.description.clone(),
            role: team.role.clone(),
            avatar: avatar(&team.name, "team"),
            can_view,
            repo_count: team.repo_count,
            member_count: team.member_count,
            is_synced: false,
        }
    }
}

/// An organization as Quay shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub name: String,
    pub email: String,
    pub avatar: Avatar,
    pub is_admin: bool,
    pub is_member: bool,
    /// Teams by name.
    pub teams: BTreeMap<String, Team>,
    pub ordered_teams: Vec<String>,
    pub invoice_email: bool,
    pub invoice_email_address: Option<String>,
    pub tag_expiration_s: i64,
    pub is_free_account: bool,
    /// The organization's quota (none or one), as Quay shows it to members.
    pub quotas: Vec<super::quotas::Quota>,
    /// What the organization stores against its quota.
    pub quota_report: super::quotas::QuotaReport,
}

/// The organization as a member sees it (`is_admin` for its administrators).
async fn view(
    state: &AppState,
    org: &NamespaceView,
    is_admin: bool,
) -> Result<Organization, QuayError> {
    let teams = teams::list(state.db().as_ref(), org.id).await?;
    let (quotas, quota_report) = super::quotas::report(state, org.id).await?;
    Ok(Organization {
        name: org.name.clone(),
        email: org.email.clone().unwrap_or_default(),
        avatar: avatar(&org.name, "org"),
        is_admin,
        is_member: true,
        ordered_teams: teams.iter().map(|t| t.name.clone()).collect(),
        teams: teams
            .iter()
            .map(|t| (t.name.clone(), Team::from_view(t, true)))
            .collect(),
        invoice_email: org.invoice_email,
        invoice_email_address: org.invoice_email_address.clone(),
        tag_expiration_s: org.tag_expiration_s,
        is_free_account: true,
        quotas,
        quota_report,
    })
}
