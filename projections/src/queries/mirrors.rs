//! A repository's mirror, as it stands now, and the mirrors the mirror worker should sync.

use annals_domain::mirror::MirrorConfig;
use annals_domain::{NamespaceName, RepositoryName};
use uuid::Uuid;

use crate::params;
use crate::sql::{DbError, DbResult, ReadDb, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct MirrorView {
    pub config: MirrorConfig,
    pub is_enabled: bool,
    /// `NEVER_RUN`, `SYNC_NOW`, `SYNCING`, `SUCCESS`, `FAIL` or `CANCEL`.
    pub sync_status: String,
    pub retries_remaining: i64,
    /// Microseconds since the epoch, while a sync runs.
    pub sync_expiration_date: Option<i64>,
    /// When the next scheduled sync is due (microseconds), once the schedule has moved on
    /// from the configuration's start date.
    pub next_sync_at: Option<i64>,
}

pub async fn get(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<Option<MirrorView>> {
    let rows = db
        .query(
            "SELECT m.config, m.is_enabled, m.sync_status, m.retries_remaining,
                m.sync_expiration_date, s.next_sync_at
             FROM repository_mirrors m
             LEFT JOIN repository_mirror_schedule s ON s.repository_id = m.repository_id
             WHERE m.repository_id = $1",
            params![repository_id],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let config: MirrorConfig = serde_json::from_str(row.str("config")?)
        .map_err(|e| DbError::Decode(format!("repository_mirrors.config: {e}")))?;
    Ok(Some(MirrorView {
        config,
        is_enabled: row.bool("is_enabled")?,
        sync_status: row.string("sync_status")?,
        retries_remaining: row.i64("retries_remaining")?,
        sync_expiration_date: row.opt_i64("sync_expiration_date")?,
        next_sync_at: row.opt_i64("next_sync_at")?,
    }))
}

/// A mirror the worker should look at.
#[derive(Debug, Clone, PartialEq)]
pub struct MirrorToSync {
    pub repository_id: Uuid,
    pub namespace: NamespaceName,
    pub name: RepositoryName,
    pub config: MirrorConfig,
    /// The sync a worker holds, when one does.
    pub sync_id: Option<Uuid>,
}

const TO_SYNC: &str = "SELECT m.repository_id, r.namespace, r.name, m.config, s.sync_id
     FROM repository_mirrors m
     JOIN repositories r ON r.id = m.repository_id AND r.deleted = 0
     LEFT JOIN repository_mirror_schedule s ON s.repository_id = m.repository_id";

/// Enabled mirrors of repositories in the `MIRROR` state that look due at `now`
/// (microseconds): asked for, at their start date with retries left, or held by a sync that
/// expired. The domain decides again when the worker
/// claims one.
pub async fn due(db: &dyn ReadDb, now: i64, limit: u32) -> DbResult<Vec<MirrorToSync>> {
    let rows = db
        .query(
            &format!(
                "{TO_SYNC}
                 WHERE m.is_enabled = 1 AND r.state = 'MIRROR' AND (
                    m.sync_status = 'SYNC_NOW'
                    OR (m.sync_status = 'SYNCING' AND m.sync_expiration_date <= $1)
                    OR (m.sync_status <> 'SYNCING' AND m.retries_remaining > 0
                        AND COALESCE(s.next_sync_at, 0) <= $1))
                 ORDER BY COALESCE(s.next_sync_at, 0), m.repository_id
                 LIMIT $2"
            ),
            params![now, i64::from(limit)],
        )
        .await?;
    rows.iter().map(to_sync).collect()
}

/// Mirrors a sync holds now: after a restart the worker resumes its own.
pub async fn syncing(db: &dyn ReadDb) -> DbResult<Vec<MirrorToSync>> {
    let rows = db
        .query(
            &format!("{TO_SYNC} WHERE m.sync_status = 'SYNCING' ORDER BY m.repository_id"),
            params![],
        )
        .await?;
    rows.iter().map(to_sync).collect()
}

fn to_sync(row: &Row) -> DbResult<MirrorToSync> {
    let bad = |what: &str, e: String| DbError::Decode(format!("repository_mirrors.{what}: {e}"));
    Ok(MirrorToSync {
        repository_id: row
            .str("repository_id")?
            .parse()
            .map_err(|e: uuid::Error| bad("repository_id", e.to_string()))?,
        namespace: NamespaceName::parse(row.str("namespace")?)
            .map_err(|e| bad("namespace", e.to_string()))?,
        name: RepositoryName::parse(row.str("name")?).map_err(|e| bad("name", e.to_string()))?,
        config: serde_json::from_str(row.str("config")?)
            .map_err(|e| bad("config", e.to_string()))?,
        sync_id: row
            .opt_str("sync_id")?
            .map(|s| {
                s.parse()
                    .map_err(|e: uuid::Error| bad("sync_id", e.to_string()))
            })
            .transpose()?,
    })
}
