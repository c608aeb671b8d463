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
use serde::{Deserialize, Serialize};

use super::error::DoError;
use super::extract::{Ctx, DoJson, account_registry, rfc3339};
use super::subscription::{SubscriptionTier, tier_json};
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

/// A container registry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registry {
    pub name: String,
    pub storage_usage_bytes: u64,
    /// RFC 3339.
    pub storage_usage_bytes_updated_at: String,
    /// RFC 3339.
    pub created_at: String,
    pub region: String,
}

/// `{registry}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryBody {
    pub registry: Registry,
}

pub async fn registry_json(
    state: &AppState,
    registry: &RegistryView,
) -> Result<RegistryBody, DoError> {
    let usage = usage(state, registry).await?;
    Ok(RegistryBody {
        registry: Registry {
            name: registry.name.clone(),
            storage_usage_bytes: usage.storage_bytes,
            storage_usage_bytes_updated_at: rfc3339(chrono::Utc::now().timestamp_micros()),
            created_at: rfc3339(registry.created_at),
            region: registry.region.clone(),
        },
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegistryCreate {
    /// A globally unique name for the container registry (required).
    #[schema(value_type = String, required = true, min_length = 2, max_length = 255, pattern = r"^[a-z0-9]+([._-][a-z0-9]+)*$")]
    name: Option<String>,
    /// The slug of the subscription tier to sign up for (required).
    #[schema(value_type = String, required = true, pattern = "^(starter|basic|professional)$")]
    subscription_tier_slug: Option<String>,
    /// Slug of the region where the registry data is stored (default `nyc3`).
    #[schema(pattern = "^(nyc3|sfo3|ams3|sgp1|fra1|syd1)$")]
    region: Option<String>,
}

/// Create container registry.
#[utoipa::path(post, path = "/v2/registry", operation_id = "registry_create", tag = "registry", request_body = RegistryCreate,
    responses((status = 201, body = RegistryBody, description = "The registry created"),
        (status = 409, description = "The account has a registry, or the name is taken"),
        (status = 422, description = "Missing or invalid name, tier or region")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    DoJson(body): DoJson<RegistryCreate>,
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

/// Get container registry information.
#[utoipa::path(get, path = "/v2/registry", operation_id = "registry_get", tag = "registry",
    responses((status = 200, body = RegistryBody, description = "The account's registry")))]
pub async fn get(State(state): State<AppState>, ctx: Ctx) -> Result<Json<RegistryBody>, DoError> {
    let registry = account_registry(&state, &ctx.caller).await?;
    Ok(Json(registry_json(&state, &registry).await?))
}

/// Delete container registry: the registry goes, and with it the namespace and everything in
/// it.
#[utoipa::path(delete, path = "/v2/registry", operation_id = "registry_delete", tag = "registry",
    responses((status = 204, description = "Deleted")))]
pub async fn delete(State(state): State<AppState>, ctx: Ctx) -> Result<StatusCode, DoError> {
    account_registry(&state, &ctx.caller).await?;
    let done = state
        .commands
        .delete_registry(&ctx.envelope, ctx.caller.user_id)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription tier with whether the account may choose it now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TierOption {
    #[serde(flatten)]
    pub tier: SubscriptionTier,
    pub eligible: bool,
    pub eligibility_reasons: Vec<String>,
}

/// The regions and tiers a registry can be created with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Options {
    pub available_regions: Vec<String>,
    pub subscription_tiers: Vec<TierOption>,
}

/// `{options}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OptionsBody {
    pub options: Options,
}

/// List registry options (subscription tiers and available regions).
#[utoipa::path(get, path = "/v2/registry/options", operation_id = "registry_get_options", tag = "registry",
    responses((status = 200, body = OptionsBody, description = "Regions and tiers")))]
pub async fn options(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<OptionsBody>, DoError> {
    let usage = match registries::by_owner(state.db().as_ref(), ctx.caller.user_id).await? {
        Some(registry) => usage(&state, &registry).await?,
        None => Usage::default(),
    };
    let subscription_tiers = TIERS
        .iter()
        .map(|t| {
            let reasons = t.eligible(usage);
            TierOption {
                tier: tier_json(t),
                eligible: reasons.is_empty(),
                eligibility_reasons: reasons.iter().map(|r| r.to_string()).collect(),
            }
        })
        .collect();
    Ok(Json(OptionsBody {
        options: Options {
            available_regions: REGIONS.iter().map(|r| r.to_string()).collect(),
            subscription_tiers,
        },
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegistryNameCheck {
    /// The name to check (required).
    #[schema(value_type = String, required = true)]
    name: Option<String>,
}

/// Validate a container registry name: 204 when the name is well formed and free.
#[utoipa::path(post, path = "/v2/registry/validate-name", operation_id = "registry_validate_name", tag = "registry", request_body = RegistryNameCheck,
    responses((status = 204, description = "The name is available"),
        (status = 409, description = "The name is taken"), (status = 422, description = "Missing or invalid name")))]
pub async fn validate_name(
    State(state): State<AppState>,
    _ctx: Ctx,
    DoJson(body): DoJson<RegistryNameCheck>,
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
