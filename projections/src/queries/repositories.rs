//! Repositories: one by name, and keyset-paged lists.

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb, Row, SqlValue};

#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryView {
    pub id: Uuid,
    pub namespace_id: Uuid,
    pub namespace: String,
    pub name: String,
    pub visibility: String,
    pub description: String,
    pub state: String,
    pub kind: String,
    pub created_at: i64,
    pub last_modified: i64,
}

impl RepositoryView {
    pub fn is_public(&self) -> bool {
        self.visibility == "public"
    }

    fn from_row(row: &Row) -> DbResult<Self> {
        Ok(RepositoryView {
            id: parse_uuid(row.str("id")?)?,
            namespace_id: parse_uuid(row.str("namespace_id")?)?,
            namespace: row.string("namespace")?,
            name: row.string("name")?,
            visibility: row.string("visibility")?,
            description: row.string("description")?,
            state: row.string("state")?,
            kind: row.string("kind")?,
            created_at: row.i64("created_at")?,
            last_modified: row.i64("last_modified")?,
        })
    }
}

const COLUMNS: &str = "id, namespace_id, namespace, name, visibility, description, state, kind, created_at, last_modified";

/// The live repository `namespace/name`.
pub async fn get(db: &dyn ReadDb, namespace: &str, name: &str) -> DbResult<Option<RepositoryView>> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM repositories WHERE namespace = $1 AND name = $2 AND deleted = 0"),
            params![namespace, name],
        )
        .await?;
    rows.first().map(RepositoryView::from_row).transpose()
}

/// Which repositories a list covers.
#[derive(Debug, Clone, PartialEq)]
pub enum ListFilter {
    Namespace(String),
    Public,
}

/// A page of live repositories ordered by (namespace, name), starting after `after`. Answers
/// up to `limit` rows and whether more follow.
pub async fn list(
    db: &dyn ReadDb,
    filter: &ListFilter,
    kind: Option<&str>,
    after: Option<(String, String)>,
    limit: usize,
) -> DbResult<(Vec<RepositoryView>, bool)> {
    let (after_ns, after_name) = after.unwrap_or_default();
    let fetch = limit as i64 + 1;
    let kind: SqlValue = kind.into();
    let rows = match filter {
        ListFilter::Namespace(namespace) => {
            db.query(
                &format!(
                    "SELECT {COLUMNS} FROM repositories
                     WHERE namespace = $1 AND deleted = 0 AND name > $2 AND (CAST($3 AS TEXT) IS NULL OR kind = $3)
                     ORDER BY name LIMIT $4"
                ),
                vec![namespace.into(), after_name.into(), kind, fetch.into()],
            )
            .await?
        }
        ListFilter::Public => {
            db.query(
                &format!(
                    "SELECT {COLUMNS} FROM repositories
                     WHERE visibility = 'public' AND deleted = 0 AND (namespace > $1 OR (namespace = $1 AND name > $2))
                       AND (CAST($3 AS TEXT) IS NULL OR kind = $3)
                     ORDER BY namespace, name LIMIT $4"
                ),
                vec![after_ns.into(), after_name.into(), kind, fetch.into()],
            )
            .await?
        }
    };
    let more = rows.len() > limit;
    let repos = rows
        .iter()
        .take(limit)
        .map(RepositoryView::from_row)
        .collect::<DbResult<_>>()?;
    Ok((repos, more))
}
