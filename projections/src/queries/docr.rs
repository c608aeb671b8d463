//! The reads of the DigitalOcean registry API and its garbage collection: a registry's
//! repositories with their counts, live tags and manifests with sizes, and the manifest graph and
//! blob links a collection needs.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb, Row};

/// A live tag row is open and not expired at `$now`.
fn live_tag(alias: &str, now: usize) -> String {
    format!(
        "{alias}.end_ts IS NULL AND ({alias}.expiration IS NULL OR {alias}.expiration > ${now})"
    )
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn count(rows: &[Row]) -> DbResult<u64> {
    Ok(rows
        .first()
        .map(|r| r.i64("n"))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64)
}

/// The bytes of a manifest and everything it references (config, layers, child manifests).
const TOTAL_SIZE: &str =
    "m.size + COALESCE((SELECT CAST(SUM(x.size) AS BIGINT) FROM manifest_refs x
     WHERE x.repository_id = m.repository_id AND x.manifest_digest = m.digest), 0)";

/// A repository of a registry with what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositorySummary {
    pub id: Uuid,
    pub name: String,
    pub tag_count: u64,
    pub manifest_count: u64,
}

/// A page of the live repositories of a namespace in name order: after `after` (a keyset
/// cursor) when given, else from `offset`. Answers the page and the total.
pub async fn repositories(
    db: &dyn ReadDb,
    namespace_id: Uuid,
    after: Option<&str>,
    offset: u64,
    limit: u64,
) -> DbResult<(Vec<RepositorySummary>, u64)> {
    let rows = db
        .query(
            &format!(
                "SELECT r.id, r.name,
                   (SELECT COUNT(*) FROM tags t WHERE t.repository_id = r.id AND {}) AS tag_count,
                   (SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id) AS manifest_count
                 FROM repositories r WHERE r.namespace_id = $1 AND r.deleted = 0 AND r.name > $2
                 ORDER BY r.name LIMIT $4 OFFSET $5",
                live_tag("t", 3)
            ),
            params![
                namespace_id,
                after.unwrap_or(""),
                now_micros(),
                limit,
                if after.is_some() { 0 } else { offset }
            ],
        )
        .await?;
    let total = db
        .query(
            "SELECT COUNT(*) AS n FROM repositories WHERE namespace_id = $1 AND deleted = 0",
            params![namespace_id],
        )
        .await?;
    let page = rows
        .iter()
        .map(|r| {
            Ok(RepositorySummary {
                id: parse_uuid(r.str("id")?)?,
                name: r.string("name")?,
                tag_count: r.i64("tag_count")?.max(0) as u64,
                manifest_count: r.i64("manifest_count")?.max(0) as u64,
            })
        })
        .collect::<DbResult<_>>()?;
    Ok((page, count(&total)?))
}

/// A live tag with the size of what it points at.
#[derive(Debug, Clone, PartialEq)]
pub struct TagSummary {
    pub name: String,
    pub digest: String,
    /// Bytes of the manifest and everything it references.
    pub size: u64,
    /// When the tag got its current target (microseconds).
    pub updated_at: i64,
}

/// A page of the live tags of a repository, most recently changed first, and the total.
pub async fn tags(
    db: &dyn ReadDb,
    repository_id: Uuid,
    offset: u64,
    limit: u64,
) -> DbResult<(Vec<TagSummary>, u64)> {
    let rows = db
        .query(
            &format!(
                "SELECT t.name, t.digest, t.start_ts,
                   COALESCE((SELECT {TOTAL_SIZE} FROM manifests m
                     WHERE m.repository_id = t.repository_id AND m.digest = t.digest), 0) AS total
                 FROM tags t WHERE t.repository_id = $1 AND {}
                 ORDER BY t.start_ts DESC, t.name LIMIT $3 OFFSET $4",
                live_tag("t", 2)
            ),
            params![repository_id, now_micros(), limit, offset],
        )
        .await?;
    let total = db
        .query(
            &format!(
                "SELECT COUNT(*) AS n FROM tags t WHERE t.repository_id = $1 AND {}",
                live_tag("t", 2)
            ),
            params![repository_id, now_micros()],
        )
        .await?;
    let page = rows
        .iter()
        .map(|r| {
            Ok(TagSummary {
                name: r.string("name")?,
                digest: r.string("digest")?,
                size: r.i64("total")?.max(0) as u64,
                updated_at: r.i64("start_ts")?,
            })
        })
        .collect::<DbResult<_>>()?;
    Ok((page, count(&total)?))
}

/// A manifest with its size, live tags and blobs.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestSummary {
    pub digest: String,
    pub size: u64,
    pub updated_at: i64,
    pub tags: Vec<String>,
    /// Config and layers (and child manifests of an index) with their sizes.
    pub blobs: Vec<(String, u64)>,
}

/// A page of the manifests of a repository, newest first, and the total.
pub async fn manifests(
    db: &dyn ReadDb,
    repository_id: Uuid,
    offset: u64,
    limit: u64,
) -> DbResult<(Vec<ManifestSummary>, u64)> {
    let rows = db
        .query(
            &format!(
                "SELECT m.digest, m.created_at, {TOTAL_SIZE} AS total FROM manifests m
                 WHERE m.repository_id = $1 ORDER BY m.created_at DESC, m.digest LIMIT $2 OFFSET $3"
            ),
            params![repository_id, limit, offset],
        )
        .await?;
    let total = db
        .query(
            "SELECT COUNT(*) AS n FROM manifests WHERE repository_id = $1",
            params![repository_id],
        )
        .await?;
    let mut page = Vec::with_capacity(rows.len());
    for r in &rows {
        let digest = r.string("digest")?;
        let tags = db
            .query(
                &format!(
                    "SELECT t.name FROM tags t WHERE t.repository_id = $1 AND t.digest = $2 AND {} ORDER BY t.name",
                    live_tag("t", 3)
                ),
                params![repository_id, digest.as_str(), now_micros()],
            )
            .await?
            .iter()
            .map(|t| t.string("name"))
            .collect::<DbResult<_>>()?;
        let blobs = db
            .query(
                "SELECT ref_digest, size FROM manifest_refs WHERE repository_id = $1 AND manifest_digest = $2 ORDER BY seq",
                params![repository_id, digest.as_str()],
            )
            .await?
            .iter()
            .map(|b| Ok((b.string("ref_digest")?, b.i64("size")?.max(0) as u64)))
            .collect::<DbResult<_>>()?;
        page.push(ManifestSummary {
            size: r.i64("total")?.max(0) as u64,
            updated_at: r.i64("created_at")?,
            digest,
            tags,
            blobs,
        });
    }
    Ok((page, count(&total)?))
}

/// One manifest of a registry as a collection sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphManifest {
    pub repository_id: Uuid,
    /// `namespace/name`.
    pub repository: String,
    pub digest: String,
    pub subject: Option<String>,
    /// Child manifests (of an index).
    pub children: Vec<String>,
    /// A live tag points at it.
    pub tagged: bool,
}

/// Every manifest of the live repositories of a namespace, with its references and tags.
pub async fn manifest_graph(db: &dyn ReadDb, namespace_id: Uuid) -> DbResult<Vec<GraphManifest>> {
    let manifests = db
        .query(
            "SELECT m.repository_id, r.namespace, r.name, m.digest, m.subject FROM manifests m
               JOIN repositories r ON r.id = m.repository_id
             WHERE r.namespace_id = $1 AND r.deleted = 0 ORDER BY m.repository_id, m.digest",
            params![namespace_id],
        )
        .await?;
    let children = db
        .query(
            "SELECT x.repository_id, x.manifest_digest, x.ref_digest FROM manifest_refs x
               JOIN repositories r ON r.id = x.repository_id
             WHERE r.namespace_id = $1 AND r.deleted = 0 AND x.kind = 'manifest'",
            params![namespace_id],
        )
        .await?;
    let tagged = db
        .query(
            &format!(
                "SELECT DISTINCT t.repository_id, t.digest FROM tags t
                   JOIN repositories r ON r.id = t.repository_id
                 WHERE r.namespace_id = $1 AND r.deleted = 0 AND {}",
                live_tag("t", 2)
            ),
            params![namespace_id, now_micros()],
        )
        .await?;
    let mut kids: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in &children {
        kids.entry((r.string("repository_id")?, r.string("manifest_digest")?))
            .or_default()
            .push(r.string("ref_digest")?);
    }
    let tagged: BTreeSet<(String, String)> = tagged
        .iter()
        .map(|r| Ok((r.string("repository_id")?, r.string("digest")?)))
        .collect::<DbResult<_>>()?;
    manifests
        .iter()
        .map(|r| {
            let key = (r.string("repository_id")?, r.string("digest")?);
            Ok(GraphManifest {
                repository_id: parse_uuid(&key.0)?,
                repository: format!("{}/{}", r.str("namespace")?, r.str("name")?),
                subject: r.opt_str("subject")?.map(str::to_owned),
                children: kids.get(&key).cloned().unwrap_or_default(),
                tagged: tagged.contains(&key),
                digest: key.1,
            })
        })
        .collect()
}

/// Which of `digests` are linked to a repository outside the namespace (those a collection of
/// the namespace's registry must keep).
pub async fn linked_elsewhere(
    db: &dyn ReadDb,
    namespace_id: Uuid,
    digests: &[String],
) -> DbResult<BTreeSet<String>> {
    let rows = super::query_in(
        db,
        "SELECT DISTINCT b.digest FROM blob_links b WHERE b.digest IN ({keys})
           AND NOT EXISTS (SELECT 1 FROM repositories r
             WHERE r.id = b.repository_id AND r.namespace_id = $1 AND r.deleted = 0)",
        namespace_id.into(),
        digests,
    )
    .await?;
    rows.iter().map(|r| r.string("digest")).collect()
}
