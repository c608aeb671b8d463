//! The registry itself: create, get, delete, the options to create one with, and name checks.

use annals_commands::CreateRegistry;
use annals_domain::NamespaceName;
use annals_domain::registry::{REGIONS, TIERS, Usage};
use annals_projections::queries::registries::RegistryView;
use annals_projections::queries::{content, namespaces, registries};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::DoError;
use super::extract::{Ctx, DoJson, account_registry, rfc3339};
use super::subscription::tier_json;
use crate::state::AppState;

/// What a registry holds now.
pub async fn usage(state: &AppState, registry: &RegistryView) -> Result<Usage, DoError> {
    let (repositories, storage_bytes) =
        content::namespace_usage(state.db().as_ref(), registry.namespace_id).await?;
    Ok(Usage {
        repositories,
        storage_bytes,
    })
}

pub async fn registry_json(state: &AppState, registry: &RegistryView) -> Result<Value, DoError> {
    let usage = usage(state, registry).await?;
    Ok(json!({"registry": {
        "name": registry.name,
        "storage_usage_bytes": usage.storage_bytes,
        "storage_usage_bytes_updated_at": rfc3339(chrono::Utc::now().timestamp_micros()),
        "created_at": rfc3339(registry.created_at),
        "region": registry.region,
    }}))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    name: Option<String>,
    subscription_tier_slug: Option<String>,
    region: Option<String>,
}

/// `POST /v2/registry`
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    DoJson(body): DoJson<CreateBody>,
) -> Result<Response, DoError> {
    let name = body
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| DoError::unprocessable("name is required"))?;
    let tier = body
        .subscription_tier_slug
        .filter(|t| !t.is_empty())
        .ok_or_else(|| DoError::unprocessable("subscription_tier_slug is required"))?;
    let done = state
        .commands
        .create_registry(
            &ctx.envelope,
            CreateRegistry {
                name,
                tier,
                region: body.region.unwrap_or_else(|| REGIONS[0].to_owned()),
                owner_id: ctx.caller.user_id,
            },
        )
        .await?;
    state.settle(&done).await;
    let registry = account_registry(&state, &ctx.caller).await?;
    Ok((
        StatusCode::CREATED,
        Json(registry_json(&state, &registry).await?),
    )
        .into_response())
}

/// `GET /v2/registry`
pub async fn get(State(state): State<AppState>, ctx: Ctx) -> Result<Json<Value>, DoError> {
    let registry = account_registry(&state, &ctx.caller).await?;
    Ok(Json(registry_json(&state, &registry).await?))
}

/// `DELETE /v2/registry`: the registry goes, and with it the namespace and everything in it.
pub async fn delete(State(state): State<AppState>, ctx: Ctx) -> Result<StatusCode, DoError> {
    account_registry(&state, &ctx.caller).await?;
    let done = state
        .commands
        .delete_registry(&ctx.envelope, ctx.caller.user_id)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v2/registry/options`
pub async fn options(State(state): State<AppState>, ctx: Ctx) -> Result<Json<Value>, DoError> {
    let usage = match registries::by_owner(state.db().as_ref(), ctx.caller.user_id).await? {
        Some(registry) => usage(&state, &registry).await?,
        None => Usage::default(),
    };
    let tiers: Vec<Value> = TIERS
        .iter()
        .map(|t| {
            let reasons = t.eligible(usage);
            let mut tier = tier_json(t);
            tier["eligible"] = reasons.is_empty().into();
            tier["eligibility_reasons"] = json!(reasons);
            tier
        })
        .collect();
    Ok(Json(json!({"options": {
        "available_regions": REGIONS,
        "subscription_tiers": tiers,
    }})))
}

#[derive(Debug, Deserialize)]
pub struct ValidateBody {
    name: Option<String>,
}

/// `POST /v2/registry/validate-name`: 204 when the name is well formed and free.
pub async fn validate_name(
    State(state): State<AppState>,
    _ctx: Ctx,
    DoJson(body): DoJson<ValidateBody>,
) -> Result<StatusCode, DoError> {
    let name = body
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| DoError::unprocessable("name is required"))?;
    let name = NamespaceName::parse(&name)?;
    if namespaces::by_name(state.db().as_ref(), name.as_str())
        .await?
        .is_some()
    {
        return Err(DoError::conflict(format!(
            "the name {name} is already in use"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
