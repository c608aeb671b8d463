//! OAuth applications of an organization (`/organization/{orgname}/applications...`, for its
//! administrators) and their public face (`/app/{client_id}`). The client secret is shown when
//! it is made or reset, never again: only its SHA-256 is kept.

use annals_domain::application::{ApplicationCommand, ApplicationDetails};
use annals_projections::queries::applications::{self, ApplicationView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::guard::{InOrg, MaybeCaller, OrgAdmin};
use super::organizations::{Avatar, avatar};
use crate::access::resolve::token_digest;
use crate::access::tokens;
use crate::state::AppState;

/// An application as its organization's administrators see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Application {
    pub client_id: String,
    /// Only in the answer that made or reset it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub name: String,
    pub description: String,
    pub application_uri: String,
    pub redirect_uri: String,
    pub avatar_email: Option<String>,
    pub organization: String,
}

fn view(app: &ApplicationView, client_secret: Option<String>) -> Application {
    Application {
        client_id: app.client_id.clone(),
        client_secret,
        name: app.name.clone(),
        description: app.description.clone(),
        application_uri: app.application_uri.clone(),
        redirect_uri: app.redirect_uri.clone(),
        avatar_email: app.avatar_email.clone(),
        organization: app.org_name.clone(),
    }
}

/// `{applications: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApplicationList {
    pub applications: Vec<Application>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ApplicationInput {
    /// The name of the application.
    #[schema(max_length = 2048)]
    pub name: String,
    /// The URI for the application's homepage.
    #[serde(default)]
    pub application_uri: String,
    /// The URI where the application's tokens are answered.
    #[serde(default)]
    pub redirect_uri: String,
    /// The human-readable description for the application.
    #[serde(default)]
    pub description: String,
    /// The e-mail address of the avatar to use for the application.
    pub avatar_email: Option<String>,
}

impl From<ApplicationInput> for ApplicationDetails {
    fn from(i: ApplicationInput) -> Self {
        ApplicationDetails {
            name: i.name,
            description: i.description,
            application_uri: i.application_uri,
            redirect_uri: i.redirect_uri,
            avatar_email: i.avatar_email,
        }
    }
}

/// The organization's application `client_id`, or Quay's 404.
async fn find(
    state: &AppState,
    guard: &InOrg<OrgAdmin>,
    client_id: &str,
) -> Result<ApplicationView, QuayError> {
    applications::get(state.db().as_ref(), client_id)
        .await?
        .filter(|a| a.org_id == guard.org.id)
        .ok_or_else(|| QuayError::not_found(format!("No application {client_id}")))
}

async fn run(
    state: &AppState,
    ctx: &Ctx,
    org: &str,
    command: ApplicationCommand,
) -> Result<(), QuayError> {
    let done = state
        .commands
        .application_command(&ctx.envelope, org, command)
        .await?;
    state.settle(&done).await;
    Ok(())
}

/// List the applications for the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/applications", operation_id = "getOrganizationApplications", tag = "organization",
    params(("orgname" = String, Path)),
    responses((status = 200, description = "`{applications: [...]}`", body = ApplicationList)))]
pub async fn list(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
) -> Result<Json<ApplicationList>, QuayError> {
    let found = applications::list(state.db().as_ref(), guard.org.id).await?;
    Ok(Json(ApplicationList {
        applications: found.iter().map(|a| view(a, None)).collect(),
    }))
}

/// Creates a new application under this organization.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/applications", operation_id = "createOrganizationApplication", tag = "organization",
    request_body = ApplicationInput, params(("orgname" = String, Path)),
    responses((status = 200, description = "The application, with its client secret (shown once)", body = Application)))]
pub async fn create(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    QuayJson(body): QuayJson<ApplicationInput>,
) -> Result<Json<Application>, QuayError> {
    // A retried request makes the same application.
    let client_id = guard
        .ctx
        .envelope
        .derived_id("application")
        .simple()
        .to_string()[..20]
        .to_ascii_uppercase();
    let secret = tokens::oauth_secret();
    let command = ApplicationCommand::Create {
        client_id: client_id.clone(),
        details: body.into(),
        client_secret_sha256: token_digest(&secret),
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(Json(view(
        &find(&state, &guard, &client_id).await?,
        Some(secret),
    )))
}

/// Retrieves the application with the specified client_id under the specified organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/applications/{client_id}", operation_id = "getOrganizationApplication", tag = "organization",
    params(("orgname" = String, Path), ("client_id" = String, Path)),
    responses((status = 200, description = "The application", body = Application)))]
pub async fn get(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<Json<Application>, QuayError> {
    Ok(Json(view(&find(&state, &guard, &path.1).await?, None)))
}

/// Updates an application under this organization.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/applications/{client_id}", operation_id = "updateOrganizationApplication", tag = "organization",
    request_body = ApplicationInput, params(("orgname" = String, Path), ("client_id" = String, Path)),
    responses((status = 200, description = "The application", body = Application)))]
pub async fn update(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
    QuayJson(body): QuayJson<ApplicationInput>,
) -> Result<Json<Application>, QuayError> {
    let client_id = find(&state, &guard, &path.1).await?.client_id;
    let command = ApplicationCommand::Update {
        client_id: client_id.clone(),
        details: body.into(),
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(Json(view(&find(&state, &guard, &client_id).await?, None)))
}

/// Deletes the application under this organization, and every token it minted.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/applications/{client_id}", operation_id = "deleteOrganizationApplication", tag = "organization",
    params(("orgname" = String, Path), ("client_id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, QuayError> {
    let client_id = find(&state, &guard, &path.1).await?.client_id;
    run(
        &state,
        &guard.ctx,
        &guard.org.name,
        ApplicationCommand::Delete { client_id },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets the client secret associated with this application.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/applications/{client_id}/resetclientsecret", operation_id = "resetOrganizationApplicationClientSecret", tag = "organization",
    params(("orgname" = String, Path), ("client_id" = String, Path)),
    responses((status = 200, description = "The application, with its new client secret (shown once)", body = Application)))]
pub async fn reset_secret(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path(path): Path<(String, String)>,
) -> Result<impl IntoResponse, QuayError> {
    let client_id = find(&state, &guard, &path.1).await?.client_id;
    let secret = tokens::oauth_secret();
    let command = ApplicationCommand::ResetSecret {
        client_id: client_id.clone(),
        client_secret_sha256: token_digest(&secret),
    };
    run(&state, &guard.ctx, &guard.org.name, command).await?;
    Ok(Json(view(
        &find(&state, &guard, &client_id).await?,
        Some(secret),
    )))
}

/// What anyone may see of an application.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicApplication {
    pub name: String,
    pub description: String,
    pub uri: String,
    pub avatar: Avatar,
    pub organization: OrganizationRef,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationRef {
    pub name: String,
    pub avatar: Avatar,
}

/// Get information on the specified application.
#[utoipa::path(get, path = "/api/v1/app/{client_id}", operation_id = "getApplicationInformation", tag = "organization",
    params(("client_id" = String, Path)),
    responses((status = 200, description = "The application's public details", body = PublicApplication)))]
pub async fn public(
    State(state): State<AppState>,
    _caller: MaybeCaller,
    Path(client_id): Path<String>,
) -> Result<Json<PublicApplication>, QuayError> {
    let app = applications::get(state.db().as_ref(), &client_id)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("No application {client_id}")))?;
    Ok(Json(PublicApplication {
        avatar: avatar(app.avatar_email.as_deref().unwrap_or(&app.name), "app"),
        name: app.name,
        description: app.description,
        uri: app.application_uri,
        organization: OrganizationRef {
            avatar: avatar(&app.org_name, "org"),
            name: app.org_name,
        },
    }))
}
