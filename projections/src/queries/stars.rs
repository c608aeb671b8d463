//! Which repositories a user starred.

use std::collections::HashSet;

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::queries::query_in;
use crate::sql::{DbResult, ReadDb};

/// Which of `repository_ids` the user starred.
pub async fn starred_among(
    db: &dyn ReadDb,
    user_id: Uuid,
    repository_ids: &[Uuid],
) -> DbResult<HashSet<Uuid>> {
    let keys: Vec<String> = repository_ids.iter().map(Uuid::to_string).collect();
    let rows = query_in(
        db,
        "SELECT repository_id FROM stars WHERE user_id = $1 AND repository_id IN ({keys})",
        user_id.to_string().into(),
        &keys,
    )
    .await?;
    rows.iter()
        .map(|r| parse_uuid(r.str("repository_id")?))
        .collect()
}

/// Whether the user starred the repository.
pub async fn is_starred(db: &dyn ReadDb, user_id: Uuid, repository_id: Uuid) -> DbResult<bool> {
    let rows = db
        .query(
            "SELECT 1 AS one FROM stars WHERE user_id = $1 AND repository_id = $2",
            params![user_id, repository_id],
        )
        .await?;
    Ok(!rows.is_empty())
}
