//! The garbage-collection worker.

use tokio::sync::watch;

/// Runs collections until `stop`.
pub async fn run(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
