//! The append-only event store of Annals.
//!
//! [`EventStore`] is the contract; [`sqlite::SqliteEventStore`] (embedded, the default) and
//! [`postgres::PostgresEventStore`] implement it, and [`conformance`] holds the suite that every
//! backend must pass. Both backends give the same guarantee for readers of `$all`: positions are
//! dense and become visible in order, because appends are serialized by a single appender
//! (see ARCHITECTURE.md, "Global order without gaps").

pub mod conformance;
pub mod error;
pub mod event;
pub mod postgres;
pub mod sqlite;
pub mod subscription;
pub mod traits;

pub use error::{StoreError, StoreResult};
pub use event::{
    AppendBatch, Appended, EventFilter, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend,
};
pub use subscription::subscribe_all;
pub use traits::EventStore;
