//! Repository notification delivery: reads the event log from its own checkpoint
//! (`notifications` in the delivery tables), turns each event that a notification can answer
//! into an [`Occurrence`] ([`occurrence`]: one match arm per source event), and delivers it to
//! every matching notification of the repository by its method — a webhook POST of Quay's
//! payload (through the notification's template when it has one), a Slack incoming-webhook
//! message, an e-mail through the SMTP relay, or a `quay_notification` recorded for its target.
//!
//! - **Every outcome is an event** on the notification's stream: `delivered` (which clears the
//!   failure count, as Quay's worker does) or `failed` with the count; at Quay's limit
//!   (`notification::MAX_FAILURES`) the notification is disabled until an administrator resets
//!   it, and an occurrence met while it is disabled is dropped, as Quay drops the job.
//! - **At least once, never twice for the record**: each outcome's command id derives from the
//!   notification and the source event (`delivered:<event id>`, `failed:<event id>:<attempt>`).
//!   Before sending, the worker asks the store whether the delivery was already recorded, so a
//!   restart after `kill -9` re-sends only a delivery in flight whose outcome was not appended.
//!   The checkpoint moves after each source event's deliveries are settled.
//! - Failed attempts are retried with doubling backoff until delivered or disabled; each
//!   request is bounded by `timeout`; redirects are not followed and answers are never read.

use std::sync::Arc;
use std::time::Duration;

use annals_commands::{CommandService, Envelope, RepositoryRef};
use annals_domain::mirror::SyncOutcome;
use annals_domain::notification::{
    self, MAX_FAILURES, NotificationCommand, NotificationEvent, NotificationMethod, Source,
    TargetKind, template::Template,
};
use annals_domain::{Actor, DomainEvent, NamespaceName, codec};
use annals_projections::ProjectionWatch;
use annals_projections::queries::repository_notifications::{self, NotificationView};
use annals_projections::queries::{namespaces, teams};
use annals_store::{EventFilter, EventStore, RecordedEvent};
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use crate::ReadModels;
use crate::delivery::DeliveryDb;
use crate::log_export::Mailer;

/// The worker's checkpoint in the delivery tables.
pub const CHECKPOINT: &str = "notifications";
/// Events read per page.
const PAGE: usize = 256;
/// How long the worker waits for the read models to reach an event before it tries again.
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// Each request's whole time (Quay's `NOTIFICATION_SEND_TIMEOUT`).
    pub timeout: Duration,
    /// The first retry's delay; doubled after each failure up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Hosts webhook and Slack notifications may not post to.
    pub blocked_hosts: Vec<String>,
    /// `docker_url` of payloads: `<registry_host>/<namespace>/<name>`.
    pub registry_host: String,
    /// `homepage` of payloads: `<public_url>/repository/<namespace>/<name>`.
    pub public_url: String,
}

pub struct NotificationWorker {
    pub store: Arc<dyn EventStore>,
    pub models: ReadModels,
    pub watch: ProjectionWatch,
    pub commands: CommandService,
    pub db: DeliveryDb,
    pub mail: Option<Mailer>,
    pub settings: NotificationSettings,
}

/// Something that happened in a repository that notifications may answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub event: NotificationEvent,
    pub repository_id: Uuid,
    pub namespace: String,
    pub repository: String,
    /// Fields beyond the repository's (`updated_tags`, ...), as Quay's payload has them.
    pub extra: Value,
    /// Only this notification (a test), rather than all of the repository's for the event.
    pub only: Option<Uuid>,
}

fn meta<'a>(recorded: &'a RecordedEvent, key: &str) -> Option<&'a str> {
    recorded.metadata.get(key).and_then(Value::as_str)
}

/// What `event` (recorded as `recorded`) means to notifications. Adding a source is one arm.
pub fn occurrence(recorded: &RecordedEvent, event: &DomainEvent) -> Option<Occurrence> {
    let in_repository = |event, repository_id: Uuid, extra: Value, only| {
        Some(Occurrence {
            event,
            repository_id,
            namespace: meta(recorded, "namespace")?.to_owned(),
            repository: meta(recorded, "repository")?.to_owned(),
            extra,
            only,
        })
    };
    match event {
        // Quay fires `repo_push` for a manifest pushed under a tag.
        DomainEvent::ManifestPushed {
            repository_id,
            tag: Some(tag),
            ..
        } => in_repository(
            NotificationEvent::RepoPush,
            *repository_id,
            json!({"updated_tags": [tag.as_str()]}),
            None,
        ),
        // A push took the namespace's usage to a quota's `Warning` limit: the repository it
        // was pushed to tells its notifications.
        DomainEvent::QuotaWarningReached {
            namespace,
            repository_id,
            repository,
            quota_id,
            limit_bytes,
            threshold_percent,
            usage_bytes,
            ..
        } => Some(Occurrence {
            event: NotificationEvent::QuotaWarning,
            repository_id: *repository_id,
            namespace: namespace.as_str().to_owned(),
            repository: repository.as_str().to_owned(),
            extra: json!({
                "quota_id": quota_id,
                "limit_bytes": limit_bytes,
                "threshold_percent": threshold_percent,
                "usage_bytes": usage_bytes,
            }),
            only: None,
        }),
        // The mirror worker's syncs, with Quay's `message`.
        DomainEvent::RepositoryMirrorSyncStarted {
            repository_id,
            external_reference,
            tag_globs,
            ..
        } => in_repository(
            NotificationEvent::RepoMirrorSyncStarted,
            *repository_id,
            json!({"message": format!(
                "'{external_reference}' with tag pattern '{}'", tag_globs.join(",")
            )}),
            None,
        ),
        DomainEvent::RepositoryMirrorSyncFinished {
            repository_id,
            outcome,
            message,
            external_reference,
            tag_globs,
            ..
        } => in_repository(
            if *outcome == SyncOutcome::Success {
                NotificationEvent::RepoMirrorSyncSuccess
            } else {
                NotificationEvent::RepoMirrorSyncFailed
            },
            *repository_id,
            json!({"message": message.clone().unwrap_or_else(|| format!(
                "'{external_reference}' with tag pattern '{}'", tag_globs.join(",")
            ))}),
            None,
        ),
        // The test route: the event's sample data, to this notification only.
        DomainEvent::RepositoryNotificationTestQueued {
            notification_id,
            repository_id,
            event,
            ..
        } => {
            let ns = NamespaceName::parse(meta(recorded, "namespace")?).ok()?;
            in_repository(
                *event,
                *repository_id,
                notification::sample_data(*event, &ns),
                Some(*notification_id),
            )
        }
        _ => None,
    }
}

/// Why one attempt failed.
type Failure = String;

impl NotificationWorker {
    /// Delivers until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let client = match reqwest::Client::builder()
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("notifications: no HTTP client: {e}");
                return;
            }
        };
        let mut after = loop {
            match self.db.checkpoint(CHECKPOINT).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::warn!("notifications: reading the checkpoint: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        };
        let mut saved = after;
        loop {
            if *stop.borrow() {
                return;
            }
            let page = match self
                .store
                .read_all(after, PAGE, &EventFilter::default())
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("notifications: reading the log: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if page.is_empty() {
                if saved < after && self.db.set_checkpoint(CHECKPOINT, after).await.is_ok() {
                    saved = after;
                }
                tokio::select! {
                    _ = tokio::time::timeout(Duration::from_secs(5), self.store.wait_for_new(after)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            for recorded in &page {
                let found = codec::decode(&recorded.event_type, &recorded.data)
                    .ok()
                    .and_then(|event| occurrence(recorded, &event));
                if let Some(occ) = found {
                    if !self.answer(&client, recorded, &occ, &mut stop).await {
                        return;
                    }
                    // Written after each occurrence: a restart starts at the next one.
                    if self
                        .db
                        .set_checkpoint(CHECKPOINT, recorded.position)
                        .await
                        .is_ok()
                    {
                        saved = recorded.position;
                    }
                }
                after = recorded.position;
            }
        }
    }

    /// Delivers `occ` to each notification it concerns; false when the worker is stopping.
    async fn answer(
        &self,
        client: &reqwest::Client,
        recorded: &RecordedEvent,
        occ: &Occurrence,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        // The notifications that exist at the event are in the read models once they reach it.
        while !self.watch.wait_for(recorded.position, SETTLE).await {
            tracing::warn!(
                "notifications: the read models have not reached position {}",
                recorded.position
            );
            if *stop.borrow() {
                return false;
            }
        }
        let db = self.models.db();
        let found = match occ.only {
            Some(id) => repository_notifications::get(db.as_ref(), occ.repository_id, id)
                .await
                .map(|n| n.into_iter().collect()),
            None => {
                repository_notifications::for_event(
                    db.as_ref(),
                    occ.repository_id,
                    occ.event.as_str(),
                    recorded.position,
                )
                .await
            }
        };
        let notifications: Vec<NotificationView> = match found {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("notifications: reading the notifications: {e}");
                return !*stop.borrow();
            }
        };
        let mut data = notification::repository_event_data(
            &occ.namespace,
            &occ.repository,
            &self.settings.registry_host,
            &self.settings.public_url,
        );
        if let Value::Object(extra) = &occ.extra {
            data.extend(extra.clone());
        }
        let data = Value::Object(data);
        for n in notifications {
            if !notification::should_perform(occ.event, &n.event_config, &data) {
                continue;
            }
            if !self.deliver(client, recorded, occ, &n, &data, stop).await {
                return false;
            }
        }
        true
    }

    fn envelope(&self, recorded: &RecordedEvent, command_id: Uuid) -> Envelope {
        let mut envelope = Envelope::new(Actor::system()).with_command_id(command_id);
        let id = |key| meta(recorded, key).and_then(|s| Uuid::parse_str(s).ok());
        if let Some(correlation) = id("correlation_id") {
            envelope.correlation_id = correlation;
        }
        envelope.causation_id = id("command_id").or(Some(recorded.id));
        envelope.user_agent = Some("annals notifications".into());
        envelope
    }

    /// Sends one notification until it is delivered or disabled (true), or the worker stops
    /// (false).
    async fn deliver(
        &self,
        client: &reqwest::Client,
        recorded: &RecordedEvent,
        occ: &Occurrence,
        n: &NotificationView,
        data: &Value,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let Ok(target) = RepositoryRef::parse(&format!("{}/{}", occ.namespace, occ.repository))
        else {
            return true;
        };
        let source = Source {
            event_id: recorded.id,
            position: recorded.position,
        };
        let delivered_id = Uuid::new_v5(&n.id, format!("delivered:{}", recorded.id).as_bytes());
        let failed_id =
            |k: u32| Uuid::new_v5(&n.id, format!("failed:{}:{k}", recorded.id).as_bytes());
        // What was recorded before a restart: delivered, or how many attempts failed.
        if matches!(self.store.command_outcome(delivered_id).await, Ok(Some(_))) {
            return true;
        }
        let mut attempt = 1;
        while attempt <= MAX_FAILURES
            && matches!(
                self.store.command_outcome(failed_id(attempt)).await,
                Ok(Some(_))
            )
        {
            attempt += 1;
        }
        let mut backoff = self.settings.backoff;
        for _ in 1..attempt {
            backoff = (backoff * 2).min(self.settings.max_backoff);
        }
        loop {
            match self.commands.repository_notification(n.id).await {
                Ok(state) if state.is_enabled() => {}
                Ok(_) => return true,
                Err(e) => {
                    tracing::warn!("notifications: loading {}: {e}", n.id);
                    return true;
                }
            }
            let (command, command_id) = match self.send(client, occ, n, data).await {
                Ok(recipients) => (
                    NotificationCommand::RecordDelivery { source, recipients },
                    delivered_id,
                ),
                Err(error) => {
                    tracing::info!(
                        "notifications: delivering {} for event {} failed: {error}",
                        n.id,
                        recorded.id
                    );
                    (
                        NotificationCommand::RecordFailure { source, error },
                        failed_id(attempt),
                    )
                }
            };
            let delivered = matches!(command, NotificationCommand::RecordDelivery { .. });
            let envelope = self.envelope(recorded, command_id);
            if let Err(e) = self
                .commands
                .repository_notification_command(&envelope, &target, n.id, command)
                .await
            {
                // The repository or notification is gone: nothing more to do for it.
                tracing::info!("notifications: recording the outcome for {}: {e}", n.id);
                return true;
            }
            if delivered {
                return true;
            }
            attempt += 1;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return false,
            }
            backoff = (backoff * 2).min(self.settings.max_backoff);
        }
    }

    /// One attempt; answers the recipients of a `quay_notification`.
    async fn send(
        &self,
        client: &reqwest::Client,
        occ: &Occurrence,
        n: &NotificationView,
        data: &Value,
    ) -> Result<Vec<String>, Failure> {
        let method = NotificationMethod::parse(&n.method).map_err(|e| e.to_string())?;
        let text = |key: &str| {
            n.config
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        match method {
            NotificationMethod::Webhook => {
                let payload = match n.config.get("template").and_then(Value::as_str) {
                    Some(t) if !t.is_empty() => Template::parse(t)?.apply(data),
                    _ => data.clone(),
                };
                self.post(client, text("url"), &payload).await?;
                Ok(vec![])
            }
            NotificationMethod::Slack => {
                self.post(client, text("url"), &slack_payload(occ.event, data))
                    .await?;
                Ok(vec![])
            }
            NotificationMethod::Email => {
                let Some(mail) = &self.mail else {
                    return Err("no SMTP relay is configured (ANNALS_SMTP_URL)".into());
                };
                mail.send_html(
                    text("email"),
                    &notification::summary(occ.event, data),
                    html_message(occ.event, data),
                )
                .await?;
                Ok(vec![])
            }
            NotificationMethod::QuayNotification => self.recipients(occ, n).await,
        }
    }

    /// POSTs JSON to `url`; a 2xx answer is a delivery.
    async fn post(&self, client: &reqwest::Client, url: &str, body: &Value) -> Result<(), Failure> {
        if notification::validate_config(
            NotificationMethod::Webhook,
            &json!({"url": url}),
            &self.settings.blocked_hosts,
        )
        .is_err()
        {
            return Err(format!("Invalid webhook URL: {url}"));
        }
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| crate::webhooks::send_failure(&e))?;
        let status = response.status();
        drop(response);
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "{} response for webhook to url: {url}",
                status.as_u16()
            ))
        }
    }

    /// Whom a `quay_notification` reaches now: the user, the organization, or the team's
    /// members (robots are never notified).
    async fn recipients(
        &self,
        occ: &Occurrence,
        n: &NotificationView,
    ) -> Result<Vec<String>, Failure> {
        let (kind, name) = notification::quay_target(&n.config).map_err(|e| e.to_string())?;
        let db = self.models.db();
        let err = |e: annals_projections::sql::DbError| e.to_string();
        match kind {
            TargetKind::User | TargetKind::Org => {
                let found = namespaces::by_name(db.as_ref(), name).await.map_err(err)?;
                match found {
                    Some(ns) if (kind == TargetKind::Org) == ns.is_organization() => {
                        Ok(vec![ns.name])
                    }
                    _ => Err(format!("Unknown target {name}")),
                }
            }
            TargetKind::Team => {
                let org = namespaces::by_name(db.as_ref(), &occ.namespace)
                    .await
                    .map_err(err)?
                    .ok_or("Unknown organization")?;
                let team = teams::get(db.as_ref(), org.id, name)
                    .await
                    .map_err(err)?
                    .ok_or_else(|| format!("Unknown team {name}"))?;
                Ok(teams::members(db.as_ref(), team.id)
                    .await
                    .map_err(err)?
                    .into_iter()
                    .filter(|m| !m.is_robot)
                    .map(|m| m.name)
                    .collect())
            }
        }
    }
}

/// Quay's Slack message: the summary, and an attachment coloured by the event's level.
pub fn slack_payload(event: NotificationEvent, data: &Value) -> Value {
    let summary = notification::summary(event, data);
    let color = match notification::level(event, data) {
        "warning" => "warning",
        "error" => "danger",
        "success" | "primary" => "good",
        _ => "#ffffff",
    };
    json!({
        "text": summary,
        "username": "quayiobot",
        "attachments": [{
            "fallback": summary,
            "text": slack_text(event, data),
            "color": color,
            "mrkdwn_in": ["text"],
        }],
    })
}

fn field<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn tags(data: &Value, key: &str) -> Vec<String> {
    data.get(key)
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The message's body in Slack's markup (`<url|text>`, `*bold*`).
fn slack_text(event: NotificationEvent, data: &Value) -> String {
    let repo = format!(
        "<{}|{}>",
        field(data, "homepage"),
        field(data, "repository")
    );
    match event {
        NotificationEvent::RepoPush => format!(
            "Repository {repo} has been pushed with the following tags updated: {}",
            tags(data, "updated_tags")
                .iter()
                .map(|t| format!("*{t}*"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!("{}: {repo}", notification::summary(event, data)),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The e-mail's HTML body.
fn html_message(event: NotificationEvent, data: &Value) -> String {
    let repo = format!(
        "<a href=\"{}\">{}</a>",
        escape(field(data, "homepage")),
        escape(field(data, "repository"))
    );
    match event {
        NotificationEvent::RepoPush => format!(
            "Repository {repo} has been pushed with the following tags updated:<br><br>{}",
            tags(data, "updated_tags")
                .iter()
                .map(|t| format!("<b>{}</b>", escape(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "{}<br><br>Repository: {repo}",
            escape(&notification::summary(event, data))
        ),
    }
}
