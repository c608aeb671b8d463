//! API tokens, found by the SHA-256 of the bearer secret.

use crate::params;
use crate::queries::namespaces::{COLUMNS, NamespaceView};
use crate::sql::{DbResult, ReadDb};

/// The user a token (given as its SHA-256 hex) belongs to, in one query: every authenticated
/// request asks this.
pub async fn user_for_token(
    db: &dyn ReadDb,
    token_sha256: &str,
) -> DbResult<Option<NamespaceView>> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("n.{c}")).collect();
    let rows = db
        .query(
            &format!(
                "SELECT {} FROM tokens t JOIN namespaces n ON n.id = t.user_id
                 WHERE t.sha256 = $1 AND n.kind = 'user' AND n.deleted = 0",
                columns.join(", ")
            ),
            params![token_sha256],
        )
        .await?;
    rows.first().map(NamespaceView::from_row).transpose()
}

/// A registry credential's user, whether it may push, and when it expires (microseconds).
pub async fn registry_credential(
    db: &dyn ReadDb,
    token_sha256: &str,
) -> DbResult<Option<(NamespaceView, bool, Option<i64>)>> {
    let columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("n.{c}")).collect();
    let rows = db
        .query(
            &format!(
                "SELECT {}, c.read_write, c.expires_at FROM registry_credentials c JOIN namespaces n ON n.id = c.user_id
                 WHERE c.sha256 = $1 AND n.kind = 'user' AND n.deleted = 0",
                columns.join(", ")
            ),
            params![token_sha256],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok((
                NamespaceView::from_row(r)?,
                r.bool("read_write")?,
                r.opt_i64("expires_at")?,
            ))
        })
        .transpose()
}
