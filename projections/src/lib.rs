//! Read models of Annals: what the queries serve, folded from the event log.
//!
//! - [`sql`]: the one SQL layer both read-model databases (SQLite, PostgreSQL) implement.
//! - [`projector`]: the `Projector` trait and the list of projectors; [`catalog`] and
//!   [`log_index`] are the projectors themselves (event → rows).
//! - [`recorded`]: what a projector reads of a stored event besides its body.
//! - [`queries`]: the read functions the API calls.
//! - [`watch`]: how far the projections got, so a mutation can wait to read its own writes.
//! - [`generation`]: where the read models live, and how a rebuild swaps in fresh ones.

pub mod access;
// Auto-prune policies.
pub mod autoprune;
pub mod catalog;
pub mod dump;
pub mod generation;
pub mod log_exports;
pub mod log_index;
pub mod mirrors;
pub mod past_generation;
pub mod plugins;
pub mod projector;
pub mod proxy_cache;
pub mod queries;
pub mod quotas;
pub mod recorded;
pub mod registry;
pub mod sql;
pub mod subscriptions;
// Repository notifications.
pub mod notifications;
pub mod watch;

pub use projector::{
    Projector, all_projectors, finish_bulk_load, migrate_all, migrate_for_bulk_load,
};
pub use recorded::{Decoded, LogMeta, Recorded, decode_raw, decode_recorded};
pub use watch::ProjectionWatch;
