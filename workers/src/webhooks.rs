//! Webhook delivery: every active event subscription gets the events its selector matches, as
//! CloudEvents (structured mode: `content-type: application/cloudevents+json`), signed per the
//! Standard Webhooks spec, in position order, at least once.
//!
//! - One task per active subscription, started and stopped as the `subscriptions` read model
//!   changes (re-read every [`WebhookSettings::poll`]). It resumes after its checkpoint
//!   (`webhook:<id>` in the delivery tables; at first, the subscription's `from` position) and
//!   writes it after each delivered event, so a restart re-sends at most the event in flight.
//! - Each attempt: one POST with `webhook-id` (the event id, the same on every attempt, for
//!   de-duplication), `webhook-timestamp` (seconds, this attempt's) and `webhook-signature`
//!   (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the secret's decoded
//!   bytes). A 2xx answer is a delivery; anything else, a redirect or a timeout is a failure.
//!   Response bodies are never read. Redirects are not followed.
//! - Failures are retried with exponential backoff; after `max_failures` consecutive failures the
//!   subscription is paused (`event_subscription.paused.v1` with the reason and checkpoint). A
//!   resume starts a fresh task from the checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use annals_commands::{CommandService, Envelope};
use annals_domain::Actor;
use annals_domain::event_subscription::{Selector, SubscriptionCommand};
use annals_projections::ProjectionWatch;
use annals_projections::queries::event_subscriptions::{self, SubscriptionView};
use annals_store::{EventFilter, EventStore, RecordedEvent};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::ReadModels;
use crate::cloudevent::{self, CloudEvent};
use crate::delivery::{DeliveryDb, webhook_checkpoint};

/// Events read per page.
const PAGE: usize = 256;

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Each request's whole time (connect, send, answer headers).
    pub timeout: Duration,
    /// Consecutive failures after which a subscription is paused.
    pub max_failures: u32,
    /// The first retry's delay; doubled after each failure up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// How often the subscriptions are re-read.
    pub poll: Duration,
    /// The CloudEvents `source` prefix.
    pub source_prefix: String,
}

pub struct WebhookWorker {
    pub store: Arc<dyn EventStore>,
    pub models: ReadModels,
    pub watch: ProjectionWatch,
    pub commands: CommandService,
    pub db: DeliveryDb,
    pub settings: WebhookSettings,
}

struct Running {
    task: JoinHandle<()>,
    url: String,
}

/// `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, the key being the secret's
/// bytes (`whsec_` and base64). None for a secret that is not base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

impl WebhookWorker {
    /// Keeps one delivery task per active subscription until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let client = match reqwest::Client::builder()
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("webhooks: no HTTP client: {e}");
                return;
            }
        };
        let mut running: HashMap<Uuid, Running> = HashMap::new();
        loop {
            if *stop.borrow() {
                break;
            }
            match event_subscriptions::list(self.models.db().as_ref()).await {
                Ok(subs) => {
                    let active: HashMap<Uuid, SubscriptionView> = subs
                        .into_iter()
                        .filter(SubscriptionView::is_active)
                        .map(|s| (s.id, s))
                        .collect();
                    running.retain(|id, r| {
                        let keep =
                            !r.task.is_finished() && active.get(id).is_some_and(|s| s.url == r.url);
                        if !keep {
                            r.task.abort();
                        }
                        keep
                    });
                    for (id, sub) in active {
                        if running.contains_key(&id) {
                            continue;
                        }
                        let url = sub.url.clone();
                        let task =
                            tokio::spawn(self.clone().deliver(sub, client.clone(), stop.clone()));
                        running.insert(id, Running { task, url });
                    }
                }
                Err(e) => tracing::warn!("webhooks: reading the subscriptions: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.changed() => {}
            }
        }
        for (_, r) in running {
            r.task.abort();
        }
    }

    /// Delivers to one subscription until it is paused, stopped or aborted.
    async fn deliver(
        self: Arc<Self>,
        sub: SubscriptionView,
        client: reqwest::Client,
        mut stop: watch::Receiver<bool>,
    ) {
        let checkpoint = webhook_checkpoint(sub.id);
        let secret = match self.db.secret(sub.id).await {
            Ok(Some(secret)) => secret,
            Ok(None) => {
                self.pause(&sub, "the subscription has no signing secret", 0)
                    .await;
                return;
            }
            Err(e) => {
                tracing::warn!("webhooks: reading the secret of {}: {e}", sub.id);
                return;
            }
        };
        let mut after = match self.db.checkpoint(&checkpoint).await {
            Ok(p) => p.max(sub.from_position),
            Err(e) => {
                tracing::warn!("webhooks: reading the checkpoint of {}: {e}", sub.id);
                return;
            }
        };
        let selector = Selector {
            types: sub.types.clone(),
            namespace: None,
            namespace_id: sub.namespace_id,
            repository: sub.repository.clone(),
        };
        let filter = EventFilter {
            stream_prefixes: Vec::new(),
            event_types: sub.types.clone(),
        };
        let mut saved = after;
        loop {
            if *stop.borrow() {
                return;
            }
            let page = match self.store.read_all(after, PAGE, &filter).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("webhooks: reading the log: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if page.is_empty() {
                if saved < after && self.db.set_checkpoint(&checkpoint, after).await.is_ok() {
                    saved = after;
                }
                tokio::select! {
                    _ = tokio::time::timeout(Duration::from_secs(5), self.store.wait_for_new(after)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            for event in &page {
                if selector.matches(&event.event_type, cloudevent::scope(event)) {
                    if !self
                        .deliver_one(&sub, &client, &secret, event, saved, &mut stop)
                        .await
                    {
                        return;
                    }
                    // Written after each delivery: a restart re-sends at most this one.
                    if let Err(e) = self.db.set_checkpoint(&checkpoint, event.position).await {
                        tracing::warn!("webhooks: saving the checkpoint of {}: {e}", sub.id);
                    } else {
                        saved = event.position;
                    }
                }
                after = event.position;
            }
        }
    }

    /// Sends `event` until it is delivered (true) or the subscription is paused or the worker
    /// stops (false).
    async fn deliver_one(
        &self,
        sub: &SubscriptionView,
        client: &reqwest::Client,
        secret: &str,
        event: &RecordedEvent,
        delivered: u64,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let body = match serde_json::to_vec(&CloudEvent::from_recorded(
            event,
            &self.settings.source_prefix,
        )) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("webhooks: encoding event {}: {e}", event.id);
                return false;
            }
        };
        let id = event.id.to_string();
        let mut backoff = self.settings.backoff;
        let mut failures = 0u32;
        loop {
            let reason = match self.attempt(client, &sub.url, secret, &id, &body).await {
                Ok(()) => return true,
                Err(reason) => reason,
            };
            failures += 1;
            tracing::info!(
                "webhooks: delivering event {id} to subscription {} failed ({failures}): {reason}",
                sub.id
            );
            if failures >= self.settings.max_failures {
                let reason = format!(
                    "{failures} consecutive delivery failures of event {id} (position {}); last: {reason}",
                    event.position
                );
                self.pause(sub, &reason, delivered).await;
                return false;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return false,
            }
            backoff = (backoff * 2).min(self.settings.max_backoff);
        }
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        url: &str,
        secret: &str,
        id: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = sign(secret, id, timestamp, body).ok_or("the secret is not base64")?;
        let response = client
            .post(url)
            .header("content-type", "application/cloudevents+json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| send_failure(&e))?;
        let status = response.status();
        // The body is never read: dropping the response closes the connection.
        drop(response);
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {}", status.as_u16()))
        }
    }

    /// Records the pause and waits until the read model shows it, so the supervisor does not
    /// start the subscription again.
    async fn pause(&self, sub: &SubscriptionView, reason: &str, checkpoint: u64) {
        let namespace = sub.namespace_id.zip(sub.namespace.as_deref());
        let command = SubscriptionCommand::Pause {
            reason: reason.to_owned(),
            checkpoint,
        };
        let envelope = Envelope::new(Actor::system());
        match self
            .commands
            .event_subscription_command(&envelope, sub.id, namespace, command)
            .await
        {
            Ok(done) => {
                self.watch
                    .wait_for(done.position, Duration::from_secs(10))
                    .await;
            }
            Err(e) => tracing::warn!("webhooks: pausing {}: {e}", sub.id),
        }
    }
}

/// Why an HTTP delivery could not be sent, in words safe to record (never the error's text,
/// which may carry the URL's credentials).
pub(crate) fn send_failure(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example.
    #[test]
    fn signs_as_the_spec_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = sign(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
