//! Namespaces: users and organizations.

use uuid::Uuid;

use crate::params;
use crate::sql::{DbError, DbResult, ReadDb, Row};

#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceView {
    pub id: Uuid,
    pub name: String,
    /// `user` or `organization`.
    pub kind: String,
    pub email: Option<String>,
    pub invoice_email: bool,
    pub invoice_email_address: Option<String>,
    pub tag_expiration_s: i64,
    pub super_user: bool,
}

impl NamespaceView {
    pub fn is_organization(&self) -> bool {
        self.kind == "organization"
    }

    pub(crate) fn from_row(row: &Row) -> DbResult<Self> {
        Ok(NamespaceView {
            id: parse_uuid(row.str("id")?)?,
            name: row.string("name")?,
            kind: row.string("kind")?,
            email: row.opt_str("email")?.map(str::to_owned),
            invoice_email: row.bool("invoice_email")?,
            invoice_email_address: row.opt_str("invoice_email_address")?.map(str::to_owned),
            tag_expiration_s: row.i64("tag_expiration_s")?,
            super_user: row.bool("super_user")?,
        })
    }
}

pub(crate) fn parse_uuid(s: &str) -> DbResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| DbError::Decode(format!("bad uuid {s:?}: {e}")))
}

pub(crate) const COLUMNS: &str =
    "id, name, kind, email, invoice_email, invoice_email_address, tag_expiration_s, super_user";

/// The live namespace called `name`.
pub async fn by_name(db: &dyn ReadDb, name: &str) -> DbResult<Option<NamespaceView>> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM namespaces WHERE name = $1 AND deleted = 0"),
            params![name],
        )
        .await?;
    rows.first().map(NamespaceView::from_row).transpose()
}

pub async fn by_id(db: &dyn ReadDb, id: Uuid) -> DbResult<Option<NamespaceView>> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM namespaces WHERE id = $1"),
            params![id],
        )
        .await?;
    rows.first().map(NamespaceView::from_row).transpose()
}

/// Namespaces a superuser's list answers, at most.
pub const MAX_LISTED: i64 = 10_000;

/// The live namespaces of `kind` (`user` or `organization`), by name.
pub async fn of_kind(db: &dyn ReadDb, kind: &str) -> DbResult<Vec<NamespaceView>> {
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM namespaces WHERE kind = $1 AND deleted = 0 ORDER BY name LIMIT $2"
        ),
        params![kind, MAX_LISTED],
    )
    .await?
    .iter()
    .map(NamespaceView::from_row)
    .collect()
}

/// `text` as a `LIKE` pattern that matches it literally (with `\` as the escape).
pub fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Live namespaces of `kind` whose name starts with `prefix`, by name, at most `limit`.
pub async fn with_prefix(
    db: &dyn ReadDb,
    kind: &str,
    prefix: &str,
    limit: i64,
) -> DbResult<Vec<NamespaceView>> {
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM namespaces WHERE kind = $1 AND deleted = 0
               AND name LIKE $2 ESCAPE '\\' ORDER BY name LIMIT $3"
        ),
        params![kind, format!("{}%", like_literal(prefix)), limit],
    )
    .await?
    .iter()
    .map(NamespaceView::from_row)
    .collect()
}
