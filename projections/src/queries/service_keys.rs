//! Service keys.

use crate::params;
use crate::sql::{DbResult, ReadDb, Row};

/// Keys a list answers, at most.
pub const MAX_KEYS: i64 = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceKeyView {
    pub kid: String,
    pub name: String,
    pub service: String,
    /// JSON text.
    pub metadata: String,
    /// Microseconds since the epoch.
    pub expiration: Option<i64>,
    /// JSON text.
    pub jwk: String,
    pub created_at: i64,
    pub approver: Option<String>,
    pub approval_notes: Option<String>,
    pub approved_at: Option<i64>,
}

fn key(row: &Row) -> DbResult<ServiceKeyView> {
    Ok(ServiceKeyView {
        kid: row.string("kid")?,
        name: row.string("name")?,
        service: row.string("service")?,
        metadata: row.string("metadata")?,
        expiration: row.opt_i64("expiration")?,
        jwk: row.string("jwk")?,
        created_at: row.i64("created_at")?,
        approver: row.opt_str("approver")?.map(str::to_owned),
        approval_notes: row.opt_str("approval_notes")?.map(str::to_owned),
        approved_at: row.opt_i64("approved_at")?,
    })
}

const KEYS: &str = "SELECT kid, name, service, metadata, expiration, jwk, created_at, approver,
    approval_notes, approved_at FROM service_keys";

pub async fn list(db: &dyn ReadDb) -> DbResult<Vec<ServiceKeyView>> {
    let sql = format!("{KEYS} ORDER BY created_at, kid LIMIT $1");
    db.query(&sql, params![MAX_KEYS])
        .await?
        .iter()
        .map(key)
        .collect()
}

pub async fn get(db: &dyn ReadDb, kid: &str) -> DbResult<Option<ServiceKeyView>> {
    let sql = format!("{KEYS} WHERE kid = $1");
    db.query(&sql, params![kid])
        .await?
        .first()
        .map(key)
        .transpose()
}
