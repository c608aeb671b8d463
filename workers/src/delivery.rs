//! The tables of the workers that send the log outside (webhooks, the NATS relay): how far
//! each got, the webhook signing secrets, and the upstream passwords of repository mirrors and
//! proxy-cache organizations.
//! They live outside the read-model generations (a
//! replay must not rebuild them: a checkpoint is what was delivered, a secret is not in the
//! log) — `<data dir>/delivery.db`, or the schema `annals_delivery` on PostgreSQL.
//!
//! Checkpoints are rows of `projection_checkpoints`: `webhook:<subscription id>` and
//! `nats:<stream>`, each the position of the last event delivered (or passed over).

use std::sync::Arc;

use annals_projections::params;
use annals_projections::sql::{DbResult, ReadDb, Stmt};
use base64::Engine;
use rand::RngCore;
use uuid::Uuid;

const DDL: &[&str] = &[
    // The secret as handed out (`whsec_<base64>`): the worker signs with it, so it is kept.
    "CREATE TABLE IF NOT EXISTS webhook_secrets (
        subscription_id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    // Repository mirrors and proxy caches: an upstream registry's password, under the
    // credential id their configuration event names (the log never holds the password).
    "CREATE TABLE IF NOT EXISTS mirror_credentials (
        credential_id TEXT PRIMARY KEY,
        password TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
];

/// The delivery workers' tables.
#[derive(Clone)]
pub struct DeliveryDb {
    db: Arc<dyn ReadDb>,
}

/// A fresh Standard Webhooks secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

pub fn webhook_checkpoint(subscription_id: Uuid) -> String {
    format!("webhook:{subscription_id}")
}

impl DeliveryDb {
    /// Creates the tables if needed.
    pub async fn open(db: Arc<dyn ReadDb>) -> DbResult<Self> {
        db.migrate(DDL).await?;
        Ok(DeliveryDb { db })
    }

    /// The secret of `subscription_id`, made and stored now if it has none (so a retried
    /// create answers the secret it made the first time).
    pub async fn ensure_secret(&self, subscription_id: Uuid) -> DbResult<String> {
        if let Some(secret) = self.secret(subscription_id).await? {
            return Ok(secret);
        }
        let now = chrono::Utc::now().timestamp_micros();
        self.db
            .apply(
                vec![Stmt::new(
                    "INSERT INTO webhook_secrets (subscription_id, secret, created_at)
                     VALUES ($1, $2, $3) ON CONFLICT (subscription_id) DO NOTHING",
                    params![subscription_id, new_secret(), now],
                )],
                (&format!("webhook-secret:{subscription_id}"), 1),
            )
            .await?;
        Ok(self.secret(subscription_id).await?.unwrap_or_default())
    }

    pub async fn secret(&self, subscription_id: Uuid) -> DbResult<Option<String>> {
        let rows = self
            .db
            .query(
                "SELECT secret FROM webhook_secrets WHERE subscription_id = $1",
                params![subscription_id],
            )
            .await?;
        rows.first().map(|r| r.string("secret")).transpose()
    }

    /// Keeps the upstream password of a mirror or a proxy cache under `credential_id` (derived
    /// from the command id, so a retried request stores the same row).
    pub async fn store_mirror_password(&self, credential_id: Uuid, password: &str) -> DbResult<()> {
        let now = chrono::Utc::now().timestamp_micros();
        self.db
            .apply(
                vec![Stmt::new(
                    "INSERT INTO mirror_credentials (credential_id, password, created_at)
                     VALUES ($1, $2, $3) ON CONFLICT (credential_id) DO NOTHING",
                    params![credential_id, password, now],
                )],
                (&format!("mirror-credential:{credential_id}"), 1),
            )
            .await
    }

    /// The upstream password kept under `credential_id`.
    pub async fn mirror_password(&self, credential_id: Uuid) -> DbResult<Option<String>> {
        let rows = self
            .db
            .query(
                "SELECT password FROM mirror_credentials WHERE credential_id = $1",
                params![credential_id],
            )
            .await?;
        rows.first().map(|r| r.string("password")).transpose()
    }

    /// The position checkpoint `name` reached (0 when never written).
    pub async fn checkpoint(&self, name: &str) -> DbResult<u64> {
        self.db.checkpoint(name).await
    }

    pub async fn set_checkpoint(&self, name: &str, position: u64) -> DbResult<()> {
        self.db.apply(Vec::new(), (name, position)).await
    }
}
