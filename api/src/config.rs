//! Configuration: flags, each with an environment variable behind it so scripts can drive it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Where events and read models live.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory of the embedded stores (SQLite event log and read models).
    #[arg(long, env = "ANNALS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL for the event store and the read models; unset means embedded SQLite.
    #[arg(long, env = "ANNALS_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// The ledger's signing key and origin (`annals serve`, `annals verify`, `annals ledger key`).
#[derive(Debug, Clone, Args)]
pub struct LedgerArgs {
    /// The Ed25519 key ledger checkpoints are signed with: a note signer key
    /// (`PRIVATE+KEY+<name>+<hash>+<base64>`, as Go's `note.GenerateKey` prints) or the 32-byte
    /// seed in base64. Without it a key is made on first start in
    /// `<data dir>/secrets/ledger-signing.key` (mode 0600).
    #[arg(long, env = "ANNALS_LEDGER_KEY", hide_env_values = true)]
    pub ledger_key: Option<String>,

    /// The origin line of ledger checkpoints, also the signing key's name (no spaces, no `+`).
    /// Defaults to the name in `ANNALS_LEDGER_KEY` when it has one, else `<host name>/annals`.
    #[arg(long, env = "ANNALS_LEDGER_ORIGIN")]
    pub ledger_origin: Option<String>,
}

/// The event stream, webhook deliveries and the NATS relay (`api/src/events/`,
/// `workers/src/webhooks.rs`, `workers/src/nats_relay.rs`).
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// The CloudEvents `source` of every event is `<this>/<stream>`: a URI reference naming this
    /// Annals instance.
    #[arg(long, env = "ANNALS_EVENTS_SOURCE", default_value = "/annals")]
    pub events_source: String,

    /// Seconds an event stream may send nothing before it sends a keep-alive (an empty NDJSON
    /// line, an SSE comment).
    #[arg(long, env = "ANNALS_EVENTS_KEEPALIVE_S", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub events_keepalive_s: u64,

    /// Seconds one event stream may stay open; it then ends, and the consumer resumes where
    /// it stopped (`Last-Event-ID`, which SSE clients send on their own, or `from`). Bounds how
    /// long a consumer holds a connection slot.
    #[arg(long, env = "ANNALS_EVENTS_MAX_STREAM_S", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub events_max_stream_s: u64,

    /// Seconds one webhook delivery may take (connect, send, answer).
    #[arg(long, env = "ANNALS_WEBHOOK_TIMEOUT_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_s: u64,

    /// Consecutive failed deliveries after which a subscription is paused.
    #[arg(long, env = "ANNALS_WEBHOOK_MAX_FAILURES", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub webhook_max_failures: u64,

    /// Milliseconds before the first retry of a failed delivery; doubled after each failure.
    #[arg(long, env = "ANNALS_WEBHOOK_BACKOFF_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub webhook_backoff_ms: u64,

    /// The longest wait between two retries, in seconds.
    #[arg(long, env = "ANNALS_WEBHOOK_MAX_BACKOFF_S", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub webhook_max_backoff_s: u64,

    /// NATS server URL (`nats://host:4222`); when set, every event is relayed into JetStream.
    #[arg(long, env = "ANNALS_NATS_URL")]
    pub nats_url: Option<String>,

    /// The JetStream stream the relay publishes to (made with the subjects `<prefix>.>` when
    /// missing).
    #[arg(long, env = "ANNALS_NATS_STREAM", default_value = "ANNALS_EVENTS", value_parser = parse_stream_name)]
    pub nats_stream: String,

    /// Subject prefix: an event of type `a.b.v1` is published on `<prefix>.a.b.v1`.
    #[arg(long, env = "ANNALS_NATS_SUBJECT_PREFIX", default_value = "annals.events", value_parser = parse_subject_prefix)]
    pub nats_subject_prefix: String,
}

/// A JetStream stream name: no spaces, dots, `*`, `>`, path separators; 1 to 255 characters.
fn parse_stream_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '.' | '*' | '>' | '/' | '\\'));
    ok.then(|| s.to_owned()).ok_or_else(|| {
        "a stream name is 1 to 255 visible ASCII characters without . * > / \\".into()
    })
}

/// Subject tokens of letters, digits, `_` and `-`, separated by dots.
fn parse_subject_prefix(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 200
        && s.split('.').all(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    ok.then(|| s.to_owned()).ok_or_else(|| {
        "a subject prefix is dot-separated tokens of letters, digits, _ and -".into()
    })
}

/// Repository notifications (`/api/v1/repository/{repository}/notification/`) and their
/// delivery worker. E-mail goes through `ANNALS_SMTP_URL`.
#[derive(Debug, Clone, Args)]
pub struct NotificationArgs {
    /// Hosts that webhook and Slack notifications may not post to, comma-separated (Quay's
    /// `WEBHOOK_HOSTNAME_BLACKLIST`, whose defaults these are).
    #[arg(
        long,
        env = "ANNALS_NOTIFICATION_BLOCKED_HOSTS",
        default_value = "localhost,127.0.0.1"
    )]
    pub notification_blocked_hosts: String,

    /// Seconds one delivery may take (Quay's `NOTIFICATION_SEND_TIMEOUT`).
    #[arg(long, env = "ANNALS_NOTIFICATION_TIMEOUT_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub notification_timeout_s: u64,

    /// Milliseconds before the first retry of a failed delivery; doubled after each failure.
    #[arg(long, env = "ANNALS_NOTIFICATION_BACKOFF_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=600_000))]
    pub notification_backoff_ms: u64,

    /// The longest wait between two retries, in seconds.
    #[arg(long, env = "ANNALS_NOTIFICATION_MAX_BACKOFF_S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub notification_max_backoff_s: u64,
}

impl NotificationArgs {
    pub fn blocked_hosts(&self) -> Vec<String> {
        self.notification_blocked_hosts
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }
}

/// Upstream registries: what repository mirrors (and proxy caches) pull from.
#[derive(Debug, Clone, Args)]
pub struct UpstreamArgs {
    /// Hosts and addresses no upstream registry may be or resolve to, comma-separated, so a
    /// repository administrator cannot point a mirror at the machine's own services.
    #[arg(
        long,
        env = "ANNALS_UPSTREAM_BLOCKED_HOSTS",
        default_value = "localhost,127.0.0.1,::1,169.254.169.254"
    )]
    pub upstream_blocked_hosts: String,

    /// Seconds one upstream call (a manifest, a tag list, a blob's next bytes) may take.
    #[arg(long, env = "ANNALS_UPSTREAM_TIMEOUT_S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub upstream_timeout_s: u64,

    /// Seconds between two looks for mirrors due to sync.
    #[arg(long, env = "ANNALS_MIRROR_POLL_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub mirror_poll_s: u64,
}

impl UpstreamArgs {
    /// The bounds on every upstream; blobs as large as a push may bring.
    pub fn settings(&self, max_blob_bytes: u64) -> annals_workers::upstream::UpstreamSettings {
        annals_workers::upstream::UpstreamSettings {
            blocked_hosts: self
                .upstream_blocked_hosts
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            timeout: std::time::Duration::from_secs(self.upstream_timeout_s),
            max_blob_bytes,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub storage: StorageArgs,

    #[command(flatten)]
    pub ledger: LedgerArgs,

    #[command(flatten)]
    pub events: EventsArgs,

    // Repository notifications.
    #[command(flatten)]
    pub notifications: NotificationArgs,

    // Upstream registries: mirrors and proxy caches.
    #[command(flatten)]
    pub upstream: UpstreamArgs,

    /// Address of the management API (Quay v1, ...). Port 0 picks a free port; the address
    /// actually bound is printed as `listening on http://...`.
    #[arg(long, env = "ANNALS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the OCI distribution API (the registry that docker, podman, skopeo and oras
    /// talk to). Port 0 picks a free port; the address bound is printed as
    /// `registry listening on http://...`.
    #[arg(long, env = "ANNALS_REGISTRY_LISTEN", default_value = "127.0.0.1:5000")]
    pub registry_listen: SocketAddr,

    /// Address of the gRPC listener (SpaceONE's `spaceone.api.repository.v1.Plugin`, with
    /// server reflection). Port 0 picks a free port; the address bound is printed as
    /// `grpc listening on http://...`.
    #[arg(long, env = "ANNALS_GRPC_LISTEN", default_value = "127.0.0.1:50051")]
    pub grpc_listen: SocketAddr,

    /// `host[:port]` under which clients reach the registry (in docker credentials and the token
    /// realm); defaults to the registry's bound address.
    #[arg(long, env = "ANNALS_REGISTRY_HOST")]
    pub registry_host: Option<String>,

    /// On first start with an empty event store, create this superuser (default `admin`).
    #[arg(long, env = "ANNALS_BOOTSTRAP_USER")]
    pub bootstrap_user: Option<String>,

    /// On first start, give the bootstrap superuser this API token. Without it a random token
    /// is generated and printed once.
    #[arg(long, env = "ANNALS_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,

    /// The most events a time-travel read (`as_of`) folds; a resource with a longer history up
    /// to that point answers 400 (build a past generation with `annals replay --to-position`).
    #[arg(long, env = "ANNALS_AS_OF_MAX_EVENTS", default_value_t = 100_000,
        value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub as_of_max_events: u64,

    /// How long a mutation waits for the read models to reach its own events before it answers
    /// anyway (milliseconds). Within it, a client always reads its own writes.
    #[arg(long, env = "ANNALS_CONSISTENCY_WAIT_MS", default_value_t = 5000)]
    pub consistency_wait_ms: u64,

    /// The key registry bearer tokens are signed with (at least 32 bytes). Without it a random
    /// key is made on first start in `<data dir>/secrets/token-signing.key` (mode 0600); give
    /// the same key to every server of a cluster.
    #[arg(long, env = "ANNALS_TOKEN_SIGNING_KEY", hide_env_values = true)]
    pub token_signing_key: Option<String>,

    /// Base URL used in error `type` links; defaults to `http://<listen address>`.
    #[arg(long, env = "ANNALS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The largest blob (layer) an upload may make, in bytes; a larger declared or sent body is
    /// refused with 413 and nothing of it is kept.
    #[arg(long, env = "ANNALS_MAX_BLOB_BYTES", default_value_t = 64 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_blob_bytes: u64,

    /// How long an upload session may sit untouched before it is removed with its bytes
    /// (`24h`, `90m`, `3600s`).
    #[arg(long, env = "ANNALS_UPLOAD_TTL", default_value = "24h", value_parser = parse_ttl)]
    pub upload_ttl: std::time::Duration,

    /// Upload sessions one repository may have open at once.
    #[arg(long, env = "ANNALS_UPLOAD_SESSIONS_PER_REPOSITORY", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub upload_sessions_per_repository: u64,

    /// Upload sessions one caller may have open at once.
    #[arg(long, env = "ANNALS_UPLOAD_SESSIONS_PER_CALLER", default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub upload_sessions_per_caller: u64,

    /// Seconds a client may take to send a request's headers; also how long an idle
    /// keep-alive connection stays open.
    #[arg(long, env = "ANNALS_HEADER_READ_TIMEOUT_S", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_s: u64,

    /// Seconds a request body may go without sending a byte before the request is dropped.
    #[arg(long, env = "ANNALS_BODY_IDLE_TIMEOUT_S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_idle_timeout_s: u64,

    /// Connections each listener keeps open at once; at the cap the oldest idle one is closed
    /// to make room, and when all are busy a new one gets 503 (the gRPC listener closes a
    /// connection past the cap at once). Defaults to half of the open
    /// files the process may have, less a reserve, at most 4096.
    #[arg(long, env = "ANNALS_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: Option<u64>,

    /// Seconds a shutdown waits for requests in flight before it closes their connections.
    #[arg(long, env = "ANNALS_SHUTDOWN_GRACE_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub shutdown_grace_s: u64,

    /// How many events a projection may be behind the head for `/readyz` to answer ready.
    #[arg(long, env = "ANNALS_READY_MAX_LAG", default_value_t = 1000)]
    pub ready_max_lag: u64,

    /// Gerrit plugins: the directory `file:` URLs of `PUT /plugins/{id}` may name jars in
    /// (canonicalized; anything outside it is refused). Default `<data dir>/gerrit-plugins`,
    /// made at start when missing.
    #[arg(long, env = "ANNALS_GERRIT_PLUGIN_DIR")]
    pub gerrit_plugin_dir: Option<PathBuf>,

    /// Gerrit plugins: the largest jar an install may send or fetch, in bytes (a larger one is
    /// refused with 413 and nothing of it is kept).
    #[arg(long, env = "ANNALS_GERRIT_MAX_JAR_BYTES", default_value_t = 256 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub gerrit_max_jar_bytes: u64,

    /// Gerrit plugins that may not be disabled (Gerrit's `plugins.mandatory`), comma-separated.
    #[arg(long, env = "ANNALS_GERRIT_MANDATORY_PLUGINS", value_delimiter = ',')]
    pub gerrit_mandatory_plugins: Vec<String>,

    /// Gerrit plugins: seconds an install may take to fetch a jar from an `http(s):` URL.
    #[arg(long, env = "ANNALS_GERRIT_FETCH_TIMEOUT_S", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub gerrit_fetch_timeout_s: u64,

    /// Log exports: seconds an export's `exported_data_url` serves (and its file is kept).
    #[arg(long, env = "ANNALS_LOG_EXPORT_URL_TTL_S", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=30 * 24 * 3600))]
    pub log_export_url_ttl_s: u64,

    /// Log exports: seconds one callback POST may take (it is tried 3 times, with backoff).
    #[arg(long, env = "ANNALS_LOG_EXPORT_CALLBACK_TIMEOUT_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub log_export_callback_timeout_s: u64,

    /// Log exports: seconds writing one export may take before it fails as `timedout`.
    #[arg(long, env = "ANNALS_LOG_EXPORT_TIMEOUT_S", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub log_export_timeout_s: u64,

    /// Auto-prune: seconds between two passes that apply every policy to every repository it
    /// covers (pushes are pruned soon after they land, whatever this is).
    #[arg(long, env = "ANNALS_AUTOPRUNE_INTERVAL_S", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub autoprune_interval_s: u64,

    /// Log exports: the SMTP relay `callback_email` links are sent through (`smtp://host:port`,
    /// `smtp://host?tls=required` for STARTTLS, `smtps://host`; credentials in the URL).
    /// Unset: e-mails are recorded as not sent.
    #[arg(long, env = "ANNALS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Log exports: the sender of export e-mails.
    #[arg(
        long,
        env = "ANNALS_SMTP_FROM",
        default_value = "Annals <annals@localhost>"
    )]
    pub smtp_from: String,

    /// Print nothing on stdout (for embedding the server, as the benchmark does).
    #[arg(skip)]
    pub quiet: bool,
}

impl ServeArgs {
    /// `annals serve`'s defaults for a server embedded in another command (the benchmark), on
    /// `storage` and the given addresses, quiet.
    pub fn embedded(
        storage: StorageArgs,
        listen: SocketAddr,
        registry_listen: SocketAddr,
    ) -> anyhow::Result<ServeArgs> {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let mut args = <Defaults as clap::Parser>::try_parse_from(["annals"])?.serve;
        args.storage = storage;
        args.listen = listen;
        args.registry_listen = registry_listen;
        args.grpc_listen = SocketAddr::from(([127, 0, 0, 1], 0));
        args.quiet = true;
        Ok(args)
    }
}

/// An upload session's age: a human duration of one second to a year.
fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    let ttl = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if !(std::time::Duration::from_secs(1)..=std::time::Duration::from_secs(365 * 24 * 3600))
        .contains(&ttl)
    {
        return Err("an upload TTL is between 1s and 365d".into());
    }
    Ok(ttl)
}
