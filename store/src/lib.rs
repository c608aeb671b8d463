//! The append-only event store of Annals.
//!
//! [`EventStore`] is the contract; [`sqlite::SqliteEventStore`] (embedded, the default) and
//! [`postgres::PostgresEventStore`] implement it, and [`conformance`] holds the suite that every
//! backend must pass. Both backends give the same guarantee for readers of `$all`: positions are
//! dense and become visible in order, because appends are serialized by a single appender
//! (see ARCHITECTURE.md, "Global order without gaps").

pub mod blobs;
pub mod conformance;
pub mod error;
pub mod event;
pub mod postgres;
pub mod sqlite;
pub mod subscription;
pub mod testing;
pub mod traits;

pub use error::{StoreError, StoreResult};
pub use event::{
    AppendBatch, AppendStats, Appended, EventFilter, ExpectedVersion, NewEvent, RawRecordedEvent,
    RecordedEvent, StreamAppend,
};
pub use subscription::subscribe_all;
pub use traits::EventStore;

/// A `u64` as the `i64` a database column holds, saturating: a plain `as` cast would turn a huge
/// bound (say `from_version = u64::MAX`) negative and make a query match everything.
pub(crate) fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A row count as a SQL `LIMIT`, saturating (PostgreSQL refuses a negative limit).
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
