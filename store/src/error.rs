//! Errors of the event store.

/// A failed append or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A stream did not have the version the append expected. Nothing of the batch was written.
    #[error("wrong expected version on stream {stream}: expected {expected}, found {actual}")]
    Conflict {
        stream: String,
        expected: String,
        actual: String,
    },
    /// The input cannot be stored (an empty batch, an event with the wrong shape).
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The backend failed (I/O, connection, corrupt row).
    #[error("event store backend: {0}")]
    Backend(String),
}

impl StoreError {
    /// A backend failure, with the whole chain of causes (a driver's top-level message alone,
    /// such as "db error", says nothing).
    pub fn backend(e: impl std::error::Error) -> Self {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        StoreError::Backend(message)
    }

    /// The conflict of an append that expected `expected` of `stream` and found `current`.
    pub fn conflict(
        stream: &str,
        expected: crate::event::ExpectedVersion,
        current: Option<u64>,
    ) -> Self {
        use crate::event::ExpectedVersion::*;
        StoreError::Conflict {
            stream: stream.to_owned(),
            expected: match expected {
                Any => "any".into(),
                NoStream => "no stream".into(),
                StreamExists => "stream exists".into(),
                Exact(v) => v.to_string(),
            },
            actual: current.map_or_else(|| "no stream".into(), |v| v.to_string()),
        }
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
