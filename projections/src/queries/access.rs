//! The reads that authorize a request: the credential behind a secret, a user's password hash,
//! and what a principal holds in a namespace and on a repository. Each is one query, as every
//! authorized request asks them.

use annals_domain::access::{RepoRole, Scopes, TeamRole};
use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb};

/// What a credential stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialView {
    /// `api`, `oauth`, `app` or `robot`.
    pub kind: String,
    pub token_id: Uuid,
    /// The user, or the robot.
    pub principal_id: Uuid,
    /// The user's name, or the robot's full name.
    pub principal_name: String,
    /// The user, or the robot's namespace.
    pub owner_id: Uuid,
    pub super_user: bool,
    pub scopes: Scopes,
    /// Microseconds since the epoch.
    pub expires_at: Option<i64>,
}

impl CredentialView {
    pub fn is_robot(&self) -> bool {
        self.kind == "robot"
    }
}

/// The live credential recorded under `sha256` (the hex SHA-256 of its secret): its owner
/// (a user, or a robot's namespace) must be live. Expiry is the caller's to check.
pub async fn credential(db: &dyn ReadDb, sha256: &str) -> DbResult<Option<CredentialView>> {
    let rows = db
        .query(
            "SELECT c.kind, c.token_id, c.principal_id, c.principal_name, c.owner_id, c.scopes,
                    c.expires_at, n.name AS owner_name, n.super_user
             FROM credentials c JOIN namespaces n ON n.id = c.owner_id AND n.deleted = 0
             WHERE c.sha256 = $1",
            params![sha256],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let kind = row.string("kind")?;
    let robot = kind == "robot";
    let scopes: Vec<&str> = row.str("scopes")?.split(' ').collect();
    Ok(Some(CredentialView {
        token_id: parse_uuid(row.str("token_id")?)?,
        principal_id: parse_uuid(row.str("principal_id")?)?,
        principal_name: if robot {
            row.string("principal_name")?
        } else {
            row.string("owner_name")?
        },
        owner_id: parse_uuid(row.str("owner_id")?)?,
        super_user: !robot && row.bool("super_user")?,
        scopes: Scopes::from_names(&scopes),
        expires_at: row.opt_i64("expires_at")?,
        kind,
    }))
}

/// A live user's id, whether a superuser, and password hash (if one is set), by name.
pub async fn password(
    db: &dyn ReadDb,
    username: &str,
) -> DbResult<Option<(Uuid, bool, Option<String>)>> {
    let rows = db
        .query(
            "SELECT n.id, n.super_user, p.hash FROM namespaces n LEFT JOIN passwords p ON p.user_id = n.id
             WHERE n.name = $1 AND n.kind = 'user' AND n.deleted = 0",
            params![username],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok((
                parse_uuid(r.str("id")?)?,
                r.bool("super_user")?,
                r.opt_str("hash")?.map(str::to_owned),
            ))
        })
        .transpose()
}

/// What a principal holds: the strongest role of its teams in the namespace (when it is an
/// organization) and the strongest role granted on the repository (directly or through a
/// team), in one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    pub team_role: Option<TeamRole>,
    pub repo_role: Option<RepoRole>,
}

pub async fn holdings(
    db: &dyn ReadDb,
    namespace_id: Uuid,
    repository_id: Option<Uuid>,
    principal_id: Uuid,
) -> DbResult<Holdings> {
    let repository = repository_id.map(|r| r.to_string()).unwrap_or_default();
    let rows = db
        .query(
            "SELECT 'team' AS src, t.role FROM team_members m JOIN teams t ON t.id = m.team_id
               WHERE t.org_id = $1 AND m.member_id = $3
             UNION ALL
             SELECT 'repo' AS src, g.role FROM grants g WHERE g.repository_id = $2 AND g.delegate_id = $3
             UNION ALL
             SELECT 'repo' AS src, g.role FROM grants g JOIN team_members m ON m.team_id = g.delegate_id
               WHERE g.repository_id = $2 AND m.member_id = $3",
            params![namespace_id, repository, principal_id],
        )
        .await?;
    let mut out = Holdings::default();
    for row in &rows {
        let role = row.str("role")?;
        if row.str("src")? == "team" {
            out.team_role = out.team_role.max(TeamRole::parse(role).ok());
        } else {
            out.repo_role = out.repo_role.max(RepoRole::parse(role).ok());
        }
    }
    Ok(out)
}

/// Who is looking at a list: lists answer only what it may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    /// A user or robot, by id.
    Principal(Uuid),
    /// Sees everything.
    SuperUser,
}

impl Viewer {
    /// A SQL condition on the repository aliased `r` that holds when the viewer may read it,
    /// with the viewer's id bound to `$n`; and the value to bind.
    pub fn visible(&self, n: usize) -> (String, String) {
        match self {
            // Every arm references `$n`, so the caller binds one value whatever the viewer.
            Viewer::SuperUser => (format!("r.id <> ${n}"), String::new()),
            Viewer::Anonymous => (
                format!("(r.visibility = 'public' AND r.id <> ${n})"),
                String::new(),
            ),
            Viewer::Principal(id) => (
                format!(
                    "(r.visibility = 'public' OR r.namespace_id = ${n}
                      OR EXISTS (SELECT 1 FROM grants g WHERE g.repository_id = r.id AND g.delegate_id = ${n})
                      OR EXISTS (SELECT 1 FROM grants g JOIN team_members m ON m.team_id = g.delegate_id
                                 WHERE g.repository_id = r.id AND m.member_id = ${n})
                      OR EXISTS (SELECT 1 FROM teams t JOIN team_members m ON m.team_id = t.id
                                 WHERE t.org_id = r.namespace_id AND t.role = 'admin' AND m.member_id = ${n}))"
                ),
                id.to_string(),
            ),
        }
    }
}

/// The repositories of the namespace on which `delegate_id` holds a direct grant.
pub async fn granted_repositories(
    db: &dyn ReadDb,
    namespace_id: Uuid,
    delegate_id: Uuid,
) -> DbResult<Vec<Uuid>> {
    let rows = db
        .query(
            "SELECT g.repository_id FROM grants g JOIN repositories r ON r.id = g.repository_id
             WHERE r.namespace_id = $1 AND r.deleted = 0 AND g.delegate_id = $2
             ORDER BY g.repository_id",
            params![namespace_id, delegate_id],
        )
        .await?;
    rows.iter()
        .map(|r| parse_uuid(r.str("repository_id")?))
        .collect()
}
