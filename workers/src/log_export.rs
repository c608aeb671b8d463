//! The log-export worker: writes each requested export (Quay's `exportlogs`) into the blob
//! store, records its outcome, then tells the requester (callback URL, e-mail).
//!
//! An export is streamed: the log query the log routes use is paged by position (newest
//! first, `PAGE` entries at a time), each page rendered and appended to an upload session, so
//! memory stays bounded whatever the window holds. The finished file is completed under its
//! SHA-256 (content-addressed, like every blob) and `log_export.completed.v1` records the
//! digest and until when its URL serves; garbage collection keeps the file until then.
//!
//! E-mail goes through an SMTP relay (`ANNALS_SMTP_URL`, lettre); without one, a
//! `callback_email` is recorded on `log_export.notified.v1` as not sent.
//!
//! Crashes: an export still `requested` when the worker starts (a crash or a shutdown mid-way)
//! is written again from scratch into a new upload session; the session left behind is removed
//! by the upload expiry (`ANNALS_UPLOAD_TTL`). An export that finished but whose requester was
//! not yet told is told on start (at least once: a crash between the callback and its record
//! sends it again). Its steps carry command ids derived from the export id, so a step appended
//! before a crash is not appended twice.
//!
//! The shape of the file's entries and the URL it is served at belong to the API family, so
//! the worker takes them from an [`ExportShape`].

use std::sync::Arc;
use std::time::Duration;

use annals_commands::{CommandService, Done, Envelope};
use annals_domain::Digest;
use annals_domain::log_export::{Delivery, ExportScope, ExportStatus, LogExportCommand};
use annals_projections::ProjectionWatch;
use annals_projections::queries::log_exports::{self, LogExportView};
use annals_projections::queries::logs::{self, LogEntry, LogQuery, LogScope};
use annals_store::EventStore;
use annals_store::blobs::{BlobStore, SessionLimits};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::ReadModels;

/// Log entries per page of the export (one append to the upload each).
pub const PAGE: usize = 500;
/// Exports looked at per pass.
const PENDING: usize = 64;
/// How often the worker looks for pending exports without being woken.
const POLL: Duration = Duration::from_secs(5);
/// How long a step waits for the read models to reflect it.
const SETTLE: Duration = Duration::from_secs(30);
/// The upload sessions of exports are filed under this name.
const UPLOADS: &str = "annals:log-exports";

/// What the API family decides: an entry's shape, a time's, and the URL a file is served at.
pub trait ExportShape: Send + Sync + 'static {
    /// One log entry; `with_namespace` as the log routes of the export's scope show it.
    fn entry(&self, entry: &LogEntry, with_namespace: bool) -> serde_json::Value;
    /// A time as the family's logs show it.
    fn datetime(&self, at: DateTime<Utc>) -> String;
    /// The URL the export's file is fetched at, valid until `expires_at`.
    fn data_url(&self, export_id: Uuid, expires_at: DateTime<Utc>) -> String;
}

/// How exports are run.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    /// How long an export's URL serves (and its file is kept).
    pub url_ttl: Duration,
    /// How long one callback attempt may take.
    pub callback_timeout: Duration,
    /// Callback attempts before it counts as failed.
    pub callback_attempts: u32,
    /// How long writing one export may take before it fails as `timedout`.
    pub max_duration: Duration,
    /// Where `callback_email` links are sent from; None: e-mails are recorded as not sent.
    pub mail: Option<Mailer>,
}

/// An SMTP relay and the sender address of export e-mails.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A relay from a URL (`smtp://host:port` plain, `smtp://...?tls=required` STARTTLS,
    /// `smtps://host` TLS; user and password in the URL), sending as `from`.
    pub fn new(url: &str, from: &str, timeout: Duration) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("ANNALS_SMTP_URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("ANNALS_SMTP_FROM {from:?}: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends the export's link (or its failure) to `to`.
    async fn send(&self, to: &str, report: &Report<'_>) -> Delivery {
        let not_sent = |e: String| Delivery {
            delivered: false,
            detail: e,
        };
        let to: Mailbox = match to.parse() {
            Ok(to) => to,
            Err(e) => return not_sent(format!("invalid address: {e}")),
        };
        let what = match report.repository {
            Some(repo) => format!("{}/{repo}", report.namespace),
            None => report.namespace.to_owned(),
        };
        let body = match &report.exported_data_url {
            Some(url) => format!(
                "The usage logs of {what} from {} to {} are exported (export {}).\n\n\
                 Download them before the link expires:\n{url}\n",
                report.start_time, report.end_time, report.export_id
            ),
            None => format!(
                "The export {} of the usage logs of {what} from {} to {} ended with status {}.\n",
                report.export_id, report.start_time, report.end_time, report.status
            ),
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("Log export of {what}: {}", report.status))
            .header(ContentType::TEXT_PLAIN)
            .body(body);
        let message = match message {
            Ok(m) => m,
            Err(e) => return not_sent(e.to_string()),
        };
        match self.transport.send(message).await {
            Ok(response) => Delivery {
                delivered: true,
                detail: format!("SMTP {}", response.code()),
            },
            Err(e) => not_sent(e.to_string()),
        }
    }

    /// Sends an HTML message (repository notifications use the same relay).
    pub async fn send_html(&self, to: &str, subject: &str, html: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("invalid address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_HTML)
            .body(html)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl Default for ExportSettings {
    fn default() -> Self {
        ExportSettings {
            url_ttl: Duration::from_secs(3600),
            callback_timeout: Duration::from_secs(10),
            callback_attempts: 3,
            max_duration: Duration::from_secs(3600),
            mail: None,
        }
    }
}

/// What the worker works with.
#[derive(Clone)]
pub struct LogExportWorker {
    pub commands: CommandService,
    pub store: Arc<dyn EventStore>,
    pub models: ReadModels,
    pub watch: ProjectionWatch,
    pub blobs: BlobStore,
    pub shape: Arc<dyn ExportShape>,
    pub settings: ExportSettings,
    /// Notified when an export is requested.
    pub wake: Arc<Notify>,
}

/// The `details` of an export file.
#[derive(Serialize)]
struct Details<'a> {
    start_time: String,
    end_time: String,
    namespace: &'a str,
    repository: Option<&'a str>,
}

/// What the callback receives (Quay's report).
#[derive(Serialize)]
struct Report<'a> {
    export_id: Uuid,
    start_time: String,
    end_time: String,
    namespace: &'a str,
    repository: Option<&'a str>,
    exported_data_url: Option<String>,
    status: &'static str,
}

/// Runs exports until `stop`.
pub async fn run(worker: LogExportWorker, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(e) = worker.run_pending(&stop).await {
            tracing::warn!("log export: {e:#}");
        }
        tokio::select! {
            _ = worker.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

impl LogExportWorker {
    async fn run_pending(&self, stop: &watch::Receiver<bool>) -> anyhow::Result<()> {
        let pending = log_exports::pending(self.models.db().as_ref(), PENDING).await?;
        for export in pending {
            if *stop.borrow() {
                return Ok(());
            }
            let export = match export.status {
                Some(_) => export,
                None => match self.write(&export, stop).await? {
                    Some(finished) => finished,
                    None => return Ok(()),
                },
            };
            self.notify(&export).await?;
        }
        Ok(())
    }

    /// The envelope of one step of an export: the requester's, caused by the request, with a
    /// command id derived from the export and the step.
    fn envelope(&self, export: &LogExportView, step: &str) -> Envelope {
        let request = export.command_id.unwrap_or(export.export_id);
        let mut envelope = Envelope::new(export.actor.clone())
            .with_command_id(Uuid::new_v5(&export.export_id, step.as_bytes()));
        envelope.correlation_id = export.correlation_id.unwrap_or(request);
        envelope.causation_id = Some(request);
        envelope.user_agent = Some("annals log export".into());
        envelope
    }

    async fn settle(&self, done: &Done) -> anyhow::Result<()> {
        if done.position > 0 && !self.watch.wait_for(done.position, SETTLE).await {
            anyhow::bail!(
                "the read models did not reach position {} within {SETTLE:?}",
                done.position
            );
        }
        Ok(())
    }

    /// Writes the export's file and records the outcome; answers the export as it now stands,
    /// or None when the server is stopping (the export is written again on the next start).
    async fn write(
        &self,
        export: &LogExportView,
        stop: &watch::Receiver<bool>,
    ) -> anyhow::Result<Option<LogExportView>> {
        let upload = self
            .blobs
            .start_upload(
                UPLOADS,
                &format!("log-export:{}", export.export_id),
                // Exports run one at a time; sessions left by crashes wait for the upload expiry.
                SessionLimits {
                    per_repository: 1024,
                    per_caller: 1024,
                },
            )
            .await?;
        let mut stop = stop.clone();
        let written = tokio::select! {
            r = tokio::time::timeout(self.settings.max_duration, self.stream_file(export, upload.id)) => r,
            _ = stop.changed() => {
                let _ = self.blobs.cancel_upload(upload.id).await;
                return Ok(None);
            }
        };
        let command = match written {
            Ok(Ok((digest, size, entries))) => LogExportCommand::Complete {
                export_id: export.export_id,
                digest,
                size,
                entries,
                expires_at: Utc::now()
                    + chrono::Duration::from_std(self.settings.url_ttl)
                        .unwrap_or(chrono::Duration::hours(1)),
            },
            Ok(Err(e)) => {
                tracing::warn!(export_id = %export.export_id, "log export failed: {e:#}");
                let _ = self.blobs.cancel_upload(upload.id).await;
                LogExportCommand::Fail {
                    export_id: export.export_id,
                    status: ExportStatus::Failed,
                    error: format!("{e:#}"),
                }
            }
            Err(_) => {
                let _ = self.blobs.cancel_upload(upload.id).await;
                LogExportCommand::Fail {
                    export_id: export.export_id,
                    status: ExportStatus::TimedOut,
                    error: format!(
                        "the export took longer than {:?}",
                        self.settings.max_duration
                    ),
                }
            }
        };
        let done = self
            .commands
            .log_export(&self.envelope(export, "outcome"), command)
            .await?;
        self.settle(&done).await?;
        Ok(log_exports::get(self.models.db().as_ref(), export.export_id).await?)
    }

    /// Streams `{"export_id", "details", "logs": [...]}` into the upload and completes it
    /// under its SHA-256; answers the digest, the size and how many entries it holds.
    async fn stream_file(
        &self,
        export: &LogExportView,
        upload: Uuid,
    ) -> anyhow::Result<(Digest, u64, u64)> {
        let r = &export.request;
        let missing = || anyhow::anyhow!("the export request names no log to read");
        let (scope, with_namespace) = match r.scope {
            ExportScope::Repository => (
                LogScope::Repository(r.repository_id.ok_or_else(missing)?),
                false,
            ),
            ExportScope::Organization => (LogScope::Namespace(r.namespace_id), false),
            ExportScope::User => (LogScope::User(r.user_id.ok_or_else(missing)?), true),
        };
        let query = LogQuery {
            scope,
            start_micros: r.start.timestamp_micros(),
            end_micros: r.end.timestamp_micros(),
            performer: None,
        };
        let details = Details {
            start_time: self.shape.datetime(r.start),
            end_time: self.shape.datetime(r.end),
            namespace: r.namespace.as_str(),
            repository: r.repository.as_deref(),
        };
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(b"{\"export_id\":");
        serde_json::to_writer(&mut buf, &export.export_id)?;
        buf.extend_from_slice(b",\"details\":");
        serde_json::to_writer(&mut buf, &details)?;
        buf.extend_from_slice(b",\"logs\":[");
        let mut entries: u64 = 0;
        let mut before = None;
        loop {
            let db = self.models.db();
            let page = logs::page(db.as_ref(), self.store.as_ref(), &query, before, PAGE).await?;
            for entry in &page.entries {
                if entries > 0 {
                    buf.push(b',');
                }
                serde_json::to_writer(&mut buf, &self.shape.entry(entry, with_namespace))?;
                entries += 1;
            }
            if page.next_before.is_none() {
                buf.extend_from_slice(b"]}");
            }
            self.append(upload, std::mem::take(&mut buf)).await?;
            match page.next_before {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        let (digest, size) = self.blobs.upload_sha256(upload).await?;
        self.blobs.complete_upload(upload, &digest).await?;
        Ok((digest, size, entries))
    }

    async fn append(&self, upload: Uuid, bytes: Vec<u8>) -> anyhow::Result<()> {
        let chunk = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
        self.blobs.append_upload(upload, None, None, chunk).await?;
        Ok(())
    }

    /// Tells the requester how the export ended, and records what came of it.
    async fn notify(&self, export: &LogExportView) -> anyhow::Result<()> {
        let r = &export.request;
        let status = export.status.unwrap_or(ExportStatus::Failed);
        let report = Report {
            export_id: export.export_id,
            start_time: self.shape.datetime(r.start),
            end_time: self.shape.datetime(r.end),
            namespace: r.namespace.as_str(),
            repository: r.repository.as_deref(),
            exported_data_url: match (status, export.expires_at) {
                (ExportStatus::Success, Some(expires)) => {
                    Some(self.shape.data_url(export.export_id, expires))
                }
                _ => None,
            },
            status: status.as_str(),
        };
        let callback = match &r.callback_url {
            Some(url) => Some(self.post_callback(url, &report).await),
            None => None,
        };
        let email = match (&r.callback_email, &self.settings.mail) {
            (None, _) => None,
            (Some(to), Some(mailer)) => Some(mailer.send(to.as_str(), &report).await),
            // No relay configured: recorded as not sent.
            (Some(_), None) => Some(Delivery {
                delivered: false,
                detail: "not sent: no SMTP relay is configured (ANNALS_SMTP_URL)".into(),
            }),
        };
        let done = self
            .commands
            .log_export(
                &self.envelope(export, "notified"),
                LogExportCommand::RecordNotified {
                    export_id: export.export_id,
                    callback,
                    email,
                },
            )
            .await?;
        self.settle(&done).await
    }

    /// POSTs the report, retrying with backoff; redirects are not followed.
    async fn post_callback(&self, url: &str, report: &Report<'_>) -> Delivery {
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.settings.callback_timeout)
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                return Delivery {
                    delivered: false,
                    detail: e.to_string(),
                };
            }
        };
        let mut detail = String::new();
        for attempt in 0..self.settings.callback_attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500) * 2u32.pow(attempt - 1)).await;
            }
            match client.post(url).json(report).send().await {
                Ok(response) if response.status().is_success() => {
                    return Delivery {
                        delivered: true,
                        detail: format!("HTTP {}", response.status().as_u16()),
                    };
                }
                Ok(response) => detail = format!("HTTP {}", response.status().as_u16()),
                Err(e) => detail = e.without_url().to_string(),
            }
        }
        Delivery {
            delivered: false,
            detail,
        }
    }
}
