//! Repository notifications, as they stand now.

use uuid::Uuid;

use crate::params;
use crate::sql::{DbResult, ReadDb, Row};

/// The most notifications a repository's list answers (and the delivery worker reads for one
/// event).
pub const MAX_PER_REPOSITORY: i64 = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct NotificationView {
    pub id: Uuid,
    pub repository_id: Uuid,
    pub event: String,
    pub method: String,
    pub title: Option<String>,
    pub config: serde_json::Value,
    pub event_config: serde_json::Value,
    pub number_of_failures: u64,
    pub created_position: u64,
}

fn notification(row: &Row) -> DbResult<NotificationView> {
    let uuid = |s: &str| Uuid::parse_str(s).unwrap_or_default();
    let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    Ok(NotificationView {
        id: uuid(row.str("id")?),
        repository_id: uuid(row.str("repository_id")?),
        event: row.string("event")?,
        method: row.string("method")?,
        title: row.opt_str("title")?.map(str::to_owned),
        config: json(row.str("config")?),
        event_config: json(row.str("event_config")?),
        number_of_failures: row.i64("number_of_failures")?.max(0) as u64,
        created_position: row.i64("created_position")?.max(0) as u64,
    })
}

const NOTIFICATIONS: &str = "SELECT id, repository_id, event, method, title, config,
    event_config, number_of_failures, created_position FROM repository_notifications";

/// The notification `id` of the repository `repository_id`.
pub async fn get(
    db: &dyn ReadDb,
    repository_id: Uuid,
    id: Uuid,
) -> DbResult<Option<NotificationView>> {
    let sql = format!("{NOTIFICATIONS} WHERE id = $1 AND repository_id = $2");
    db.query(&sql, params![id, repository_id])
        .await?
        .first()
        .map(notification)
        .transpose()
}

/// The repository's notifications, oldest first.
pub async fn of_repository(
    db: &dyn ReadDb,
    repository_id: Uuid,
) -> DbResult<Vec<NotificationView>> {
    let sql =
        format!("{NOTIFICATIONS} WHERE repository_id = $1 ORDER BY created_position, id LIMIT $2");
    db.query(&sql, params![repository_id, MAX_PER_REPOSITORY])
        .await?
        .iter()
        .map(notification)
        .collect()
}

/// The repository's notifications for `event` that existed before `position` (the position
/// of what happened): a notification fires only for what came after its creation.
pub async fn for_event(
    db: &dyn ReadDb,
    repository_id: Uuid,
    event: &str,
    position: u64,
) -> DbResult<Vec<NotificationView>> {
    let sql = format!(
        "{NOTIFICATIONS} WHERE repository_id = $1 AND event = $2 AND created_position < $3
         ORDER BY created_position, id LIMIT $4"
    );
    db.query(
        &sql,
        params![repository_id, event, position, MAX_PER_REPOSITORY],
    )
    .await?
    .iter()
    .map(notification)
    .collect()
}
