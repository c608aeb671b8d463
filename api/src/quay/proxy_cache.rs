//! `/api/v1/organization/{orgname}/proxycache` and `.../validateproxycache`: Quay's proxy cache
//! configuration (members read it, administrators create, delete and validate it, as Quay's
//! `organization.py`). The upstream password is kept beside the mirrors' (never in an event,
//! never answered); pulls through the cache are the OCI listener's (`oci/proxy.rs`).

use annals_domain::proxy_cache::{self, ProxyCacheCommand, ProxyCacheConfig};
use annals_projections::queries::proxy_cache as queries;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::QuayError;
use super::extract::QuayJson;
use super::guard::{InOrg, Member, OrgAdmin};
use super::mirror::keep_password;
use crate::state::AppState;
use annals_workers::proxy_cache as proxy_cache_worker;
use annals_workers::upstream::{Login, Upstream, UpstreamError};

/// Quay's `NewProxyCacheConfig`: `upstream_registry` is required.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxyCacheBody {
    /// Quay's clients send the organization's name too; the path names it here, so this is
    /// accepted and not used.
    pub org_name: Option<String>,
    /// `host[:port][/namespace]` of the registry to cache, such as `quay.io/projectquay`.
    pub upstream_registry: Option<String>,
    pub upstream_registry_username: Option<String>,
    /// Kept for the cache, never answered back.
    pub upstream_registry_password: Option<String>,
    /// Seconds a fetched tag is served without asking the upstream (1 to one year; a day when
    /// left out).
    #[schema(minimum = 1, maximum = 31536000)]
    pub expiration_s: Option<i64>,
    /// Plain HTTP allowed and TLS not verified.
    pub insecure: Option<bool>,
}

/// An organization's proxy cache configuration.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProxyCacheSettings {
    pub upstream_registry: String,
    pub expiration_s: u64,
    pub insecure: bool,
}

/// What Quay answers for an organization that caches nothing: every field an empty string.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoProxyCache {
    #[schema(example = "")]
    pub upstream_registry: &'static str,
    #[schema(example = "")]
    pub expiration_s: &'static str,
    #[schema(example = "")]
    pub insecure: &'static str,
}

/// Quay's `proxy_cache_view`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ProxyCacheView {
    Configured(ProxyCacheSettings),
    None(NoProxyCache),
}

/// The configuration a body asks for, checked; the password is not kept yet.
fn parse(body: &ProxyCacheBody) -> Result<ProxyCacheConfig, QuayError> {
    let upstream_registry = body
        .upstream_registry
        .clone()
        .ok_or_else(|| QuayError::invalid_request("'upstream_registry' is a required property"))?;
    let expiration_s = match body.expiration_s {
        None => proxy_cache::DEFAULT_EXPIRATION_S,
        Some(s) => u64::try_from(s).unwrap_or(0),
    };
    let config = ProxyCacheConfig {
        upstream_registry,
        username: body
            .upstream_registry_username
            .clone()
            .filter(|u| !u.is_empty()),
        credential_id: None,
        expiration_s,
        insecure: body.insecure.unwrap_or(false),
    };
    proxy_cache::check_config(&config)?;
    if let Some(password) = &body.upstream_registry_password {
        annals_domain::mirror::check_setting(password)?;
    }
    Ok(config)
}

/// The password a body gives, if any.
fn password(body: &ProxyCacheBody) -> Option<&str> {
    body.upstream_registry_password
        .as_deref()
        .filter(|p| !p.is_empty())
}

/// Retrieves the proxy cache configuration of the organization.
#[utoipa::path(get, path = "/api/v1/organization/{orgname}/proxycache", operation_id = "getProxyCacheConfig", tag = "organization",
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 200, description = "The configuration (never the password); every field empty when there is none", body = ProxyCacheView)))]
pub async fn get(
    State(state): State<AppState>,
    guard: InOrg<Member>,
) -> Result<Json<ProxyCacheView>, QuayError> {
    Ok(Json(
        match queries::config(state.db().as_ref(), guard.org.id).await? {
            Some(c) => ProxyCacheView::Configured(ProxyCacheSettings {
                upstream_registry: c.upstream_registry,
                expiration_s: c.expiration_s,
                insecure: c.insecure,
            }),
            None => ProxyCacheView::None(NoProxyCache {
                upstream_registry: "",
                expiration_s: "",
                insecure: "",
            }),
        },
    ))
}

/// Creates proxy cache configuration for the organization: from then on its repositories are
/// fetched from the upstream, and only the cache pushes into it.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/proxycache", operation_id = "createProxyCacheConfig", tag = "organization",
    request_body = ProxyCacheBody,
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 201, description = "`\"Created\"`, as Quay's", body = String, content_type = "application/json", example = json!("Created")),
        (status = 400, description = "Invalid settings, or a configuration exists already")))]
pub async fn create(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
    QuayJson(body): QuayJson<ProxyCacheBody>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    let mut config = parse(&body)?;
    // Quay's answer before anything is kept; the command decides again.
    if queries::config(state.db().as_ref(), guard.org.id)
        .await?
        .is_some()
    {
        return Err(QuayError::invalid_request(
            "Proxy Cache Configuration already exists",
        ));
    }
    if let Some(password) = password(&body) {
        config.credential_id = Some(keep_password(&state, &guard.ctx, password).await?);
    }
    let done = state
        .commands
        .proxy_cache_command(
            &guard.ctx.envelope,
            &guard.org.name,
            ProxyCacheCommand::Create(config),
        )
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("Created")))
}

/// Delete proxy cache configuration for the organization (what it fetched stays).
#[utoipa::path(delete, path = "/api/v1/organization/{orgname}/proxycache", operation_id = "deleteProxyCacheConfig", tag = "organization",
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 201, description = "`\"Deleted\"`, as Quay's", body = String, content_type = "application/json", example = json!("Deleted")),
        (status = 404, description = "No such organization, or it caches nothing")))]
pub async fn delete(
    State(state): State<AppState>,
    guard: InOrg<OrgAdmin>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    let done = state
        .commands
        .proxy_cache_command(
            &guard.ctx.envelope,
            &guard.org.name,
            ProxyCacheCommand::Delete,
        )
        .await?;
    state.settle(&done).await;
    Ok((StatusCode::CREATED, Json("Deleted")))
}

/// Validates a proxy cache configuration against its upstream: `"Valid"` when the credentials
/// are accepted, `"Anonymous"` when none are given and anonymous pulls work. Nothing is kept.
#[utoipa::path(post, path = "/api/v1/organization/{orgname}/validateproxycache", operation_id = "validateProxyCacheConfig", tag = "organization",
    request_body = ProxyCacheBody,
    params(("orgname" = String, Path, description = "The name of the organization")),
    responses((status = 202, description = "`\"Valid\"` or `\"Anonymous\"`", body = String, content_type = "application/json", example = json!("Valid")),
        (status = 400, description = "Invalid settings, or the upstream refused the login")))]
pub async fn validate(
    State(state): State<AppState>,
    _guard: InOrg<OrgAdmin>,
    QuayJson(body): QuayJson<ProxyCacheBody>,
) -> Result<(StatusCode, Json<&'static str>), QuayError> {
    let config = parse(&body)?;
    let endpoint = proxy_cache_worker::endpoint(&config, password(&body).map(str::to_owned));
    let failed = || {
        QuayError::invalid_request(
            "Failed login to remote registry. Please verify entered details and try again.",
        )
    };
    let upstream = Upstream::connect(&endpoint, &state.upstream)
        .await
        .map_err(|e| match e {
            UpstreamError::Blocked(_) => QuayError::invalid_request(e.to_string()),
            _ => failed(),
        })?;
    let namespace = config
        .upstream_registry
        .split_once('/')
        .map_or("library", |(_, ns)| ns);
    match upstream.login(namespace).await {
        Ok(Login::Authenticated) => Ok((StatusCode::ACCEPTED, Json("Valid"))),
        Ok(Login::Anonymous) => Ok((StatusCode::ACCEPTED, Json("Anonymous"))),
        Err(_) => Err(failed()),
    }
}
