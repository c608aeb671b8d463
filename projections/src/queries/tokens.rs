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
