//! Expires abandoned upload sessions: a push that never finished leaves a session directory
//! with the bytes received so far. Sessions untouched for longer than the configured age
//! (`ANNALS_UPLOAD_TTL`) are removed, so they neither fill the disk nor count against the
//! per-repository and per-caller session limits. A client that comes back later finds its
//! session unknown and starts again, as the distribution spec allows.

use std::time::{Duration, SystemTime};

use annals_store::blobs::BlobStore;
use tokio::sync::watch;

/// How often to look: a quarter of the age, between one second and five minutes.
fn interval(ttl: Duration) -> Duration {
    (ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(300))
}

/// Expires sessions older than `ttl` until `stop`.
pub async fn run(blobs: BlobStore, ttl: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval(ttl)) => {}
            _ = stop.changed() => return,
        }
        let Some(before) = SystemTime::now().checked_sub(ttl) else {
            continue;
        };
        match blobs.expire_uploads(before).await {
            Ok((0, _)) => {}
            Ok((sessions, bytes)) => tracing::info!(
                sessions,
                bytes,
                "expired upload sessions untouched for {ttl:?}"
            ),
            Err(e) => tracing::warn!("expiring upload sessions: {e}"),
        }
    }
}
