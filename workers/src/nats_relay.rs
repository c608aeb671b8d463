//! The relay into NATS JetStream (on when `ANNALS_NATS_URL` is set): every event of the log,
//! in position order, as a CloudEvent (JSON) on the subject `<prefix>.<type>`, with the header
//! `Nats-Msg-Id` = the event id.
//!
//! - Subjects: an event type's dots stay subject-token separators, so
//!   `repository.created.v1` is published on `annals.events.repository.created.v1` and a
//!   consumer can take `annals.events.repository.>`; any character a subject token may not hold
//!   (anything but ASCII letters, digits, `_` and `-`) becomes `_`, and an empty token `_`.
//! - The stream (`ANNALS_NATS_STREAM`) is created when missing, with the subjects `<prefix>.>`;
//!   an existing stream is used as it is.
//! - A page of events is published, then every acknowledgment awaited; only then is the
//!   position written (`nats:<stream>` in the delivery tables). A crash re-publishes at most that
//!   page, with the same message ids, which JetStream drops as duplicates within the stream's
//!   duplicate window (2 minutes by default): at least once, de-duplicated.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use annals_store::{EventFilter, EventStore};
use async_nats::jetstream::{self, message::PublishMessage, stream};
use tokio::sync::watch;

use crate::cloudevent::CloudEvent;
use crate::delivery::DeliveryDb;

/// Events published before their acknowledgments are awaited.
const PAGE: usize = 256;

#[derive(Debug, Clone)]
pub struct NatsSettings {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
    /// The CloudEvents `source` prefix.
    pub source_prefix: String,
    /// How long an acknowledgment may take.
    pub ack_timeout: Duration,
}

/// The subject of an event type under `prefix`.
pub fn subject(prefix: &str, event_type: &str) -> String {
    let tokens: Vec<String> = event_type
        .split('.')
        .map(|t| {
            let token: String = t
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if token.is_empty() { "_".into() } else { token }
        })
        .collect();
    format!("{prefix}.{}", tokens.join("."))
}

pub struct NatsRelay {
    pub store: Arc<dyn EventStore>,
    pub db: DeliveryDb,
    pub settings: NatsSettings,
}

impl NatsRelay {
    fn checkpoint(&self) -> String {
        format!("nats:{}", self.settings.stream)
    }

    /// Relays until `stop` turns true; reconnects and resumes after any failure.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        loop {
            if *stop.borrow() {
                return;
            }
            let mut relay_stop = stop.clone();
            let started = std::time::Instant::now();
            let failed = tokio::select! {
                r = self.relay(&mut relay_stop) => r,
                _ = stop.changed() => return,
            };
            // A relay that ran a while failed afresh: start the backoff over.
            if started.elapsed() > Duration::from_secs(60) {
                backoff = Duration::from_millis(200);
            }
            if let Err(e) = failed {
                tracing::warn!("nats relay: {e:#}; again in {backoff:?}");
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    async fn relay(&self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let s = &self.settings;
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(10))
            .request_timeout(Some(s.ack_timeout))
            .connect(s.url.as_str())
            .await?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: s.stream.clone(),
            subjects: vec![format!("{}.>", s.subject_prefix)],
            ..Default::default()
        })
        .await?;
        let checkpoint = self.checkpoint();
        let mut after = self.db.checkpoint(&checkpoint).await?;
        tracing::info!(
            "nats relay: publishing to {} from position {after}",
            s.stream
        );
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let page = self
                .store
                .read_all(after, PAGE, &EventFilter::default())
                .await?;
            if page.is_empty() {
                tokio::select! {
                    _ = tokio::time::timeout(Duration::from_secs(5), self.store.wait_for_new(after)) => {}
                    _ = stop.changed() => return Ok(()),
                }
                continue;
            }
            let mut acks = Vec::with_capacity(page.len());
            for event in &page {
                let body = serde_json::to_vec(&CloudEvent::from_recorded(event, &s.source_prefix))?;
                let publish = PublishMessage::build()
                    .payload(body.into())
                    .message_id(event.id.to_string());
                let ack = js
                    .send_publish(subject(&s.subject_prefix, &event.event_type), publish)
                    .await?;
                acks.push(ack);
            }
            for ack in acks {
                tokio::time::timeout(s.ack_timeout, ack.into_future())
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!("no acknowledgment within {:?}", s.ack_timeout)
                    })??;
            }
            after = page.last().map_or(after, |e| e.position);
            self.db.set_checkpoint(&checkpoint, after).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_valid_tokens() {
        assert_eq!(
            subject("annals.events", "repository.created.v1"),
            "annals.events.repository.created.v1"
        );
        assert_eq!(subject("p", "a b.*..>"), "p.a_b._._._");
    }
}
