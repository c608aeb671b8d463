//! Why a command did not go through.

use annals_domain::DomainError;
use annals_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused the command; nothing was appended.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Other writers kept changing the same streams through every retry.
    #[error("too much contention on {0}; retry the request")]
    Contention(String),
    /// The idempotency key (command id) was first used by a different request.
    #[error("this Idempotency-Key was already used for a different request")]
    KeyReused,
    /// The event store failed; nothing was acknowledged.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError::Store(e)
    }
}
