//! Global messages.

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb};

#[derive(Debug, Clone, PartialEq)]
pub struct MessageView {
    pub id: Uuid,
    pub content: String,
    pub severity: String,
    pub media_type: String,
}

/// The live messages, oldest first.
pub async fn list(db: &dyn ReadDb) -> DbResult<Vec<MessageView>> {
    db.query(
        "SELECT id, content, severity, media_type FROM messages ORDER BY created_at, id LIMIT $1",
        params![annals_domain::message::MAX_MESSAGES as i64],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(MessageView {
            id: parse_uuid(r.str("id")?)?,
            content: r.string("content")?,
            severity: r.string("severity")?,
            media_type: r.string("media_type")?,
        })
    })
    .collect()
}
