//! `/api/v1/repository...`: create, list, read, update, change visibility and state, delete.
//!
//! Quay addresses a repository as `{repository}` = `namespace/name`, and names may contain `/`,
//! so one wildcard route takes everything under `/api/v1/repository/` and [`dispatch`] splits
//! off the action suffix (`changevisibility`, `changestate`, `logs`, `aggregatelogs`).

use annals_commands::{CreateRepository, RepositoryRef};
use annals_projections::queries::namespaces;
use annals_projections::queries::repositories::{self, ListFilter, RepositoryView};
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::QuayError;
use super::extract::{Ctx, QuayJson, QuayQuery};
use super::logs;
use crate::state::AppState;

/// Repositories per list page, as Quay.
const PAGE: usize = 100;

/// The `namespace/name` part of a repository route.
#[derive(Debug, Clone)]
pub struct RepoPath(pub String);

impl RepoPath {
    pub fn parse(&self) -> Result<RepositoryRef, QuayError> {
        Ok(RepositoryRef::parse(&self.0)?)
    }
}

/// Routes `/api/v1/repository/{repository}[/{action}]` to its handler.
pub async fn dispatch(State(state): State<AppState>, mut req: Request) -> Response {
    let rest = req
        .uri()
        .path()
        .trim_start_matches("/api/v1/repository/")
        .trim_end_matches('/')
        .to_owned();
    let (repo, action) = match rest.rsplit_once('/') {
        Some((repo, action @ ("changevisibility" | "changestate" | "logs" | "aggregatelogs")))
            if repo.contains('/') =>
        {
            (repo.to_owned(), action)
        }
        _ => (rest, ""),
    };
    req.extensions_mut().insert(RepoPath(repo));
    let method = req.method().clone();
    match (method, action) {
        (Method::GET, "") => get.call(req, state).await,
        (Method::PUT, "") => update.call(req, state).await,
        (Method::DELETE, "") => delete.call(req, state).await,
        (Method::POST, "changevisibility") => change_visibility.call(req, state).await,
        (Method::PUT, "changestate") => change_state.call(req, state).await,
        (Method::GET, "logs") => logs::repository_logs.call(req, state).await,
        (Method::GET, "aggregatelogs") => logs::repository_aggregate.call(req, state).await,
        _ => QuayError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "Method not allowed on this route",
        )
        .into_response(),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRepository {
    /// Repository name.
    pub repository: String,
    /// `public` or `private`.
    pub visibility: String,
    /// Namespace to create it in; the caller's own when omitted.
    pub namespace: Option<String>,
    /// Markdown description.
    #[serde(default)]
    pub description: Option<String>,
    /// `image` (default) or `application`.
    pub repo_kind: Option<String>,
}

/// Create a new repository.
#[utoipa::path(post, path = "/api/v1/repository", tag = "repository", request_body = NewRepository,
    responses((status = 201, description = "`{namespace, name, kind}`"), (status = 400, description = "Invalid or duplicate"),
        (status = 404, description = "Unknown namespace")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    QuayJson(body): QuayJson<NewRepository>,
) -> Result<impl IntoResponse, QuayError> {
    let namespace = body
        .namespace
        .unwrap_or_else(|| ctx.caller.username.clone());
    let command = CreateRepository {
        namespace: namespace.clone(),
        name: body.repository.clone(),
        visibility: body.visibility,
        description: body.description.unwrap_or_default(),
        kind: body.repo_kind.clone(),
    };
    let done = state
        .commands
        .create_repository(&ctx.envelope, command)
        .await?;
    state.settle(&done).await;
    let kind = body.repo_kind.unwrap_or_else(|| "image".into());
    Ok((
        StatusCode::CREATED,
        Json(json!({"namespace": namespace, "name": body.repository, "kind": kind})),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    next_page: Option<String>,
    repo_kind: Option<String>,
    #[serde(default)]
    popularity: bool,
    #[serde(default)]
    last_modified: bool,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    starred: bool,
    namespace: Option<String>,
}

/// Fetch the list of repositories visible to the current user.
#[utoipa::path(get, path = "/api/v1/repository", tag = "repository",
    params(("namespace" = Option<String>, Query, description = "Filters the repositories returned to this namespace"),
        ("public" = Option<bool>, Query, description = "Adds public repositories"),
        ("starred" = Option<bool>, Query, description = "Only starred repositories"),
        ("next_page" = Option<String>, Query, description = "The page token for the next page"),
        ("repo_kind" = Option<String>, Query, description = "The kind of repositories to return"),
        ("popularity" = Option<bool>, Query, description = "Include the popularity metric"),
        ("last_modified" = Option<bool>, Query, description = "Include when the repository was last modified")),
    responses((status = 200, description = "`{repositories, next_page?}`"), (status = 400, description = "No filter given")))]
pub async fn list(
    State(state): State<AppState>,
    _ctx: Ctx,
    QuayQuery(params): QuayQuery<ListParams>,
) -> Result<Json<Value>, QuayError> {
    let filter = match (&params.namespace, params.public, params.starred) {
        (Some(namespace), _, _) => ListFilter::Namespace(namespace.clone()),
        (None, true, _) => ListFilter::Public,
        // Stars are not modelled yet: nobody has starred anything.
        (None, false, true) => return Ok(Json(json!({"repositories": []}))),
        (None, false, false) => {
            return Err(QuayError::invalid_request(
                "namespace, starred or public are required for this API call",
            ));
        }
    };
    let after = params.next_page.as_deref().map(decode_cursor).transpose()?;
    let (repos, more) = repositories::list(
        state.db().as_ref(),
        &filter,
        params.repo_kind.as_deref(),
        after,
        PAGE,
    )
    .await?;
    let items: Vec<Value> = repos
        .iter()
        .map(|r| {
            let mut item = json!({
                "namespace": r.namespace,
                "name": r.name,
                "description": r.description,
                "is_public": r.is_public(),
                "kind": r.kind,
                "state": r.state,
                "is_starred": false,
            });
            if params.last_modified {
                item["last_modified"] = json!(r.last_modified / 1_000_000);
            }
            if params.popularity {
                item["popularity"] = json!(0.0);
            }
            item
        })
        .collect();
    let mut body = json!({ "repositories": items });
    if let (true, Some(last)) = (more, repos.last()) {
        body["next_page"] = json!(encode_cursor(&last.namespace, &last.name));
    }
    Ok(Json(body))
}

fn encode_cursor(namespace: &str, name: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!([namespace, name]).to_string())
}

fn decode_cursor(token: &str) -> Result<(String, String), QuayError> {
    let invalid = || QuayError::invalid_request("Invalid next_page token");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    serde_json::from_slice::<(String, String)>(&bytes).map_err(|_| invalid())
}

/// The live repository a route names, or Quay's 404.
pub async fn find(state: &AppState, path: &RepoPath) -> Result<RepositoryView, QuayError> {
    let target = path.parse()?;
    repositories::get(
        state.db().as_ref(),
        target.namespace.as_str(),
        target.name.as_str(),
    )
    .await?
    .ok_or_else(|| QuayError::not_found(format!("Repository {} not found", path.0)))
}

/// Fetch the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}", tag = "repository",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("includeTags" = Option<bool>, Query, description = "Whether to include repository tags"),
        ("includeStats" = Option<bool>, Query, description = "Whether to include action statistics")),
    responses((status = 200, description = "The repository"), (status = 404, description = "No such repository")))]
pub async fn get(
    State(state): State<AppState>,
    _ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<Value>, QuayError> {
    let repo = find(&state, &path).await?;
    let namespace = namespaces::by_id(state.db().as_ref(), repo.namespace_id).await?;
    let (is_org, tag_expiration_s) =
        namespace.map_or((false, 0), |n| (n.is_organization(), n.tag_expiration_s));
    Ok(Json(json!({
        "namespace": repo.namespace,
        "name": repo.name,
        "kind": repo.kind,
        "description": repo.description,
        "is_public": repo.is_public(),
        "is_organization": is_org,
        "is_starred": false,
        "status_token": "",
        "trust_enabled": false,
        "tag_expiration_s": tag_expiration_s,
        "is_free_account": true,
        "state": repo.state,
        "tags": {},
        "can_write": true,
        "can_admin": true,
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RepositoryUpdate {
    /// Markdown description.
    pub description: String,
}

/// Update the description in the specified repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}", tag = "repository", request_body = RepositoryUpdate,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{\"success\": true}`"), (status = 404, description = "No such repository")))]
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<RepositoryUpdate>,
) -> Result<Json<Value>, QuayError> {
    let done = state
        .commands
        .change_repository_description(&ctx.envelope, &path.parse()?, body.description)
        .await?;
    state.settle(&done).await;
    Ok(Json(json!({"success": true})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VisibilityChange {
    /// `public` or `private`.
    pub visibility: String,
}

/// Change the visibility of a repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/changevisibility", tag = "repository",
    request_body = VisibilityChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{\"success\": true}`"), (status = 400, description = "Invalid visibility"),
        (status = 404, description = "No such repository")))]
pub async fn change_visibility(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<VisibilityChange>,
) -> Result<Json<Value>, QuayError> {
    let done = state
        .commands
        .change_repository_visibility(&ctx.envelope, &path.parse()?, &body.visibility)
        .await?;
    state.settle(&done).await;
    Ok(Json(json!({"success": true})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StateChange {
    /// `NORMAL`, `READ_ONLY` or `MIRROR`.
    pub state: String,
}

/// Change the state of a repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/changestate", tag = "repository", request_body = StateChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{\"success\": true}`"), (status = 400, description = "Invalid state"),
        (status = 404, description = "No such repository")))]
pub async fn change_state(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<StateChange>,
) -> Result<Json<Value>, QuayError> {
    let done = state
        .commands
        .change_repository_state(&ctx.envelope, &path.parse()?, &body.state)
        .await?;
    state.settle(&done).await;
    Ok(Json(json!({"success": true})))
}

/// Delete a repository.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}", tag = "repository",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such repository")))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<StatusCode, QuayError> {
    let done = state
        .commands
        .delete_repository(&ctx.envelope, &path.parse()?)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}
