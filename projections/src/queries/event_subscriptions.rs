//! Webhook subscriptions, as they stand now.

use uuid::Uuid;

use crate::params;
use crate::sql::{DbResult, ReadDb, Row};

/// The most subscriptions a list answers (and the delivery worker runs).
pub const MAX_SUBSCRIPTIONS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub url: String,
    pub types: Vec<String>,
    pub namespace: Option<String>,
    pub namespace_id: Option<Uuid>,
    pub repository: Option<String>,
    pub from_position: u64,
    /// `active` or `paused`.
    pub status: String,
    pub paused_reason: Option<String>,
    pub paused_checkpoint: Option<u64>,
    pub created_by: Option<String>,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

impl SubscriptionView {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

fn subscription(row: &Row) -> DbResult<SubscriptionView> {
    let uuid = |s: &str| Uuid::parse_str(s).unwrap_or_default();
    Ok(SubscriptionView {
        id: uuid(row.str("id")?),
        url: row.string("url")?,
        types: serde_json::from_str(row.str("types")?).unwrap_or_default(),
        namespace: row.opt_str("namespace")?.map(str::to_owned),
        namespace_id: row.opt_str("namespace_id")?.map(uuid),
        repository: row.opt_str("repository")?.map(str::to_owned),
        from_position: row.i64("from_position")?.max(0) as u64,
        status: row.string("status")?,
        paused_reason: row.opt_str("paused_reason")?.map(str::to_owned),
        paused_checkpoint: row.opt_i64("paused_checkpoint")?.map(|p| p.max(0) as u64),
        created_by: row.opt_str("created_by")?.map(str::to_owned),
        created_at: row.i64("created_at")?,
    })
}

const SUBSCRIPTIONS: &str = "SELECT id, url, types, namespace, namespace_id, repository,
    from_position, status, paused_reason, paused_checkpoint, created_by, created_at
    FROM event_subscriptions";

pub async fn get(db: &dyn ReadDb, id: Uuid) -> DbResult<Option<SubscriptionView>> {
    let sql = format!("{SUBSCRIPTIONS} WHERE id = $1");
    db.query(&sql, params![id])
        .await?
        .first()
        .map(subscription)
        .transpose()
}

/// Every subscription, oldest first.
pub async fn list(db: &dyn ReadDb) -> DbResult<Vec<SubscriptionView>> {
    let sql = format!("{SUBSCRIPTIONS} ORDER BY created_at, id LIMIT $1");
    db.query(&sql, params![MAX_SUBSCRIPTIONS])
        .await?
        .iter()
        .map(subscription)
        .collect()
}
