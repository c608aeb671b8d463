//! Long-running loops of Annals. Each resumes from a checkpoint kept beside its output, so it can
//! be stopped at any point and started again without applying an event twice or skipping one.
//!
//! - [`runner`]: the projection runner that keeps the read models at the head of the log.
//! - [`replay`]: rebuilds every read model from position 0 into a fresh generation.
//! - [`facts`]: what commands read from the read models (blob links, namespace storage).
//! - [`uploads`]: expires abandoned upload sessions.
//! - [`log_export`]: writes log exports into the blob store and tells their requesters.
//! - [`ledger`]: folds the log into the RFC 6962 Merkle tree and signs checkpoints.
//! - [`past`]: read models of a few streams as they stood at a position (time travel).
//! - [`cloudevent`]: a recorded event as a CloudEvent, the shape every consumer outside gets.
//! - [`delivery`]: the checkpoints and webhook secrets of the two workers below.
//! - [`webhooks`]: delivers events to webhook subscriptions, signed (Standard Webhooks).
//! - [`nats_relay`]: publishes every event into NATS JetStream.
//! - [`readmodels`]: the handle on the generation that serves, swapped when a rebuild lands.

// Auto-prune policies applied on a schedule and after pushes.
pub mod autoprune;
pub mod cloudevent;
pub mod delivery;
pub mod facts;
pub mod gc;
pub mod ledger;
pub mod log_export;
pub mod mirror;
pub mod nats_relay;
// Repository notifications.
pub mod notifications;
pub mod past;
// Pulls through proxy-cache organizations.
pub mod proxy_cache;
pub mod readmodels;
pub mod replay;
pub mod runner;
pub mod uploads;
pub mod upstream;
pub mod webhooks;

pub use readmodels::ReadModels;
pub use runner::ProjectionRunner;
