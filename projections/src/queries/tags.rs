//! Quay's views of tags and manifests: the tag history (one row per period a tag pointed at a
//! manifest), the live tags of a repository, manifest layers and labels.

use annals_domain::Digest;
use uuid::Uuid;

use crate::params;
use crate::queries::content::parse_digest;
use crate::sql::{DbResult, ReadDb, Row, SqlValue};

/// One period of a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub name: String,
    pub digest: Digest,
    pub reversion: bool,
    /// Microseconds since the epoch.
    pub start_ts: i64,
    pub end_ts: Option<i64>,
    pub expiration: Option<i64>,
    pub media_type: Option<String>,
    /// Manifest size plus its layers (0 when the manifest is gone).
    pub size: u64,
}

impl TagRow {
    fn from_row(row: &Row) -> DbResult<Self> {
        Ok(TagRow {
            name: row.string("name")?,
            digest: parse_digest(row.str("digest")?)?,
            reversion: row.bool("reversion")?,
            start_ts: row.i64("start_ts")?,
            end_ts: row.opt_i64("end_ts")?,
            expiration: row.opt_i64("expiration")?,
            media_type: row.opt_str("media_type")?.map(str::to_owned),
            size: (row.opt_i64("size")?.unwrap_or(0) + row.opt_i64("layers_size")?.unwrap_or(0))
                .max(0) as u64,
        })
    }

    /// Live now: not ended and not expired.
    pub fn is_live(&self, now_micros: i64) -> bool {
        self.end_ts.is_none() && self.expiration.is_none_or(|e| e > now_micros)
    }
}

/// How a tag history page is filtered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagFilter {
    pub only_active: bool,
    pub specific: Option<String>,
    /// `like:x` (substring) or `eq:x`.
    pub name_like: Option<String>,
    pub name_eq: Option<String>,
}

const COLUMNS: &str = "t.name, t.digest, t.reversion, t.start_ts, t.end_ts, t.expiration, m.media_type, m.size, m.layers_size";

/// A page (1-based) of a repository's tag history, newest first; answers the rows and whether
/// more follow.
pub async fn history(
    db: &dyn ReadDb,
    repository_id: Uuid,
    filter: &TagFilter,
    page: u64,
    limit: u64,
) -> DbResult<(Vec<TagRow>, bool)> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut sql = format!(
        "SELECT {COLUMNS} FROM tags t LEFT JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
         WHERE t.repository_id = $1"
    );
    let mut params: Vec<SqlValue> = vec![repository_id.into()];
    let mut bind = |sql: &mut String, clause: &str, value: SqlValue| {
        params.push(value);
        sql.push_str(&clause.replace("$?", &format!("${}", params.len())));
    };
    if filter.only_active {
        bind(
            &mut sql,
            " AND t.end_ts IS NULL AND (t.expiration IS NULL OR t.expiration > $?)",
            now.into(),
        );
    }
    if let Some(name) = &filter.specific {
        bind(&mut sql, " AND t.name = $?", name.clone().into());
    }
    if let Some(name) = &filter.name_eq {
        bind(&mut sql, " AND t.name = $?", name.clone().into());
    }
    if let Some(part) = &filter.name_like {
        bind(
            &mut sql,
            " AND t.name LIKE $?",
            format!("%{}%", part.replace(['%', '_'], "")).into(),
        );
    }
    let offset = page.saturating_sub(1).saturating_mul(limit);
    bind(&mut sql, " ORDER BY t.id DESC LIMIT $?", (limit + 1).into());
    bind(&mut sql, " OFFSET $?", offset.into());
    let rows = db.query(&sql, params).await?;
    let more = rows.len() as u64 > limit;
    let tags = rows
        .iter()
        .take(limit as usize)
        .map(TagRow::from_row)
        .collect::<DbResult<_>>()?;
    Ok((tags, more))
}

/// The live tags of a repository by name, at most `limit`.
pub async fn live(db: &dyn ReadDb, repository_id: Uuid, limit: u64) -> DbResult<Vec<TagRow>> {
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM tags t LEFT JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
                 WHERE t.repository_id = $1 AND t.end_ts IS NULL AND (t.expiration IS NULL OR t.expiration > $2)
                 ORDER BY t.name LIMIT $3"
            ),
            params![repository_id, chrono::Utc::now().timestamp_micros(), limit],
        )
        .await?;
    rows.iter().map(TagRow::from_row).collect()
}

/// A manifest's blobs in order (config first, then layers; children for an index).
#[derive(Debug, Clone, PartialEq)]
pub struct RefRow {
    pub kind: String,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

pub async fn refs(db: &dyn ReadDb, repository_id: Uuid, digest: &Digest) -> DbResult<Vec<RefRow>> {
    let rows = db
        .query(
            "SELECT kind, ref_digest, media_type, size FROM manifest_refs
             WHERE repository_id = $1 AND manifest_digest = $2 ORDER BY seq",
            params![repository_id, digest.to_string()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RefRow {
                kind: r.string("kind")?,
                digest: parse_digest(r.str("ref_digest")?)?,
                media_type: r.string("media_type")?,
                size: r.i64("size")?.max(0) as u64,
            })
        })
        .collect()
}

/// Every layer of the repository's live manifests: (layer, manifest it belongs to, created).
pub async fn layers(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<Vec<(RefRow, i64)>> {
    let rows = db
        .query(
            "SELECT r.kind, r.ref_digest, r.media_type, r.size, m.created_at FROM manifest_refs r
             JOIN manifests m ON m.repository_id = r.repository_id AND m.digest = r.manifest_digest
             WHERE r.repository_id = $1 AND r.kind = 'layer' ORDER BY m.created_at, r.seq",
            params![repository_id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                RefRow {
                    kind: r.string("kind")?,
                    digest: parse_digest(r.str("ref_digest")?)?,
                    media_type: r.string("media_type")?,
                    size: r.i64("size")?.max(0) as u64,
                },
                r.i64("created_at")?,
            ))
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    pub id: Uuid,
    pub key: String,
    pub value: String,
    pub media_type: String,
}

pub async fn labels(
    db: &dyn ReadDb,
    repository_id: Uuid,
    digest: &Digest,
) -> DbResult<Vec<LabelRow>> {
    let rows = db
        .query(
            "SELECT id, key, value, media_type FROM manifest_labels WHERE repository_id = $1 AND digest = $2
             ORDER BY created_at, id",
            params![repository_id, digest.to_string()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LabelRow {
                id: super::namespaces::parse_uuid(r.str("id")?)?,
                key: r.string("key")?,
                value: r.string("value")?,
                media_type: r.string("media_type")?,
            })
        })
        .collect()
}
