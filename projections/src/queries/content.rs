//! What a repository holds: blob links, manifests, current tags, referrers, and the registry-wide
//! catalog — the reads the OCI distribution API needs.

use std::collections::BTreeSet;

use annals_domain::Digest;
use uuid::Uuid;

use crate::params;
use crate::queries::access::Viewer;
use crate::sql::{DbError, DbResult, ReadDb, Row};

/// A stored manifest, as the read model keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestView {
    pub repository_id: Uuid,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub layers_size: u64,
    pub config_digest: Option<String>,
    pub artifact_type: Option<String>,
    pub subject: Option<String>,
    /// JSON object text.
    pub annotations: String,
    pub created_at: i64,
}

pub(crate) const MANIFEST_COLUMNS: &str = "repository_id, digest, media_type, size, layers_size, config_digest, artifact_type, subject, annotations, created_at";

pub(crate) fn parse_digest(s: &str) -> DbResult<Digest> {
    Digest::parse(s).map_err(|_| DbError::Decode(format!("bad digest {s:?}")))
}

impl ManifestView {
    pub(crate) fn from_row(row: &Row) -> DbResult<Self> {
        Ok(ManifestView {
            repository_id: super::namespaces::parse_uuid(row.str("repository_id")?)?,
            digest: parse_digest(row.str("digest")?)?,
            media_type: row.string("media_type")?,
            size: row.i64("size")?.max(0) as u64,
            layers_size: row.i64("layers_size")?.max(0) as u64,
            config_digest: row.opt_str("config_digest")?.map(str::to_owned),
            artifact_type: row.opt_str("artifact_type")?.map(str::to_owned),
            subject: row.opt_str("subject")?.map(str::to_owned),
            annotations: row.string("annotations")?,
            created_at: row.i64("created_at")?,
        })
    }
}

/// The size of a blob linked to the repository, if it is.
pub async fn linked_blob(
    db: &dyn ReadDb,
    repository_id: Uuid,
    digest: &Digest,
) -> DbResult<Option<u64>> {
    let rows = db
        .query(
            "SELECT size FROM blob_links WHERE repository_id = $1 AND digest = $2",
            params![repository_id, digest.to_string()],
        )
        .await?;
    rows.first()
        .map(|r| Ok(r.i64("size")?.max(0) as u64))
        .transpose()
}

/// Which of `digests` are linked to the repository.
pub async fn linked_blobs(
    db: &dyn ReadDb,
    repository_id: Uuid,
    digests: &[Digest],
) -> DbResult<BTreeSet<Digest>> {
    let keys: Vec<String> = digests.iter().map(Digest::to_string).collect();
    let rows = super::query_in(
        db,
        "SELECT digest FROM blob_links WHERE repository_id = $1 AND digest IN ({keys})",
        repository_id.into(),
        &keys,
    )
    .await?;
    rows.iter()
        .map(|r| parse_digest(r.str("digest")?))
        .collect()
}

/// Up to `limit` live repositories in which `digest` is linked (mount sources), public ones
/// first.
pub async fn repositories_with_blob(
    db: &dyn ReadDb,
    digest: &Digest,
    limit: u32,
) -> DbResult<Vec<super::repositories::RepositoryView>> {
    super::repositories::linking(db, &digest.to_string(), limit).await
}

pub async fn manifest(
    db: &dyn ReadDb,
    repository_id: Uuid,
    digest: &Digest,
) -> DbResult<Option<ManifestView>> {
    let rows = db
        .query(
            &format!(
                "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = $1 AND digest = $2"
            ),
            params![repository_id, digest.to_string()],
        )
        .await?;
    rows.first().map(ManifestView::from_row).transpose()
}

/// The SQL condition for a tag row that is live at `$now` (microseconds).
pub(crate) const LIVE_TAG: &str = "end_ts IS NULL AND (expiration IS NULL OR expiration > $now)";

fn live(sql: &str, now_param: usize) -> String {
    sql.replace("$now", &format!("${now_param}"))
}

/// The manifest a tag points at now (an expired tag points nowhere).
pub async fn tag_target(
    db: &dyn ReadDb,
    repository_id: Uuid,
    tag: &str,
) -> DbResult<Option<Digest>> {
    let rows = db
        .query(
            &live(
                &format!(
                    "SELECT digest FROM tags WHERE repository_id = $1 AND name = $2 AND {LIVE_TAG}"
                ),
                3,
            ),
            params![repository_id, tag, chrono::Utc::now().timestamp_micros()],
        )
        .await?;
    rows.first()
        .map(|r| parse_digest(r.str("digest")?))
        .transpose()
}

/// Live tag names in lexical order after `last`, at most `n` (and whether more follow).
pub async fn tag_names(
    db: &dyn ReadDb,
    repository_id: Uuid,
    last: Option<&str>,
    n: usize,
) -> DbResult<(Vec<String>, bool)> {
    let rows = db
        .query(
            &live(
                &format!(
                    "SELECT name FROM tags WHERE repository_id = $1 AND name > $2 AND {LIVE_TAG} ORDER BY name LIMIT $4"
                ),
                3,
            ),
            params![
                repository_id,
                last.unwrap_or(""),
                chrono::Utc::now().timestamp_micros(),
                super::limit_past(n)
            ],
        )
        .await?;
    super::page_of(&rows, n, |r| r.string("name"))
}

/// Manifests whose subject is `subject`, optionally of one artifact type.
pub async fn referrers(
    db: &dyn ReadDb,
    repository_id: Uuid,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> DbResult<Vec<ManifestView>> {
    let rows = db
        .query(
            &format!(
                "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = $1 AND subject = $2 ORDER BY digest"
            ),
            params![repository_id, subject.to_string()],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let m = ManifestView::from_row(row)?;
        let effective = m
            .artifact_type
            .clone()
            .or(row_config_media_type(db, &m).await?);
        if artifact_type.is_none_or(|t| effective.as_deref() == Some(t)) {
            out.push(ManifestView {
                artifact_type: effective,
                ..m
            });
        }
    }
    Ok(out)
}

/// The config's media type, the artifact type of a manifest that names none.
async fn row_config_media_type(db: &dyn ReadDb, m: &ManifestView) -> DbResult<Option<String>> {
    let rows = db
        .query(
            "SELECT media_type FROM manifest_refs WHERE repository_id = $1 AND manifest_digest = $2 AND kind = 'config'",
            params![m.repository_id, m.digest.to_string()],
        )
        .await?;
    rows.first().map(|r| r.string("media_type")).transpose()
}

/// `namespace/name` of every live repository, in lexical order after `last`, at most `n`.
pub async fn catalog(
    db: &dyn ReadDb,
    viewer: Viewer,
    last: Option<&str>,
    n: usize,
) -> DbResult<(Vec<String>, bool)> {
    let (after_ns, after_name) = last
        .and_then(|l| l.split_once('/'))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap_or_else(|| (last.unwrap_or("").to_owned(), String::new()));
    let (visible, viewer_id) = viewer.visible(4);
    let rows = db
        .query(
            &format!(
                "SELECT r.namespace, r.name FROM repositories r WHERE r.deleted = 0
                   AND (r.namespace > $1 OR (r.namespace = $1 AND r.name > $2)) AND {visible}
                 ORDER BY r.namespace, r.name LIMIT $3"
            ),
            params![after_ns, after_name, super::limit_past(n), viewer_id],
        )
        .await?;
    super::page_of(&rows, n, |r| {
        Ok(format!("{}/{}", r.str("namespace")?, r.str("name")?))
    })
}

/// Every digest a live manifest needs kept: the manifests' own bytes and every config and layer
/// they reference, across all repositories (blobs are shared by content); Gerrit plugin jars and
/// the files of log exports whose URL has not expired.
pub async fn referenced_digests(db: &dyn ReadDb) -> DbResult<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for sql in [
        "SELECT DISTINCT digest AS d FROM manifests",
        "SELECT DISTINCT ref_digest AS d FROM manifest_refs",
        // Gerrit plugin jars live in the blob store too.
        "SELECT DISTINCT jar_digest AS d FROM gerrit_plugins",
    ] {
        for row in db.query(sql, vec![]).await? {
            out.insert(row.string("d")?);
        }
    }
    // So do log exports whose URL still serves.
    let now = chrono::Utc::now().timestamp_micros();
    for row in db
        .query(
            "SELECT DISTINCT digest AS d FROM log_exports WHERE digest IS NOT NULL AND expires_at > $1",
            crate::params![now],
        )
        .await?
    {
        out.insert(row.string("d")?);
    }
    Ok(out)
}

/// Live repositories of a namespace with their ids, for a collection's scan.
pub async fn namespace_repositories(
    db: &dyn ReadDb,
    namespace_id: Uuid,
) -> DbResult<Vec<(Uuid, String)>> {
    let rows = db
        .query(
            "SELECT id, name FROM repositories WHERE namespace_id = $1 AND deleted = 0 ORDER BY name",
            params![namespace_id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                super::namespaces::parse_uuid(r.str("id")?)?,
                r.string("name")?,
            ))
        })
        .collect()
}

/// What a namespace holds, for a tier's limits: live repositories, and the bytes of the distinct
/// blobs linked to them.
pub async fn namespace_usage(db: &dyn ReadDb, namespace_id: Uuid) -> DbResult<(u64, u64)> {
    let repos = db
        .query(
            "SELECT COUNT(*) AS n FROM repositories WHERE namespace_id = $1 AND deleted = 0",
            params![namespace_id],
        )
        .await?;
    let bytes = db
        .query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM (SELECT DISTINCT b.digest, b.size FROM blob_links b
               JOIN repositories r ON r.id = b.repository_id WHERE r.namespace_id = $1 AND r.deleted = 0) linked",
            params![namespace_id],
        )
        .await?;
    let n = |rows: &[Row]| -> DbResult<u64> {
        Ok(rows
            .first()
            .map(|r| r.i64("n"))
            .transpose()?
            .unwrap_or(0)
            .max(0) as u64)
    };
    Ok((n(&repos)?, n(&bytes)?))
}

// What a namespace's quota counts: unlike `namespace_usage` (the blobs linked, which a tier's
// storage limit counts), the blobs its live manifests reference — so a tag deleted and its
// manifest collected lowers it, and blobs uploaded for a refused manifest never count.
const REFERENCED: &str = "SELECT DISTINCT m.ref_digest, m.size FROM manifest_refs m
    JOIN repositories r ON r.id = m.repository_id
    WHERE r.namespace_id = $1 AND r.deleted = 0 AND m.kind <> 'manifest'";

/// The bytes of the distinct blobs the namespace's manifests reference, and which of
/// `digests` they reference already.
pub async fn namespace_referenced(
    db: &dyn ReadDb,
    namespace_id: Uuid,
    digests: &[Digest],
) -> DbResult<(u64, BTreeSet<Digest>)> {
    let total = db
        .query(
            &format!(
                "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM ({REFERENCED}) referenced"
            ),
            params![namespace_id],
        )
        .await?;
    let bytes = total.first().map(|r| r.i64("n")).transpose()?.unwrap_or(0);
    let keys: Vec<String> = digests.iter().map(Digest::to_string).collect();
    let rows = super::query_in(
        db,
        &format!("SELECT ref_digest FROM ({REFERENCED}) referenced WHERE ref_digest IN ({{keys}})"),
        namespace_id.into(),
        &keys,
    )
    .await?;
    let present = rows
        .iter()
        .map(|r| parse_digest(r.str("ref_digest")?))
        .collect::<DbResult<_>>()?;
    Ok((bytes.max(0) as u64, present))
}

/// The bytes of the distinct blobs a repository's manifests reference (its `quota_report`).
pub async fn repository_referenced_bytes(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<u64> {
    let rows = db
        .query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM (SELECT DISTINCT ref_digest, size
               FROM manifest_refs WHERE repository_id = $1 AND kind <> 'manifest') referenced",
            params![repository_id],
        )
        .await?;
    Ok(rows
        .first()
        .map(|r| r.i64("n"))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64)
}

/// [`repository_referenced_bytes`] of several repositories at once (a repository list page).
pub async fn repositories_referenced_bytes(
    db: &dyn ReadDb,
    repository_ids: &[Uuid],
) -> DbResult<std::collections::BTreeMap<Uuid, u64>> {
    let keys: Vec<String> = repository_ids.iter().map(Uuid::to_string).collect();
    let rows = super::query_in(
        db,
        "SELECT repository_id, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM (SELECT DISTINCT repository_id,
           ref_digest, size FROM manifest_refs WHERE kind <> $1 AND repository_id IN ({keys})) referenced
         GROUP BY repository_id",
        "manifest".into(),
        &keys,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                super::namespaces::parse_uuid(r.str("repository_id")?)?,
                r.i64("n")?.max(0) as u64,
            ))
        })
        .collect()
}
