//! The event stream for consumers outside (`/events/v1/...` on the management listener): the
//! log as CloudEvents over HTTP (`stream.rs`: NDJSON or Server-Sent Events) and webhook
//! subscriptions (`subscriptions.rs`; the deliveries are `annals_workers::webhooks`'s).
//!
//! Errors are answered in Quay's shape (`QuayErrorBody`): the family has no error format of its
//! own, its callers hold Quay tokens, and the management listener's other authenticated
//! routes answer that way; the ledger's `{status, error}` is kept for its public, unauthenticated
//! routes. What a caller sees is decided per namespace by `visibility.rs`.

pub mod stream;
pub mod subscriptions;
pub mod visibility;

use std::sync::Arc;
use std::time::Duration;

use annals_projections::sql::ReadDb;
use annals_projections::sql::postgres::PostgresReadDb;
use annals_projections::sql::sqlite::SqliteReadDb;
use annals_workers::delivery::DeliveryDb;
use anyhow::Context;
use axum::Router;
use axum::routing::{get, post};

use crate::config::StorageArgs;
use crate::state::AppState;

/// The PostgreSQL schema of the delivery workers' tables.
pub const SCHEMA: &str = "annals_delivery";

/// What the event routes share.
#[derive(Clone)]
pub struct EventsState {
    /// Webhook secrets and delivery checkpoints.
    pub delivery: DeliveryDb,
    /// The CloudEvents `source` prefix.
    pub source_prefix: Arc<str>,
    /// How long a stream may go without sending anything before it sends a keep-alive.
    pub keepalive: Duration,
    /// How long one stream may stay open.
    pub max_stream: Duration,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events/v1/stream", get(stream::stream))
        .route(
            "/events/v1/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/events/v1/subscriptions/{subscription_id}",
            get(subscriptions::get).delete(subscriptions::delete),
        )
        .route(
            "/events/v1/subscriptions/{subscription_id}/resume",
            post(subscriptions::resume),
        )
}

/// Opens (creating) the delivery tables for the configured storage: `<data dir>/delivery.db`,
/// or the schema `annals_delivery` of the configured PostgreSQL database.
pub async fn open_db(storage: &StorageArgs) -> anyhow::Result<DeliveryDb> {
    let db: Arc<dyn ReadDb> = match &storage.database_url {
        Some(url) => Arc::new(
            PostgresReadDb::connect(url, SCHEMA)
                .await
                .context("opening the delivery schema")?,
        ),
        None => {
            let path = storage.data_dir.join("delivery.db");
            Arc::new(
                SqliteReadDb::open(&path)
                    .await
                    .with_context(|| format!("opening {}", path.display()))?,
            )
        }
    };
    Ok(DeliveryDb::open(db).await?)
}
