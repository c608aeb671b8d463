//! The registry's subscription tier.

use annals_domain::registry::{self, Tier};
use annals_projections::queries::registries::RegistryView;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::DoError;
use super::extract::{Ctx, DoJson, account_registry, rfc3339};
use crate::state::AppState;

pub fn tier_json(t: &Tier) -> Value {
    json!({
        "name": t.name,
        "slug": t.slug,
        "included_repositories": t.included_repositories,
        "included_storage_bytes": t.included_storage_bytes,
        "allow_storage_overage": t.allow_storage_overage,
        "included_bandwidth_bytes": t.included_bandwidth_bytes,
        "monthly_price_in_cents": t.monthly_price_in_cents,
    })
}

fn subscription_json(registry: &RegistryView) -> Result<Value, DoError> {
    let tier = registry::tier(&registry.tier)?;
    Ok(json!({"subscription": {
        "tier": tier_json(&tier),
        "created_at": rfc3339(registry.created_at),
        "updated_at": rfc3339(registry.updated_at),
    }}))
}

/// `GET /v2/registry/subscription`
pub async fn get(State(state): State<AppState>, ctx: Ctx) -> Result<Json<Value>, DoError> {
    let registry = account_registry(&state, &ctx.caller).await?;
    Ok(Json(subscription_json(&registry)?))
}

#[derive(Debug, Deserialize)]
pub struct UpdateBody {
    tier_slug: Option<String>,
}

/// `POST /v2/registry/subscription`
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    DoJson(body): DoJson<UpdateBody>,
) -> Result<Json<Value>, DoError> {
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
