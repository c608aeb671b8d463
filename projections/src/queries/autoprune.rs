//! Auto-prune policies as they stand, and what the auto-prune worker reads of a repository:
//! its live tags with the time and event each began at.

use annals_domain::autoprune::{LiveTag, PolicyConfig};
use uuid::Uuid;

use crate::params;
use crate::sql::{DbResult, ReadDb, Row};

/// The most policies read at once (every scope holds at most `autoprune::MAX_POLICIES`).
pub const MAX_LISTED: i64 = 100_000;
/// The most live tags of one repository a pass looks at.
pub const MAX_TAGS: i64 = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyView {
    pub uuid: Uuid,
    pub namespace_id: Uuid,
    pub namespace: String,
    pub repository_id: Option<Uuid>,
    pub repository: Option<String>,
    pub policy: PolicyConfig,
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap_or_default()
}

/// A row; `None` when its policy does not decode (never written so).
fn policy(row: &Row) -> DbResult<Option<PolicyView>> {
    let Ok(policy) = serde_json::from_str(row.str("policy")?) else {
        return Ok(None);
    };
    Ok(Some(PolicyView {
        uuid: uuid(row.str("uuid")?),
        namespace_id: uuid(row.str("namespace_id")?),
        namespace: row.string("namespace")?,
        repository_id: row.opt_str("repository_id")?.map(uuid),
        repository: row.opt_str("repository")?.map(str::to_owned),
        policy,
    }))
}

const POLICIES: &str = "SELECT uuid, namespace_id, namespace, repository_id, repository, policy
    FROM autoprune_policies";

async fn select(
    db: &dyn ReadDb,
    filter: &str,
    params: Vec<crate::sql::SqlValue>,
) -> DbResult<Vec<PolicyView>> {
    let sql = format!("{POLICIES} {filter} ORDER BY created_at, uuid LIMIT {MAX_LISTED}");
    let mut out = Vec::new();
    for row in db.query(&sql, params).await? {
        out.extend(policy(&row)?);
    }
    Ok(out)
}

/// A namespace's own policies (not its repositories'), oldest first.
pub async fn of_namespace(db: &dyn ReadDb, namespace_id: Uuid) -> DbResult<Vec<PolicyView>> {
    select(
        db,
        "WHERE namespace_id = $1 AND repository_id IS NULL",
        params![namespace_id],
    )
    .await
}

/// A repository's own policies, oldest first.
pub async fn of_repository(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<Vec<PolicyView>> {
    select(db, "WHERE repository_id = $1", params![repository_id]).await
}

/// Every policy of every scope.
pub async fn all(db: &dyn ReadDb) -> DbResult<Vec<PolicyView>> {
    select(db, "", params![]).await
}

/// A live repository the worker prunes.
#[derive(Debug, Clone, PartialEq)]
pub struct PrunedRepository {
    pub id: Uuid,
    pub namespace_id: Uuid,
    pub namespace: String,
    pub name: String,
}

const REPOSITORIES: &str =
    "SELECT id, namespace_id, namespace, name FROM repositories WHERE deleted = 0";

fn repository(row: &Row) -> DbResult<PrunedRepository> {
    Ok(PrunedRepository {
        id: uuid(row.str("id")?),
        namespace_id: uuid(row.str("namespace_id")?),
        namespace: row.string("namespace")?,
        name: row.string("name")?,
    })
}

/// The live repositories of a namespace.
pub async fn repositories_of(
    db: &dyn ReadDb,
    namespace_id: Uuid,
) -> DbResult<Vec<PrunedRepository>> {
    let sql = format!("{REPOSITORIES} AND namespace_id = $1 ORDER BY name");
    db.query(&sql, params![namespace_id])
        .await?
        .iter()
        .map(repository)
        .collect()
}

/// The live repository `id`, if it is.
pub async fn repository_by_id(db: &dyn ReadDb, id: Uuid) -> DbResult<Option<PrunedRepository>> {
    let sql = format!("{REPOSITORIES} AND id = $1");
    db.query(&sql, params![id])
        .await?
        .first()
        .map(repository)
        .transpose()
}

/// The tags of a repository that point at a manifest now.
pub async fn live_tags(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<Vec<LiveTag>> {
    db.query(
        "SELECT id, name, digest, start_ts FROM tags
         WHERE repository_id = $1 AND end_ts IS NULL ORDER BY start_ts DESC, id DESC LIMIT $2",
        params![repository_id, MAX_TAGS],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(LiveTag {
            name: row.string("name")?,
            digest: row.string("digest")?,
            since_micros: row.i64("start_ts")?,
            version: row.i64("id")?.max(0) as u64,
        })
    })
    .collect()
}
