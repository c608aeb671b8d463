//! Who holds which role on a repository.

use annals_domain::access::RepoRole;
use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb};

/// The grants a repository may list, at most.
pub const MAX_GRANTS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct GrantView {
    pub delegate_id: Uuid,
    /// `user`, `robot` or `team`.
    pub kind: String,
    pub name: String,
    pub role: String,
}

/// The repository's grants, by delegate name.
pub async fn of_repository(db: &dyn ReadDb, repository_id: Uuid) -> DbResult<Vec<GrantView>> {
    db.query(
        "SELECT delegate_id, delegate_kind, delegate_name, role FROM grants
         WHERE repository_id = $1 ORDER BY delegate_name LIMIT $2",
        params![repository_id, MAX_GRANTS],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(GrantView {
            delegate_id: parse_uuid(r.str("delegate_id")?)?,
            kind: r.string("delegate_kind")?,
            name: r.string("delegate_name")?,
            role: r.string("role")?,
        })
    })
    .collect()
}

/// The roles `principal_id` holds on the repository: its own grant and its teams'.
pub async fn transitive(
    db: &dyn ReadDb,
    repository_id: Uuid,
    principal_id: Uuid,
) -> DbResult<Vec<RepoRole>> {
    db.query(
        "SELECT g.role FROM grants g WHERE g.repository_id = $1 AND g.delegate_id = $2
         UNION ALL
         SELECT g.role FROM grants g JOIN team_members m ON m.team_id = g.delegate_id
           WHERE g.repository_id = $1 AND m.member_id = $2",
        params![repository_id, principal_id],
    )
    .await?
    .iter()
    .map(|r| Ok(RepoRole::parse(r.str("role")?).ok()))
    .filter_map(|r: DbResult<Option<RepoRole>>| r.transpose())
    .collect()
}
