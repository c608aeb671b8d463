//! Robots of a namespace, what they belong to and what they were granted.

use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb, Row};

/// The robots a list answers, at most (`limit` narrows it).
pub const MAX_ROBOTS: i64 = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct RobotView {
    pub id: Uuid,
    pub namespace_id: Uuid,
    /// `namespace+shortname`.
    pub name: String,
    pub description: String,
    /// `unstructured_metadata`, as JSON text.
    pub metadata: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    pub last_accessed: Option<i64>,
}

fn robot(row: &Row) -> DbResult<RobotView> {
    Ok(RobotView {
        id: parse_uuid(row.str("id")?)?,
        namespace_id: parse_uuid(row.str("namespace_id")?)?,
        name: row.string("name")?,
        description: row.string("description")?,
        metadata: row.string("metadata")?,
        created_at: row.i64("created_at")?,
        last_accessed: row.opt_i64("last_accessed")?,
    })
}

const ROBOTS: &str =
    "SELECT id, namespace_id, name, description, metadata, created_at, last_accessed FROM robots";

/// The namespace's robots, by name, at most `limit`.
pub async fn list(db: &dyn ReadDb, namespace_id: Uuid, limit: i64) -> DbResult<Vec<RobotView>> {
    let sql = format!("{ROBOTS} WHERE namespace_id = $1 ORDER BY name LIMIT $2");
    db.query(&sql, params![namespace_id, limit.clamp(0, MAX_ROBOTS)])
        .await?
        .iter()
        .map(robot)
        .collect()
}

/// The robot with the full name `name` in the namespace.
pub async fn get(db: &dyn ReadDb, namespace_id: Uuid, name: &str) -> DbResult<Option<RobotView>> {
    let sql = format!("{ROBOTS} WHERE namespace_id = $1 AND name = $2");
    db.query(&sql, params![namespace_id, name])
        .await?
        .first()
        .map(robot)
        .transpose()
}

/// The robot with the full name `name`, in whichever namespace.
pub async fn by_name(db: &dyn ReadDb, name: &str) -> DbResult<Option<RobotView>> {
    let sql = format!("{ROBOTS} WHERE name = $1");
    db.query(&sql, params![name])
        .await?
        .first()
        .map(robot)
        .transpose()
}

/// The names of the teams a member (user or robot) belongs to in the organization.
pub async fn teams_of(db: &dyn ReadDb, org_id: Uuid, member_id: Uuid) -> DbResult<Vec<String>> {
    db.query(
        "SELECT t.name FROM teams t JOIN team_members m ON m.team_id = t.id
         WHERE t.org_id = $1 AND m.member_id = $2 ORDER BY t.name",
        params![org_id, member_id],
    )
    .await?
    .iter()
    .map(|r| r.string("name"))
    .collect()
}

/// A repository permission held by a delegate.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldPermission {
    /// The repository's name (within its namespace).
    pub repository: String,
    pub is_public: bool,
    pub role: String,
}

/// The live repositories on which `delegate_id` holds a direct grant, by name.
pub async fn permissions_of(db: &dyn ReadDb, delegate_id: Uuid) -> DbResult<Vec<HeldPermission>> {
    db.query(
        "SELECT r.name, r.visibility, g.role FROM grants g JOIN repositories r ON r.id = g.repository_id
         WHERE g.delegate_id = $1 AND r.deleted = 0 ORDER BY r.name LIMIT $2",
        params![delegate_id, MAX_ROBOTS],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(HeldPermission {
            repository: r.string("name")?,
            is_public: r.str("visibility")? == "public",
            role: r.string("role")?,
        })
    })
    .collect()
}
