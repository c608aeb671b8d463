//! Namespace quotas with their limits, and the registry size last computed.

use uuid::Uuid;

use crate::params;
use crate::sql::{DbResult, ReadDb};

#[derive(Debug, Clone, PartialEq)]
pub struct LimitView {
    pub limit_id: u64,
    /// `Warning` or `Reject`.
    pub limit_type: String,
    pub threshold_percent: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuotaView {
    pub quota_id: u64,
    pub limit_bytes: u64,
    /// By id.
    pub limits: Vec<LimitView>,
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

/// The namespace's live quota, if any.
pub async fn get(db: &dyn ReadDb, namespace_id: Uuid) -> DbResult<Option<QuotaView>> {
    let rows = db
        .query(
            "SELECT quota_id, limit_bytes FROM quotas WHERE namespace_id = $1",
            params![namespace_id],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let limits = db
        .query(
            "SELECT limit_id, limit_type, threshold_percent FROM quota_limits
             WHERE namespace_id = $1 ORDER BY limit_id",
            params![namespace_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(LimitView {
                limit_id: count(r.i64("limit_id")?),
                limit_type: r.string("limit_type")?,
                threshold_percent: count(r.i64("threshold_percent")?),
            })
        })
        .collect::<DbResult<Vec<_>>>()?;
    Ok(Some(QuotaView {
        quota_id: count(row.i64("quota_id")?),
        limit_bytes: count(row.i64("limit_bytes")?),
        limits,
    }))
}

/// The registry's size as last computed, with when (milliseconds since the epoch).
pub async fn registry_size(db: &dyn ReadDb) -> DbResult<Option<(u64, Option<i64>)>> {
    let rows = db
        .query(
            "SELECT size_bytes, last_ran FROM registry_size WHERE id = 1",
            params![],
        )
        .await?;
    rows.first()
        .map(|r| Ok((count(r.i64("size_bytes")?), r.opt_i64("last_ran")?)))
        .transpose()
}

/// Every repository the namespace ever held, deleted ones included: what its quota usage is
/// folded from at a past position.
pub async fn namespace_repository_ids(db: &dyn ReadDb, namespace_id: Uuid) -> DbResult<Vec<Uuid>> {
    db.query(
        "SELECT id FROM repositories WHERE namespace_id = $1 ORDER BY id",
        params![namespace_id],
    )
    .await?
    .iter()
    .map(|r| crate::queries::namespaces::parse_uuid(r.str("id")?))
    .collect()
}
