//! Refusals are part of the history: an authenticated caller refused an action, and a login
//! that named a real user with a wrong secret, are appended as `AccessDenied` and
//! `LoginFailed` events (Quay's `access_denied` and `login_failure` log kinds). A client that
//! hammers a refused route must not flood the log, so each principal records at most
//! [`PER_MINUTE`] refusals a minute; the rest only count in the metrics.

use std::num::NonZeroU32;
use std::sync::Arc;

use annals_commands::{Envelope, Scope};
use annals_domain::DomainEvent;
use annals_domain::access::{Denial, Scope as TokenScope};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use super::Caller;
use crate::state::AppState;

/// Refusals recorded per principal and minute.
pub const PER_MINUTE: u32 = 20;

/// Principals tracked before stale ones are dropped.
const TRACKED: usize = 10_000;

/// Which principals may still have a refusal recorded this minute.
#[derive(Clone)]
pub struct RefusalLimiter(Arc<DefaultKeyedRateLimiter<Uuid>>);

impl Default for RefusalLimiter {
    fn default() -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(PER_MINUTE).unwrap_or(NonZeroU32::MIN));
        RefusalLimiter(Arc::new(RateLimiter::keyed(quota)))
    }
}

impl RefusalLimiter {
    fn admit(&self, principal: Uuid) -> bool {
        if self.0.len() > TRACKED {
            self.0.retain_recent();
        }
        self.0.check_key(&principal).is_ok()
    }
}

/// What the refusal says about the caller's credential or role.
pub fn reason(denial: Denial) -> String {
    match denial {
        Denial::Unauthenticated => "unauthenticated".into(),
        Denial::InsufficientScope(scope) => format!("missing scope {}", TokenScope::as_str(scope)),
        Denial::Forbidden => "insufficient role".into(),
    }
}

/// Records that `caller` was refused `action` on `resource`. Unauthenticated refusals are
/// not recorded (there is no principal to file them under); a failure to record is logged
/// and does not change the answer.
pub async fn denied(
    state: &AppState,
    caller: &Caller,
    envelope: &Envelope,
    scope: Scope,
    action: &str,
    resource: &str,
    denial: Denial,
) {
    state.metrics.count_refusal();
    if denial == Denial::Unauthenticated || !state.refusals.admit(caller.user_id) {
        return;
    }
    let event = DomainEvent::AccessDenied {
        principal_id: caller.user_id,
        principal: caller.username.clone(),
        is_robot: caller.is_robot(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        reason: reason(denial),
    };
    let mut envelope = envelope.clone();
    // A refusal is its own record, never the retry of a command.
    envelope.command_id = Uuid::new_v4();
    envelope.fingerprint = None;
    // Settled before the refusal is answered, so the log the caller reads next shows it.
    match state
        .commands
        .record_attempt(&envelope, caller.user_id, scope, event)
        .await
    {
        Ok(done) => state.settle(&done).await,
        Err(e) => tracing::warn!("could not record a refusal: {e}"),
    }
}

/// Records a failed login that named the live user `user_id`.
pub async fn login_failed(
    state: &AppState,
    envelope: &Envelope,
    user_id: Uuid,
    username: &str,
    method: &str,
) {
    state.metrics.count_refusal();
    if !state.refusals.admit(user_id) {
        return;
    }
    let event = DomainEvent::LoginFailed {
        user_id,
        username: username.to_owned(),
        method: method.to_owned(),
        reason: "invalid credentials".into(),
    };
    match state
        .commands
        .record_attempt(envelope, user_id, Scope::default(), event)
        .await
    {
        Ok(done) => state.settle(&done).await,
        Err(e) => tracing::warn!("could not record a failed login: {e}"),
    }
}

/// Records a failed login under the name `username` when it names a live user (anything else
/// is noise, only counted).
pub async fn login_failed_as(state: &AppState, envelope: &Envelope, username: &str, method: &str) {
    if username.is_empty() || username.len() > 255 {
        state.metrics.count_refusal();
        return;
    }
    match annals_projections::queries::access::password(state.live_db().as_ref(), username).await {
        Ok(Some((user_id, _, _))) => login_failed(state, envelope, user_id, username, method).await,
        Ok(None) => state.metrics.count_refusal(),
        Err(e) => tracing::warn!("could not look up a failed login: {e}"),
    }
}
