//! The registry's subscription tier.

use annals_domain::registry::{self, Tier};
use annals_projections::queries::registries::RegistryView;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::error::DoError;
use super::extract::{Ctx, DoJson, account_registry, rfc3339};
use crate::state::AppState;

/// A subscription tier.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionTier {
    pub name: String,
    pub slug: String,
    pub included_repositories: u64,
    pub included_storage_bytes: u64,
    pub allow_storage_overage: bool,
    pub included_bandwidth_bytes: u64,
    pub monthly_price_in_cents: u64,
}

pub fn tier_json(t: &Tier) -> SubscriptionTier {
    SubscriptionTier {
        name: t.name.to_owned(),
        slug: t.slug.to_owned(),
        included_repositories: t.included_repositories,
        included_storage_bytes: t.included_storage_bytes,
        allow_storage_overage: t.allow_storage_overage,
        included_bandwidth_bytes: t.included_bandwidth_bytes,
        monthly_price_in_cents: t.monthly_price_in_cents,
    }
}

/// The registry's subscription.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub tier: SubscriptionTier,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `{subscription}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionBody {
    pub subscription: Subscription,
}

fn subscription_json(registry: &RegistryView) -> Result<SubscriptionBody, DoError> {
    let tier = registry::tier(&registry.tier)?;
    Ok(SubscriptionBody {
        subscription: Subscription {
            tier: tier_json(&tier),
            created_at: rfc3339(registry.created_at),
            updated_at: rfc3339(registry.updated_at),
        },
    })
}

/// Get subscription information.
#[utoipa::path(get, path = "/v2/registry/subscription", operation_id = "registry_get_subscription", tag = "registry",
    responses((status = 200, body = SubscriptionBody, description = "The registry's subscription")))]
pub async fn get(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Json<SubscriptionBody>, DoError> {
    let registry = account_registry(&state, &ctx.caller).await?;
    Ok(Json(subscription_json(&registry)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionUpdate {
    /// The slug of the subscription tier to sign up for (required).
    #[schema(value_type = String, required = true, pattern = "^(starter|basic|professional)$")]
    tier_slug: Option<String>,
}

/// Update subscription tier.
#[utoipa::path(post, path = "/v2/registry/subscription", operation_id = "registry_update_subscription", tag = "registry", request_body = SubscriptionUpdate,
    responses((status = 200, body = SubscriptionBody, description = "The changed subscription"),
        (status = 422, description = "Missing or unknown tier, or usage over the tier's limits")))]
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    DoJson(body): DoJson<SubscriptionUpdate>,
) -> Result<Json<SubscriptionBody>, DoError> {
    account_registry(&state, &ctx.caller).await?;
    let tier = body
        .tier_slug
        .filter(|t| !t.is_empty())
        .ok_or_else(|| DoError::unprocessable("tier_slug is required"))?;
    let done = state
        .commands
        .change_subscription(&ctx.envelope, ctx.caller.user_id, tier)
        .await?;
    state.settle(&done).await;
    let registry = account_registry(&state, &ctx.caller).await?;
    Ok(Json(subscription_json(&registry)?))
}
