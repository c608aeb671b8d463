//! Teams of an organization, their members and invites, and the organization's members.

use annals_domain::access::TeamRole;
use uuid::Uuid;

use crate::params;
use crate::queries::namespaces::parse_uuid;
use crate::sql::{DbResult, ReadDb, Row};

/// The teams an organization may hold, at most: lists are answered whole.
pub const MAX_TEAMS: i64 = 1_000;
/// The members a list answers, at most.
pub const MAX_MEMBERS: i64 = 10_000;

#[derive(Debug, Clone, PartialEq)]
pub struct TeamView {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub description: String,
    pub member_count: i64,
    pub repo_count: i64,
}

fn team(row: &Row) -> DbResult<TeamView> {
    Ok(TeamView {
        id: parse_uuid(row.str("id")?)?,
        name: row.string("name")?,
        role: row.string("role")?,
        description: row.string("description")?,
        member_count: row.i64("member_count")?,
        repo_count: row.i64("repo_count")?,
    })
}

const TEAMS: &str = "SELECT t.id, t.name, t.role, t.description,
        (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id) AS member_count,
        (SELECT COUNT(*) FROM grants g WHERE g.delegate_id = t.id) AS repo_count
     FROM teams t";

/// The organization's teams, by name.
pub async fn list(db: &dyn ReadDb, org_id: Uuid) -> DbResult<Vec<TeamView>> {
    let sql = format!("{TEAMS} WHERE t.org_id = $1 ORDER BY t.name LIMIT $2");
    db.query(&sql, params![org_id, MAX_TEAMS])
        .await?
        .iter()
        .map(team)
        .collect()
}

/// The team `name` of the organization.
pub async fn get(db: &dyn ReadDb, org_id: Uuid, name: &str) -> DbResult<Option<TeamView>> {
    let sql = format!("{TEAMS} WHERE t.org_id = $1 AND t.name = $2");
    db.query(&sql, params![org_id, name])
        .await?
        .first()
        .map(team)
        .transpose()
}

/// A member of a team, or of an organization.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    pub id: Uuid,
    pub name: String,
    pub is_robot: bool,
}

fn member(row: &Row) -> DbResult<MemberView> {
    Ok(MemberView {
        id: parse_uuid(row.str("member_id")?)?,
        name: row.string("member_name")?,
        is_robot: row.bool("is_robot")?,
    })
}

/// The members of a team, by name.
pub async fn members(db: &dyn ReadDb, team_id: Uuid) -> DbResult<Vec<MemberView>> {
    db.query(
        "SELECT member_id, member_name, is_robot FROM team_members WHERE team_id = $1
         ORDER BY member_name LIMIT $2",
        params![team_id, MAX_MEMBERS],
    )
    .await?
    .iter()
    .map(member)
    .collect()
}

/// The e-mail addresses invited to a team.
pub async fn invites(db: &dyn ReadDb, team_id: Uuid) -> DbResult<Vec<String>> {
    db.query(
        "SELECT email FROM team_invites WHERE team_id = $1 ORDER BY email LIMIT $2",
        params![team_id, MAX_MEMBERS],
    )
    .await?
    .iter()
    .map(|r| r.string("email"))
    .collect()
}

/// The users of the organization's teams (robots left out), each with its teams' names.
pub async fn organization_members(
    db: &dyn ReadDb,
    org_id: Uuid,
) -> DbResult<Vec<(MemberView, Vec<String>)>> {
    let rows = db
        .query(
            "SELECT m.member_id, m.member_name, m.is_robot, t.name AS team FROM team_members m
             JOIN teams t ON t.id = m.team_id
             WHERE t.org_id = $1 AND m.is_robot = 0 ORDER BY m.member_name, t.name LIMIT $2",
            params![org_id, MAX_MEMBERS],
        )
        .await?;
    let mut out: Vec<(MemberView, Vec<String>)> = Vec::new();
    for row in &rows {
        let m = member(row)?;
        let team = row.string("team")?;
        match out.last_mut() {
            Some((last, teams)) if last.id == m.id => teams.push(team),
            _ => out.push((m, vec![team])),
        }
    }
    Ok(out)
}

/// Users with a direct permission on one of the organization's repositories and in none of its
/// teams: its outside collaborators.
pub async fn collaborators(db: &dyn ReadDb, org_id: Uuid) -> DbResult<Vec<MemberView>> {
    db.query(
        "SELECT DISTINCT g.delegate_id AS member_id, g.delegate_name AS member_name, 0 AS is_robot
         FROM grants g JOIN repositories r ON r.id = g.repository_id
         WHERE r.namespace_id = $1 AND r.deleted = 0 AND g.delegate_kind = 'user'
           AND NOT EXISTS (SELECT 1 FROM team_members m JOIN teams t ON t.id = m.team_id
                           WHERE t.org_id = $1 AND m.member_id = g.delegate_id)
         ORDER BY member_name LIMIT $2",
        params![org_id, MAX_MEMBERS],
    )
    .await?
    .iter()
    .map(member)
    .collect()
}

/// An organization a user belongs to, with the strongest role of its teams there.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub org_id: Uuid,
    pub org_name: String,
    pub role: String,
}

/// The live organizations whose teams hold the member, by name.
pub async fn memberships(db: &dyn ReadDb, member_id: Uuid) -> DbResult<Vec<Membership>> {
    let rows = db
        .query(
            "SELECT n.id, n.name, t.role FROM team_members m JOIN teams t ON t.id = m.team_id
             JOIN namespaces n ON n.id = t.org_id AND n.deleted = 0
             WHERE m.member_id = $1 ORDER BY n.name LIMIT $2",
            params![member_id, MAX_TEAMS],
        )
        .await?;
    let rank = |role: &str| TeamRole::parse(role).ok();
    let mut out: Vec<Membership> = Vec::new();
    for row in &rows {
        let org_id = parse_uuid(row.str("id")?)?;
        let role = row.string("role")?;
        match out.last_mut() {
            Some(last) if last.org_id == org_id => {
                if rank(&role) > rank(&last.role) {
                    last.role = role;
                }
            }
            _ => out.push(Membership {
                org_id,
                org_name: row.string("name")?,
                role,
            }),
        }
    }
    Ok(out)
}
