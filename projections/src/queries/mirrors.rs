//! A repository's mirror, as it stands now.

use annals_domain::mirror::MirrorConfig;
use uuid::Uuid;

use crate::params;
use crate::sql::{DbError, DbResult, ReadDb};

#[derive(Debug, Clone, PartialEq)]
pub struct MirrorView {
    pub config: MirrorConfig,
    pub is_enabled: bool,
    /// `NEVER_RUN`, `SYNC_NOW`, `SYNCING`, `SUCCESS`, `FAIL` or `CANCEL`.
    pub sync_status: String,
    pub retries_remaining: i64,
    /// Microseconds since the epoch, while a sync runs.
    pub sync_expiration_date: Option<i64>,
}

pub async fn get(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<Option<MirrorView>> {
    let rows = db
        .query(
            "SELECT config, is_enabled, sync_status, retries_remaining, sync_expiration_date
             FROM repository_mirrors WHERE repository_id = $1",
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
    }))
}
