//! `.../autoprunepolicy/...`: Quay's auto-prune policies of an organization
//! (`/organization/{orgname}/autoprunepolicy/`), of the caller's own namespace
//! (`/user/autoprunepolicy/`) and of a repository (`/repository/{repository}/autoprunepolicy/`,
//! routed by `repositories::dispatch`). For the namespace's or repository's administrators.
//! The worker that applies them is `workers/src/autoprune.rs`.

use annals_commands::{PolicyChange, PolicyTarget, RepositoryRef};
use annals_domain::NamespaceName;
use annals_domain::autoprune::PolicyConfig;
use annals_projections::queries::autoprune::{self, PolicyView};
use annals_projections::queries::namespaces;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::guard::{AccountAdmin, InOrg, OrgAdmin};
use super::repositories::{self, RepoPath};
use crate::state::AppState;

/// One policy, as Quay shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AutoprunePolicy {
    pub uuid: Uuid,
    /// `number_of_tags` or `creation_date`.
    pub method: String,
    /// A number of tags (`10`) or a duration (`7d`).
    #[schema(value_type = Object)]
    pub value: Value,
    /// The regular expression tag names are matched against; null: every tag.
    #[serde(rename = "tagPattern")]
    pub tag_pattern: Option<String>,
    /// Whether tags that match (true) or that do not match (false) the pattern are pruned.
    #[serde(rename = "tagPatternMatches")]
    pub tag_pattern_matches: bool,
}

/// `{policies: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AutoprunePolicies {
    pub policies: Vec<AutoprunePolicy>,
}

/// `{uuid}`: the policy created or deleted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyUuid {
    pub uuid: Uuid,
}

/// The policy configuration (Quay's `AutoPrunePolicyConfig`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AutoprunePolicyConfig {
    /// `number_of_tags` or `creation_date`.
    #[schema(pattern = "^(number_of_tags|creation_date)$")]
    pub method: String,
    /// A positive number of tags (`number_of_tags`), or a duration `<n><s|m|h|d|w|y>`
    /// (`creation_date`).
    #[schema(value_type = Object)]
    pub value: Value,
    /// Tags only matching this regular expression will be pruned.
    #[serde(rename = "tagPattern")]
    pub tag_pattern: Option<String>,
    /// Whether pruned tags should (default) or should not match `tagPattern`.
    #[serde(rename = "tagPatternMatches")]
    pub tag_pattern_matches: Option<bool>,
}

fn view(p: &PolicyView) -> AutoprunePolicy {
    AutoprunePolicy {
        uuid: p.uuid,
        method: p.policy.method.as_str().to_owned(),
        value: p.policy.value.to_json(),
        tag_pattern: p.policy.tag_pattern.clone(),
        tag_pattern_matches: p.policy.tag_pattern_matches,
    }
}

/// Checks a body against Quay's rules (an object with `method` and `value`, ...).
fn config(body: &Value) -> Result<PolicyConfig, QuayError> {
    let Some(body) = body.as_object() else {
        return Err(QuayError::invalid_request(
            "The request body must be a JSON object",
        ));
    };
    Ok(PolicyConfig::parse(
        body.get("method"),
        body.get("value"),
        body.get("tagPattern"),
        body.get("tagPatternMatches"),
    )?)
}

fn policy_uuid(raw: &str) -> Result<Uuid, QuayError> {
    Uuid::parse_str(raw).map_err(|_| QuayError::not_found(format!("Policy not found: {raw}")))
}

/// Whose policies a route names, resolved.
struct Scope {
    target: PolicyTarget,
    namespace_id: Uuid,
    repository_id: Option<Uuid>,
}

impl Scope {
    async fn list(&self, state: &AppState) -> Result<Vec<PolicyView>, QuayError> {
        let db = state.db();
        Ok(match self.repository_id {
            Some(id) => autoprune::of_repository(db.as_ref(), id).await?,
            None => autoprune::of_namespace(db.as_ref(), self.namespace_id).await?,
        })
    }

    async fn find(&self, state: &AppState, uuid: Uuid) -> Result<PolicyView, QuayError> {
        self.list(state)
            .await?
            .into_iter()
            .find(|p| p.uuid == uuid)
            .ok_or_else(|| QuayError::not_found(format!("Policy not found: {uuid}")))
    }
}

async fn org_scope(org_id: Uuid, name: &str) -> Result<Scope, QuayError> {
    Ok(Scope {
        target: PolicyTarget::Namespace(NamespaceName::parse(name)?),
        namespace_id: org_id,
        repository_id: None,
    })
}

async fn user_scope(state: &AppState, ctx: &Ctx) -> Result<Scope, QuayError> {
    let name = &ctx.caller.username;
    let ns = namespaces::by_name(state.db().as_ref(), name)
        .await?
        .filter(|n| !n.is_organization())
        .ok_or_else(|| QuayError::not_found(format!("User {name} not found")))?;
    Ok(Scope {
        target: PolicyTarget::Namespace(NamespaceName::parse(&ns.name)?),
        namespace_id: ns.id,
        repository_id: None,
    })
}

async fn repo_scope(state: &AppState, path: &RepoPath) -> Result<Scope, QuayError> {
    let target: RepositoryRef = path.parse()?;
    let (ns, repo) = repositories::located(state, &target)
        .await?
        .ok_or_else(|| QuayError::not_found(format!("Repository {} not found", path.0)))?;
    Ok(Scope {
        target: PolicyTarget::Repository(target),
        namespace_id: ns.id,
        repository_id: Some(repo.id),
    })
}

async fn list(state: &AppState, scope: Scope) -> Result<Json<AutoprunePolicies>, QuayError> {
    Ok(Json(AutoprunePolicies {
        policies: scope.list(state).await?.iter().map(view).collect(),
    }))
}

async fn create(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope,
    body: &Value,
) -> Result<Response, QuayError> {
    let policy = config(body)?;
    let uuid = ctx.envelope.derived_id("autoprune-policy");
    let done = state
        .commands
        .autoprune_policy(
            &ctx.envelope,
            &scope.target,
            PolicyChange::Create {
                policy_uuid: uuid,
                policy,
            },
        )
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json(PolicyUuid { uuid })).into_response())
}

async fn get(
    state: &AppState,
    scope: Scope,
    raw: &str,
) -> Result<Json<AutoprunePolicy>, QuayError> {
    Ok(Json(view(&scope.find(state, policy_uuid(raw)?).await?)))
}

async fn update(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope,
    raw: &str,
    body: &Value,
) -> Result<Response, QuayError> {
    let uuid = policy_uuid(raw)?;
    let policy = config(body)?;
    let done = state
        .commands
        .autoprune_policy(
            &ctx.envelope,
            &scope.target,
            PolicyChange::Update {
                policy_uuid: uuid,
                policy,
            },
        )
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete(
    state: &AppState,
    ctx: &Ctx,
    scope: Scope,
    raw: &str,
) -> Result<Json<PolicyUuid>, QuayError> {
    let uuid = policy_uuid(raw)?;
    let done = state
        .commands
        .autoprune_policy(
            &ctx.envelope,
            &scope.target,
            PolicyChange::Delete { policy_uuid: uuid },
        )
        .await?;
    state.settle(&done).await;
    Ok(Json(PolicyUuid { uuid }))
}

// --- Organization routes. ---

/// Lists the auto-prune policies for the organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/autoprunepolicy/", operation_id = "listOrganizationAutoPrunePolicies", tag = "policy",
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 200, description = "`{policies: [...]}`", body = AutoprunePolicies)))]
pub async fn org_list(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
) -> Result<Json<AutoprunePolicies>, QuayError> {
    list(&state, org_scope(guard.org.id, &guard.org.name).await?).await
}

/// Creates an auto-prune policy for the organization.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/autoprunepolicy/", operation_id = "createOrganizationAutoPrunePolicy", tag = "policy",
    request_body = AutoprunePolicyConfig,
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 201, description = "`{uuid}`", body = PolicyUuid),
        (status = 400, description = "An invalid or duplicate policy")))]
pub async fn org_create(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    QuayJson(body): QuayJson<Value>,
) -> Result<Response, QuayError> {
    let scope = org_scope(guard.org.id, &guard.org.name).await?;
    create(&state, &guard.ctx, scope, &body).await
}

/// Fetches the auto-prune policy for the organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}", operation_id = "getOrganizationAutoPrunePolicy", tag = "policy",
    params(("orgname" = String, Path, description = "The name of the organization"),
        ("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 200, description = "The policy", body = AutoprunePolicy)))]
pub async fn org_get(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path((_orgname, raw)): Path<(String, String)>,
) -> Result<Json<AutoprunePolicy>, QuayError> {
    get(
        &state,
        org_scope(guard.org.id, &guard.org.name).await?,
        &raw,
    )
    .await
}

/// Updates the auto-prune policy for the organization.
#[utoipa::path(put, path = "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}", operation_id = "updateOrganizationAutoPrunePolicy", tag = "policy",
    request_body = AutoprunePolicyConfig,
    params(("orgname" = String, Path, description = "The name of the organization"),
        ("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 204, description = "Updated"), (status = 400, description = "An invalid policy")))]
pub async fn org_update(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path((_orgname, raw)): Path<(String, String)>,
    QuayJson(body): QuayJson<Value>,
) -> Result<Response, QuayError> {
    let scope = org_scope(guard.org.id, &guard.org.name).await?;
    update(&state, &guard.ctx, scope, &raw, &body).await
}

/// Deletes the auto-prune policy for the organization.
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}", operation_id = "deleteOrganizationAutoPrunePolicy", tag = "policy",
    params(("orgname" = String, Path, description = "The name of the organization"),
        ("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 200, description = "`{uuid}`", body = PolicyUuid)))]
pub async fn org_delete(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    Path((_orgname, raw)): Path<(String, String)>,
) -> Result<Json<PolicyUuid>, QuayError> {
    let scope = org_scope(guard.org.id, &guard.org.name).await?;
    delete(&state, &guard.ctx, scope, &raw).await
}

// --- The caller's own namespace. ---

/// Lists the auto-prune policies for the currently logged in user.
#[utoipa::path(get, path = "/api/v1/user/autoprunepolicy/", operation_id = "listUserAutoPrunePolicies", tag = "policy",
    responses((status = 200, description = "`{policies: [...]}`", body = AutoprunePolicies)))]
pub async fn user_list(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
) -> Result<Json<AutoprunePolicies>, QuayError> {
    list(&state, user_scope(&state, &ctx).await?).await
}

/// Creates an auto-prune policy for the currently logged in user.
#[utoipa::path(post, path = "/api/v1/user/autoprunepolicy/", operation_id = "createUserAutoPrunePolicy", tag = "policy",
    request_body = AutoprunePolicyConfig,
    responses((status = 201, description = "`{uuid}`", body = PolicyUuid),
        (status = 400, description = "An invalid or duplicate policy")))]
pub async fn user_create(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    QuayJson(body): QuayJson<Value>,
) -> Result<Response, QuayError> {
    let scope = user_scope(&state, &ctx).await?;
    create(&state, &ctx, scope, &body).await
}

/// Fetches the auto-prune policy for the currently logged in user.
#[utoipa::path(get, path = "/api/v1/user/autoprunepolicy/{policy_uuid}", operation_id = "getUserAutoPrunePolicy", tag = "policy",
    params(("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 200, description = "The policy", body = AutoprunePolicy)))]
pub async fn user_get(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    Path(raw): Path<String>,
) -> Result<Json<AutoprunePolicy>, QuayError> {
    get(&state, user_scope(&state, &ctx).await?, &raw).await
}

/// Updates the auto-prune policy for the currently logged in user.
#[utoipa::path(put, path = "/api/v1/user/autoprunepolicy/{policy_uuid}", operation_id = "updateUserAutoPrunePolicy", tag = "policy",
    request_body = AutoprunePolicyConfig,
    params(("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 204, description = "Updated"), (status = 400, description = "An invalid policy")))]
pub async fn user_update(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    Path(raw): Path<String>,
    QuayJson(body): QuayJson<Value>,
) -> Result<Response, QuayError> {
    let scope = user_scope(&state, &ctx).await?;
    update(&state, &ctx, scope, &raw, &body).await
}

/// Deletes the auto-prune policy for the currently logged in user.
#[utoipa::path(delete, path = "/api/v1/user/autoprunepolicy/{policy_uuid}", operation_id = "deleteUserAutoPrunePolicy", tag = "policy",
    params(("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 200, description = "`{uuid}`", body = PolicyUuid)))]
pub async fn user_delete(
    State(state): State<AppState>,
    AccountAdmin(ctx): AccountAdmin,
    Path(raw): Path<String>,
) -> Result<Json<PolicyUuid>, QuayError> {
    let scope = user_scope(&state, &ctx).await?;
    delete(&state, &ctx, scope, &raw).await
}

// --- Repository routes (checked as `admin` in `repositories::dispatch`). ---

/// The `{policy_uuid}` of a repository policy route.
#[derive(Debug, Clone)]
pub struct PolicyPath(pub String);

/// Lists the auto-prune policies for the repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/autoprunepolicy/", operation_id = "listRepositoryAutoPrunePolicies", tag = "policy",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{policies: [...]}`", body = AutoprunePolicies)))]
pub async fn repo_list(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<AutoprunePolicies>, QuayError> {
    list(&state, repo_scope(&state, &path).await?).await
}

/// Creates an auto-prune policy for the repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/autoprunepolicy/", operation_id = "createRepositoryAutoPrunePolicy", tag = "policy",
    request_body = AutoprunePolicyConfig,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 201, description = "`{uuid}`", body = PolicyUuid),
        (status = 400, description = "An invalid or duplicate policy")))]
pub async fn repo_create(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<Value>,
) -> Result<Response, QuayError> {
    let scope = repo_scope(&state, &path).await?;
    create(&state, &ctx, scope, &body).await
}

/// Fetches the auto-prune policy for the repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/autoprunepolicy/{policy_uuid}", operation_id = "getRepositoryAutoPrunePolicy", tag = "policy",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 200, description = "The policy", body = AutoprunePolicy)))]
pub async fn repo_get(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(PolicyPath(raw)): Extension<PolicyPath>,
) -> Result<Json<AutoprunePolicy>, QuayError> {
    get(&state, repo_scope(&state, &path).await?, &raw).await
}

/// Updates the auto-prune policy for the repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/autoprunepolicy/{policy_uuid}", operation_id = "updateRepositoryAutoPrunePolicy", tag = "policy",
    request_body = AutoprunePolicyConfig,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 204, description = "Updated"), (status = 400, description = "An invalid policy")))]
pub async fn repo_update(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(PolicyPath(raw)): Extension<PolicyPath>,
    QuayJson(body): QuayJson<Value>,
) -> Result<Response, QuayError> {
    let scope = repo_scope(&state, &path).await?;
    update(&state, &ctx, scope, &raw, &body).await
}

/// Deletes the auto-prune policy for the repository.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/autoprunepolicy/{policy_uuid}", operation_id = "deleteRepositoryAutoPrunePolicy", tag = "policy",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("policy_uuid" = String, Path, description = "The unique ID of the policy")),
    responses((status = 200, description = "`{uuid}`", body = PolicyUuid)))]
pub async fn repo_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(PolicyPath(raw)): Extension<PolicyPath>,
) -> Result<Json<PolicyUuid>, QuayError> {
    let scope = repo_scope(&state, &path).await?;
    delete(&state, &ctx, scope, &raw).await
}
