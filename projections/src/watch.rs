//! How far the projections have applied the log. A mutation waits here for its own position so
//! the client that made it reads its own writes.

use std::time::Duration;

use tokio::sync::watch;

#[derive(Clone)]
pub struct ProjectionWatch {
    tx: watch::Sender<u64>,
}

impl Default for ProjectionWatch {
    fn default() -> Self {
        ProjectionWatch {
            tx: watch::Sender::new(0),
        }
    }
}

impl ProjectionWatch {
    /// Records that every projection has applied the log up to `position`.
    pub fn advance(&self, position: u64) {
        self.tx.send_if_modified(|current| {
            let moved = position > *current;
            if moved {
                *current = position;
            }
            moved
        });
    }

    pub fn position(&self) -> u64 {
        *self.tx.borrow()
    }

    /// Waits until the projections reached `position`; false if `timeout` passed first.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> bool {
        let mut rx = self.tx.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
