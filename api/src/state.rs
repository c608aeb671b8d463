//! What every handler shares.

use std::sync::Arc;
use std::time::Duration;

use annals_commands::{CommandService, Done};
use annals_projections::ProjectionWatch;
use annals_projections::sql::ReadDb;
use annals_store::EventStore;
use annals_store::blobs::{BlobStore, SessionLimits};
use annals_workers::ReadModels;

use crate::access::cache::AccessCache;
use crate::access::refusals::RefusalLimiter;
use crate::idempotency::KeysInFlight;
use crate::observe::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub commands: CommandService,
    pub store: Arc<dyn EventStore>,
    /// The read models routes read: the live ones, or a time-travel read's past ones.
    pub models: ReadModels,
    /// The live read models, always: credentials and standing are decided on them.
    pub live: ReadModels,
    /// Time-travel reads (`as_of`).
    pub history: crate::history::HistorySettings,
    pub watch: ProjectionWatch,
    pub consistency_wait: Duration,
    /// Base of the `type` links in Quay errors.
    pub public_url: Arc<str>,
    /// The OpenAPI document of the management listener, serialized once at start.
    pub discovery: bytes::Bytes,
    /// Layer, config and manifest bytes.
    pub blobs: BlobStore,
    /// The largest blob an upload may make.
    pub max_blob_bytes: u64,
    /// How many upload sessions a repository and a caller may have open.
    pub upload_limits: SessionLimits,
    /// `host[:port]` of the OCI registry as clients address it.
    pub registry_host: Arc<str>,
    /// Wakes the garbage-collection worker when a collection is requested or cancelled.
    pub gc_wake: Arc<tokio::sync::Notify>,
    /// Wakes the log-export worker when an export is requested.
    pub log_export_wake: Arc<tokio::sync::Notify>,
    /// The key registry bearer tokens are signed with (see `secrets`).
    pub token_key: Arc<[u8]>,
    /// Request, append and store metrics (`/metrics`).
    pub metrics: Metrics,
    /// How many events a projection may be behind the head and the server still be ready.
    pub ready_max_lag: u64,
    /// Idempotency keys whose first request is still running here.
    pub keys_in_flight: KeysInFlight,
    /// How many refusals each principal may still have recorded this minute.
    pub refusals: RefusalLimiter,
    /// Credential and standing answers, valid while the read models stand still.
    pub access_cache: AccessCache,
    /// What the Gerrit plugins routes are configured with.
    pub gerrit: Arc<crate::gerrit::Settings>,
    /// The ledger's tables and verifier key (`api/src/ledger/`).
    pub ledger: crate::ledger::LedgerState,
    /// The event stream's settings and the delivery workers' tables (`api/src/events/`).
    pub events: crate::events::EventsState,
    /// Repository notifications: the hosts webhooks may not post to.
    pub notification_blocked_hosts: Arc<[String]>,
    /// The bounds on every upstream registry (mirrors, proxy caches).
    pub upstream: Arc<annals_workers::upstream::UpstreamSettings>,
    /// One proxy-cache fetch at a time per repository and reference.
    pub proxy_fetches: Arc<annals_workers::proxy_cache::FetchLocks>,
}

impl AppState {
    pub fn db(&self) -> Arc<dyn ReadDb> {
        self.models.db()
    }

    /// The live read models, also inside a time-travel read: who a caller is and what it may
    /// do are decided now.
    pub fn live_db(&self) -> Arc<dyn ReadDb> {
        self.live.db()
    }

    /// This state reading `past` instead of the live read models (a time-travel read).
    pub fn at(&self, past: Arc<dyn ReadDb>) -> AppState {
        AppState {
            models: ReadModels::new(0, past),
            ..self.clone()
        }
    }

    /// Waits until the read models reflect a command's events, so the caller reads its own
    /// writes. The write is durable either way; a timeout is only logged.
    pub async fn settle(&self, done: &Done) {
        if done.position > 0
            && !self
                .watch
                .wait_for(done.position, self.consistency_wait)
                .await
        {
            tracing::warn!(
                position = done.position,
                "read models did not catch up within {:?}",
                self.consistency_wait
            );
        }
    }
}
