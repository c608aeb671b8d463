//! Repositories: one by name, and keyset-paged lists.

use uuid::Uuid;

use crate::params;
use crate::queries::access::Viewer;
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

/// Up to `limit` live repositories in which the blob `digest` is linked, public ones first.
pub async fn linking(db: &dyn ReadDb, digest: &str, limit: u32) -> DbResult<Vec<RepositoryView>> {
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM repositories WHERE deleted = 0 AND id IN
                   (SELECT repository_id FROM blob_links WHERE digest = $1)
                 ORDER BY CASE WHEN visibility = 'public' THEN 0 ELSE 1 END, namespace, name
                 LIMIT $2"
            ),
            params![digest, i64::from(limit)],
        )
        .await?;
    rows.iter().map(RepositoryView::from_row).collect()
}

/// Which repositories a list covers.
#[derive(Debug, Clone, PartialEq)]
pub enum ListFilter {
    Namespace(String),
    Public,
    /// Those the user starred.
    Starred(Uuid),
}

/// A page of live repositories that `viewer` may read, ordered by (namespace, name), starting
/// after `after`. Answers up to `limit` rows and whether more follow.
pub async fn list(
    db: &dyn ReadDb,
    filter: &ListFilter,
    viewer: Viewer,
    kind: Option<&str>,
    after: Option<(String, String)>,
    limit: usize,
) -> DbResult<(Vec<RepositoryView>, bool)> {
    let (after_ns, after_name) = after.unwrap_or_default();
    let fetch = limit as i64 + 1;
    let kind: SqlValue = kind.into();
    let (visible, viewer_id) = viewer.visible(5);
    let (condition, first): (&str, SqlValue) = match filter {
        ListFilter::Namespace(namespace) => ("r.namespace = $1", namespace.as_str().into()),
        ListFilter::Public => ("r.visibility = 'public' AND r.namespace <> $1", "".into()),
        ListFilter::Starred(user_id) => (
            "EXISTS (SELECT 1 FROM stars s WHERE s.repository_id = r.id AND s.user_id = $1)",
            user_id.to_string().into(),
        ),
    };
    let (after_sql, after_ns): (&str, SqlValue) = match filter {
        // One namespace: the cursor is the name alone (`$6` still bound, never read).
        ListFilter::Namespace(_) => (
            "r.name > $2 AND CAST($6 AS TEXT) IS NOT NULL",
            after_ns.into(),
        ),
        _ => (
            "(r.namespace > $6 OR (r.namespace = $6 AND r.name > $2))",
            after_ns.into(),
        ),
    };
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM repositories r
                 WHERE {condition} AND r.deleted = 0 AND {after_sql}
                   AND (CAST($3 AS TEXT) IS NULL OR r.kind = $3) AND {visible}
                 ORDER BY r.namespace, r.name LIMIT $4"
            ),
            vec![
                first,
                after_name.into(),
                kind,
                fetch.into(),
                viewer_id.into(),
                after_ns,
            ],
        )
        .await?;
    let more = rows.len() > limit;
    let repos = rows
        .iter()
        .take(limit)
        .map(RepositoryView::from_row)
        .collect::<DbResult<_>>()?;
    Ok((repos, more))
}

/// Live repositories that `viewer` may read whose name or description contains `text`
/// (case-insensitively), by namespace and name: `limit` from `offset`, and whether more follow.
pub async fn search(
    db: &dyn ReadDb,
    viewer: Viewer,
    text: &str,
    offset: i64,
    limit: usize,
) -> DbResult<(Vec<RepositoryView>, bool)> {
    let (visible, viewer_id) = viewer.visible(1);
    let pattern = format!(
        "%{}%",
        crate::queries::namespaces::like_literal(&text.to_lowercase())
    );
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM repositories r
                 WHERE r.deleted = 0 AND {visible}
                   AND (LOWER(r.name) LIKE $2 ESCAPE '\\' OR LOWER(r.description) LIKE $2 ESCAPE '\\')
                 ORDER BY r.namespace, r.name LIMIT $3 OFFSET $4"
            ),
            vec![
                viewer_id.into(),
                pattern.into(),
                crate::queries::limit_past(limit).into(),
                offset.into(),
            ],
        )
        .await?;
    crate::queries::page_of(&rows, limit, RepositoryView::from_row)
}
