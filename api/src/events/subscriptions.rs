//! Webhook subscriptions (`/events/v1/subscriptions`): a superuser subscribes to any events; an
//! organization's administrator (`Need::ReadEvents` in it) only to its namespace's, and the
//! subscription is then pinned to that namespace. The signing secret is made by the delivery
//! worker's table and answered once, by the create (a retry with the same `Idempotency-Key`
//! answers it again); the events record the subscription without it.

use annals_commands::Scope;
use annals_domain::access::Need;
use annals_domain::event_subscription::{MAX_TYPES, Selector, SubscriptionCommand};
use annals_projections::queries::event_subscriptions::{self, SubscriptionView};
use annals_projections::queries::namespaces;
use annals_workers::delivery::webhook_checkpoint;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::visibility::Visibility;
use crate::access::Caller;
use crate::access::guard::{self, Attempt};
use crate::access::standing;
use crate::quay::error::QuayError;
use crate::quay::extract::{Ctx, QuayJson};
use crate::state::AppState;

/// A new subscription.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventSubscription {
    /// Where events are POSTed: `http` or `https`, at most 2,048 characters.
    pub url: String,
    /// Only these event types (default: all).
    #[serde(default)]
    pub types: Vec<String>,
    /// Only this namespace's events; required unless the caller is a superuser.
    pub namespace: Option<String>,
    /// Only events of repositories of this name.
    pub repository: Option<String>,
    /// Deliver the events after this position (default: the head when created).
    #[schema(maximum = 9223372036854775807_u64)]
    pub from: Option<u64>,
}

/// A subscription.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventSubscription {
    pub id: Uuid,
    pub url: String,
    pub types: Vec<String>,
    pub namespace: Option<String>,
    pub repository: Option<String>,
    /// Delivery started after this position.
    pub from: u64,
    /// `active` or `paused`.
    pub status: String,
    /// Why it was paused.
    pub paused_reason: Option<String>,
    /// The position delivery has reached (every matching event up to it was delivered).
    pub checkpoint: u64,
    /// Who created it.
    pub created_by: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A subscription just created, with its signing secret (shown only now).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedEventSubscription {
    #[serde(flatten)]
    pub subscription: EventSubscription,
    /// The Standard Webhooks secret (`whsec_<base64>`) its deliveries are signed with.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventSubscriptionList {
    pub subscriptions: Vec<EventSubscription>,
}

fn action(parts: &Parts) -> String {
    format!("{} {}", parts.method, parts.uri.path())
}

async fn body(state: &AppState, view: SubscriptionView) -> Result<EventSubscription, QuayError> {
    let checkpoint = state
        .events
        .delivery
        .checkpoint(&webhook_checkpoint(view.id))
        .await?
        .max(view.from_position);
    Ok(EventSubscription {
        id: view.id,
        url: view.url,
        types: view.types,
        namespace: view.namespace,
        repository: view.repository,
        from: view.from_position,
        status: view.status,
        paused_reason: view.paused_reason,
        checkpoint,
        created_by: view.created_by,
        created_at: chrono::DateTime::from_timestamp_micros(view.created_at)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

/// May `caller` manage a subscription of `namespace_id` (None: of every namespace)?
async fn may_manage(
    state: &AppState,
    parts: &Parts,
    caller: &Caller,
    namespace_id: Option<Uuid>,
) -> Result<(), QuayError> {
    let action = action(parts);
    let attempt = Attempt::new(&action, "event subscriptions");
    match namespace_id {
        Some(id) => {
            let held = standing::namespace(state, caller, id).await?;
            guard::require(
                state,
                parts,
                Some(caller),
                Need::ReadEvents(held),
                Scope::default(),
                attempt,
            )
            .await?
        }
        None => guard::plain(state, parts, Some(caller), Need::SuperUser, attempt).await?,
    }
    Ok(())
}

/// The subscription `{subscription_id}` once the caller may manage it, or 404.
async fn managed(
    state: &AppState,
    parts: &Parts,
    caller: &Caller,
    id: &str,
) -> Result<SubscriptionView, QuayError> {
    let not_found = || QuayError::not_found("No such subscription");
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    let view = event_subscriptions::get(state.db().as_ref(), id)
        .await?
        .ok_or_else(not_found)?;
    may_manage(state, parts, caller, view.namespace_id).await?;
    Ok(view)
}

/// Subscribes a webhook to events. Superusers may subscribe to any; an organization's
/// administrator only to its namespace's (`namespace` required).
#[utoipa::path(post, path = "/events/v1/subscriptions", operation_id = "createEventSubscription", tag = "events",
    request_body = NewEventSubscription,
    responses((status = 201, description = "Created; the secret is shown only now", body = CreatedEventSubscription)))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    QuayJson(new): QuayJson<NewEventSubscription>,
) -> Result<(StatusCode, Json<CreatedEventSubscription>), QuayError> {
    let namespace_id = match &new.namespace {
        Some(name) => Some(
            namespaces::by_name(state.db().as_ref(), name)
                .await?
                .ok_or_else(|| QuayError::not_found(format!("Namespace {name} not found")))?
                .id,
        ),
        None => None,
    };
    may_manage(&state, &parts, &ctx.caller, namespace_id).await?;
    if new.types.len() > MAX_TYPES {
        return Err(QuayError::invalid_request(format!(
            "at most {MAX_TYPES} event types may be selected"
        )));
    }
    let from = match new.from {
        Some(p) if p > i64::MAX as u64 => {
            return Err(QuayError::invalid_request(format!(
                "from must be an integer from 0 to {}",
                i64::MAX
            )));
        }
        Some(p) => p,
        None => state.store.head().await.map_err(QuayError::internal)?,
    };
    let selector = Selector {
        types: new.types,
        namespace: new.namespace,
        namespace_id: None,
        repository: new.repository,
    };
    // Checked before the secret is made, so a refused request stores nothing.
    annals_domain::event_subscription::check_url(&new.url)?;
    let selector = selector.validated()?;
    let id = ctx.envelope.derived_id("event-subscription");
    let secret = state.events.delivery.ensure_secret(id).await?;
    let (id, done) = state
        .commands
        .create_event_subscription(&ctx.envelope, &new.url, selector, from)
        .await?;
    state.settle(&done).await;
    let view = event_subscriptions::get(state.db().as_ref(), id)
        .await?
        .ok_or_else(|| QuayError::internal("the new subscription is not projected"))?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEventSubscription {
            subscription: body(&state, view).await?,
            secret,
        }),
    ))
}

/// The subscriptions the caller may manage (all of them for a superuser).
#[utoipa::path(get, path = "/events/v1/subscriptions", operation_id = "listEventSubscriptions", tag = "events",
    responses((status = 200, description = "The subscriptions", body = EventSubscriptionList)))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
) -> Result<Json<EventSubscriptionList>, QuayError> {
    let action = action(&parts);
    guard::plain(
        &state,
        &parts,
        Some(&ctx.caller),
        Need::FollowEvents,
        Attempt::new(&action, "event subscriptions"),
    )
    .await?;
    let mut visibility = Visibility::new(state.clone(), ctx.caller);
    let mut subscriptions = Vec::new();
    for view in event_subscriptions::list(state.db().as_ref()).await? {
        let visible = match view.namespace_id {
            None => visibility.caller().acts_as_super_user(),
            id => visibility.may_see(id).await?,
        };
        if visible {
            subscriptions.push(body(&state, view).await?);
        }
    }
    Ok(Json(EventSubscriptionList { subscriptions }))
}

/// One subscription.
#[utoipa::path(get, path = "/events/v1/subscriptions/{subscription_id}", operation_id = "getEventSubscription", tag = "events",
    params(("subscription_id" = Uuid, Path)),
    responses((status = 200, description = "The subscription", body = EventSubscription)))]
pub async fn get(
    State(state): State<AppState>,
    Path(subscription_id): Path<String>,
    ctx: Ctx,
    parts: Parts,
) -> Result<Json<EventSubscription>, QuayError> {
    let view = managed(&state, &parts, &ctx.caller, &subscription_id).await?;
    Ok(Json(body(&state, view).await?))
}

/// Deletes a subscription: nothing more is delivered to it.
#[utoipa::path(delete, path = "/events/v1/subscriptions/{subscription_id}", operation_id = "deleteEventSubscription", tag = "events",
    params(("subscription_id" = Uuid, Path)),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    Path(subscription_id): Path<String>,
    ctx: Ctx,
    parts: Parts,
) -> Result<StatusCode, QuayError> {
    command(
        &state,
        &parts,
        &ctx,
        &subscription_id,
        SubscriptionCommand::Delete,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs `command` on the subscription the caller manages; answers its id once the read models
/// show the command.
async fn command(
    state: &AppState,
    parts: &Parts,
    ctx: &Ctx,
    subscription_id: &str,
    command: SubscriptionCommand,
) -> Result<Uuid, QuayError> {
    let view = managed(state, parts, &ctx.caller, subscription_id).await?;
    let namespace = view.namespace_id.zip(view.namespace.as_deref());
    let done = state
        .commands
        .event_subscription_command(&ctx.envelope, view.id, namespace, command)
        .await?;
    state.settle(&done).await;
    Ok(view.id)
}

/// Resumes a paused subscription from its checkpoint (an active one is left as it is).
#[utoipa::path(post, path = "/events/v1/subscriptions/{subscription_id}/resume", operation_id = "resumeEventSubscription", tag = "events",
    params(("subscription_id" = Uuid, Path)),
    responses((status = 200, description = "The subscription, active", body = EventSubscription)))]
pub async fn resume(
    State(state): State<AppState>,
    Path(subscription_id): Path<String>,
    ctx: Ctx,
    parts: Parts,
) -> Result<Json<EventSubscription>, QuayError> {
    let id = command(
        &state,
        &parts,
        &ctx,
        &subscription_id,
        SubscriptionCommand::Resume,
    )
    .await?;
    let view = event_subscriptions::get(state.db().as_ref(), id)
        .await?
        .ok_or_else(|| QuayError::not_found("No such subscription"))?;
    Ok(Json(body(&state, view).await?))
}
