//! API tokens, found by the SHA-256 of the bearer secret.

use crate::params;
use crate::queries::namespaces::{self, NamespaceView};
use crate::sql::{DbResult, ReadDb};

/// The user a token (given as its SHA-256 hex) belongs to.
pub async fn user_for_token(
    db: &dyn ReadDb,
    token_sha256: &str,
) -> DbResult<Option<NamespaceView>> {
    let rows = db
        .query(
            "SELECT user_id FROM tokens WHERE sha256 = $1",
            params![token_sha256],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let user_id = namespaces::parse_uuid(row.str("user_id")?)?;
    Ok(namespaces::by_id(db, user_id)
        .await?
        .filter(|u| !u.is_organization()))
}
