//! An organization's proxy cache, and when the cache last asked its upstream about a reference.

use annals_domain::proxy_cache::ProxyCacheConfig;
use uuid::Uuid;

use crate::params;
use crate::sql::{DbError, DbResult, ReadDb};

/// The proxy cache of the organization `organization_id`, if it is one.
pub async fn config(db: &dyn ReadDb, organization_id: Uuid) -> DbResult<Option<ProxyCacheConfig>> {
    let rows = db
        .query(
            "SELECT config FROM proxy_caches WHERE organization_id = $1",
            params![organization_id],
        )
        .await?;
    rows.first()
        .map(|row| {
            serde_json::from_str(row.str("config")?)
                .map_err(|e| DbError::Decode(format!("proxy_caches.config: {e}")))
        })
        .transpose()
}

/// The last fetch (or check) of `reference` in a repository: the digest found and when,
/// in microseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFetch {
    pub digest: String,
    pub fetched_at: i64,
}

pub async fn last_fetch(
    db: &dyn ReadDb,
    repository_id: Uuid,
    reference: &str,
) -> DbResult<Option<LastFetch>> {
    let rows = db
        .query(
            "SELECT digest, fetched_at FROM proxy_cache_fetches
             WHERE repository_id = $1 AND reference = $2",
            params![repository_id, reference],
        )
        .await?;
    rows.first()
        .map(|row| {
            Ok(LastFetch {
                digest: row.string("digest")?,
                fetched_at: row.i64("fetched_at")?,
            })
        })
        .transpose()
}
