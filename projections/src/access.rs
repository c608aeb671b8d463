//! The access projector: every credential (API, OAuth and app tokens, robot tokens) by its
//! SHA-256, passwords, robots, teams and their members, repository grants, stars, default
//! permissions, OAuth applications and global messages. Authorizing a request reads these
//! tables, so a revocation is in force everywhere as soon as it is projected.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;
use annals_domain::access::Scopes;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Access;

const SCHEMA: &[&str] = &[
    // `owner_id` is the user a token belongs to, or a robot's namespace; `scopes` a
    // space-separated list.
    "CREATE TABLE IF NOT EXISTS credentials (
        sha256 TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        token_id TEXT NOT NULL,
        principal_id TEXT NOT NULL,
        principal_name TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        title TEXT NOT NULL,
        client_id TEXT,
        expires_at BIGINT,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS credentials_by_token ON credentials (token_id)",
    "CREATE INDEX IF NOT EXISTS credentials_by_principal ON credentials (principal_id, kind)",
    "CREATE TABLE IF NOT EXISTS passwords (
        user_id TEXT PRIMARY KEY,
        hash TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS robots (
        id TEXT PRIMARY KEY,
        namespace_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        metadata TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_accessed BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS robots_by_namespace ON robots (namespace_id, name)",
    "CREATE INDEX IF NOT EXISTS robots_by_name ON robots (name)",
    "CREATE TABLE IF NOT EXISTS teams (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS teams_by_org ON teams (org_id, name)",
    "CREATE TABLE IF NOT EXISTS team_members (
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        member_name TEXT NOT NULL,
        is_robot BIGINT NOT NULL,
        PRIMARY KEY (team_id, member_id)
    )",
    "CREATE INDEX IF NOT EXISTS team_members_by_member ON team_members (member_id)",
    "CREATE TABLE IF NOT EXISTS team_invites (
        team_id TEXT NOT NULL,
        email TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (team_id, email)
    )",
    "CREATE TABLE IF NOT EXISTS grants (
        repository_id TEXT NOT NULL,
        delegate_id TEXT NOT NULL,
        delegate_kind TEXT NOT NULL,
        delegate_name TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (repository_id, delegate_id)
    )",
    "CREATE INDEX IF NOT EXISTS grants_by_delegate ON grants (delegate_id)",
    "CREATE TABLE IF NOT EXISTS stars (
        user_id TEXT NOT NULL,
        repository_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, repository_id)
    )",
    "CREATE TABLE IF NOT EXISTS prototypes (
        id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        role TEXT NOT NULL,
        delegate_kind TEXT NOT NULL,
        delegate_id TEXT NOT NULL,
        delegate_name TEXT NOT NULL,
        activating_id TEXT,
        activating_name TEXT,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS prototypes_by_org ON prototypes (org_id)",
    "CREATE TABLE IF NOT EXISTS applications (
        client_id TEXT PRIMARY KEY,
        org_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        application_uri TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        avatar_email TEXT,
        secret_sha256 TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS applications_by_org ON applications (org_id, client_id)",
    "CREATE TABLE IF NOT EXISTS service_keys (
        kid TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        service TEXT NOT NULL,
        metadata TEXT NOT NULL,
        expiration BIGINT,
        jwk TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        approver TEXT,
        approval_notes TEXT,
        approved_at BIGINT
    )",
    "CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        content TEXT NOT NULL,
        severity TEXT NOT NULL,
        media_type TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
];

const TABLES: &[(&str, &str)] = &[
    ("credentials", "sha256"),
    ("passwords", "user_id"),
    ("robots", "id"),
    ("teams", "id"),
    ("team_members", "team_id, member_id"),
    ("team_invites", "team_id, email"),
    ("grants", "repository_id, delegate_id"),
    ("stars", "user_id, repository_id"),
    ("prototypes", "id"),
    ("applications", "client_id"),
    ("messages", "id"),
    ("service_keys", "kid"),
];

impl Projector for Access {
    fn name(&self) -> &'static str {
        "access"
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [(&'static str, &'static str)] {
        TABLES
    }

    fn project(&self, recorded: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>) {
        use DomainEvent::*;
        let at = recorded.recorded_at.timestamp_micros();
        let mut stmt = |sql: &'static str, params| out.push(Stmt::new(sql, params));
        let credential = "INSERT INTO credentials
            (sha256, kind, token_id, principal_id, principal_name, owner_id, scopes, title, client_id, expires_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (sha256) DO NOTHING";
        match event {
            TokenIssued { user_id, token_id, name, token_sha256 } => stmt(
                credential,
                params![
                    token_sha256.as_str(), "api", *token_id, *user_id, "", *user_id,
                    Scopes::all().to_list(), name.as_str(), None::<String>, None::<i64>, at
                ],
            ),
            OAuthTokenIssued { user_id, token_id, client_id, scopes, token_sha256, expires_at } => stmt(
                credential,
                params![
                    token_sha256.as_str(), "oauth", *token_id, *user_id, "", *user_id,
                    Scopes::from_names(scopes).to_list(), "", client_id.as_str(),
                    expires_at.map(|e| e.timestamp_micros()), at
                ],
            ),
            AppTokenCreated { user_id, token_id, title, token_sha256, expires_at } => stmt(
                credential,
                params![
                    token_sha256.as_str(), "app", *token_id, *user_id, "", *user_id,
                    Scopes::NONE.to_list(), title.as_str(), None::<String>,
                    expires_at.map(|e| e.timestamp_micros()), at
                ],
            ),
            AppTokenRevoked { token_id, .. } => stmt(
                "DELETE FROM credentials WHERE token_id = $1 AND kind = 'app'",
                params![*token_id],
            ),
            UserPasswordSet { user_id, password_hash } => stmt(
                "INSERT INTO passwords (user_id, hash) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash",
                params![*user_id, password_hash.as_str()],
            ),
            RobotCreated { namespace_id, robot_id, name, description, unstructured_metadata, token_sha256 } => {
                stmt(
                    "INSERT INTO robots (id, namespace_id, name, description, metadata, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                    params![
                        *robot_id, *namespace_id, name.as_str(), description.as_str(),
                        unstructured_metadata.to_string(), at
                    ],
                );
                stmt(
                    credential,
                    params![
                        token_sha256.as_str(), "robot", *robot_id, *robot_id, name.as_str(), *namespace_id,
                        robot_scopes(), "", None::<String>, None::<i64>, at
                    ],
                );
            }
            RobotTokenRegenerated { namespace_id, robot_id, name, token_sha256 } => {
                stmt(
                    "DELETE FROM credentials WHERE principal_id = $1 AND kind = 'robot'",
                    params![*robot_id],
                );
                stmt(
                    credential,
                    params![
                        token_sha256.as_str(), "robot", *robot_id, *robot_id, name.as_str(), *namespace_id,
                        robot_scopes(), "", None::<String>, None::<i64>, at
                    ],
                );
            }
            RobotDeleted { robot_id, .. } => {
                for sql in [
                    "DELETE FROM robots WHERE id = $1",
                    "DELETE FROM credentials WHERE principal_id = $1 AND kind = 'robot'",
                    "DELETE FROM team_members WHERE member_id = $1",
                    "DELETE FROM grants WHERE delegate_id = $1",
                    "DELETE FROM prototypes WHERE delegate_id = $1",
                ] {
                    stmt(sql, params![*robot_id]);
                }
            }
            TeamCreated { organization_id, team_id, name, role, description } => stmt(
                "INSERT INTO teams (id, org_id, name, role, description, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                params![*team_id, *organization_id, name.as_str(), role.as_str(), description.as_str(), at],
            ),
            TeamRoleChanged { team_id, role, .. } => stmt(
                "UPDATE teams SET role = $2 WHERE id = $1",
                params![*team_id, role.as_str()],
            ),
            TeamDescriptionChanged { team_id, description, .. } => stmt(
                "UPDATE teams SET description = $2 WHERE id = $1",
                params![*team_id, description.as_str()],
            ),
            TeamDeleted { team_id, .. } => {
                for sql in [
                    "DELETE FROM teams WHERE id = $1",
                    "DELETE FROM team_members WHERE team_id = $1",
                    "DELETE FROM team_invites WHERE team_id = $1",
                    "DELETE FROM grants WHERE delegate_id = $1",
                    "DELETE FROM prototypes WHERE delegate_id = $1",
                ] {
                    stmt(sql, params![*team_id]);
                }
            }
            TeamMemberAdded { team_id, member_id, member, is_robot, .. } => stmt(
                "INSERT INTO team_members (team_id, member_id, member_name, is_robot) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (team_id, member_id) DO NOTHING",
                params![*team_id, *member_id, member.as_str(), *is_robot],
            ),
            TeamMemberRemoved { team_id, member_id, .. } => stmt(
                "DELETE FROM team_members WHERE team_id = $1 AND member_id = $2",
                params![*team_id, *member_id],
            ),
            TeamMemberInvited { team_id, email, .. } => stmt(
                "INSERT INTO team_invites (team_id, email, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (team_id, email) DO NOTHING",
                params![*team_id, email.as_str(), at],
            ),
            TeamInviteDeleted { team_id, email, .. } => stmt(
                "DELETE FROM team_invites WHERE team_id = $1 AND email = $2",
                params![*team_id, email.as_str()],
            ),
            RepositoryPermissionSet { repository_id, delegate, role, .. } => stmt(
                "INSERT INTO grants (repository_id, delegate_id, delegate_kind, delegate_name, role)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (repository_id, delegate_id) DO UPDATE SET role = excluded.role",
                params![*repository_id, delegate.id, delegate.kind.as_str(), delegate.name.as_str(), role.as_str()],
            ),
            RepositoryPermissionRemoved { repository_id, delegate, .. } => stmt(
                "DELETE FROM grants WHERE repository_id = $1 AND delegate_id = $2",
                params![*repository_id, delegate.id],
            ),
            RepositoryDeleted { repository_id, .. } => {
                stmt("DELETE FROM grants WHERE repository_id = $1", params![*repository_id]);
                stmt("DELETE FROM stars WHERE repository_id = $1", params![*repository_id]);
            }
            RepositoryStarred { user_id, repository_id, .. } => stmt(
                "INSERT INTO stars (user_id, repository_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, repository_id) DO NOTHING",
                params![*user_id, *repository_id, at],
            ),
            RepositoryUnstarred { user_id, repository_id, .. } => stmt(
                "DELETE FROM stars WHERE user_id = $1 AND repository_id = $2",
                params![*user_id, *repository_id],
            ),
            PrototypeCreated { organization_id, prototype_id, role, delegate, activating_user } => stmt(
                "INSERT INTO prototypes
                   (id, org_id, role, delegate_kind, delegate_id, delegate_name, activating_id, activating_name, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                params![
                    *prototype_id, *organization_id, role.as_str(), delegate.kind.as_str(), delegate.id,
                    delegate.name.as_str(), activating_user.as_ref().map(|a| a.id),
                    activating_user.as_ref().map(|a| a.name.clone()), at
                ],
            ),
            PrototypeChanged { prototype_id, role, .. } => stmt(
                "UPDATE prototypes SET role = $2 WHERE id = $1",
                params![*prototype_id, role.as_str()],
            ),
            PrototypeDeleted { prototype_id, .. } => {
                stmt("DELETE FROM prototypes WHERE id = $1", params![*prototype_id])
            }
            ApplicationCreated {
                organization_id, client_id, name, description, application_uri, redirect_uri,
                avatar_email, client_secret_sha256,
            } => stmt(
                "INSERT INTO applications
                   (client_id, org_id, name, description, application_uri, redirect_uri, avatar_email, secret_sha256, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (client_id) DO NOTHING",
                params![
                    client_id.as_str(), *organization_id, name.as_str(), description.as_str(),
                    application_uri.as_str(), redirect_uri.as_str(), avatar_email.clone(),
                    client_secret_sha256.as_str(), at
                ],
            ),
            ApplicationUpdated { client_id, name, description, application_uri, redirect_uri, avatar_email, .. } => stmt(
                "UPDATE applications SET name = $2, description = $3, application_uri = $4, redirect_uri = $5,
                   avatar_email = $6 WHERE client_id = $1",
                params![
                    client_id.as_str(), name.as_str(), description.as_str(), application_uri.as_str(),
                    redirect_uri.as_str(), avatar_email.clone()
                ],
            ),
            ApplicationSecretReset { client_id, client_secret_sha256, .. } => stmt(
                "UPDATE applications SET secret_sha256 = $2 WHERE client_id = $1",
                params![client_id.as_str(), client_secret_sha256.as_str()],
            ),
            ApplicationDeleted { client_id, .. } => {
                // Its tokens go with it.
                stmt("DELETE FROM applications WHERE client_id = $1", params![client_id.as_str()]);
                stmt(
                    "DELETE FROM credentials WHERE client_id = $1 AND kind = 'oauth'",
                    params![client_id.as_str()],
                );
            }
            OrganizationDeleted { organization_id, .. } => {
                for sql in [
                    "DELETE FROM team_members WHERE team_id IN (SELECT id FROM teams WHERE org_id = $1)",
                    "DELETE FROM teams WHERE org_id = $1",
                    "DELETE FROM credentials WHERE kind = 'robot' AND owner_id = $1",
                    "DELETE FROM robots WHERE namespace_id = $1",
                    "DELETE FROM prototypes WHERE org_id = $1",
                    "DELETE FROM credentials WHERE kind = 'oauth' AND client_id IN
                       (SELECT client_id FROM applications WHERE org_id = $1)",
                    "DELETE FROM applications WHERE org_id = $1",
                ] {
                    stmt(sql, params![*organization_id]);
                }
            }
            MessageCreated { message_id, content, severity, media_type } => stmt(
                "INSERT INTO messages (id, content, severity, media_type, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO NOTHING",
                params![*message_id, content.as_str(), severity.as_str(), media_type.as_str(), at],
            ),
            ServiceKeyCreated { kid, name, service, metadata, expiration, jwk } => stmt(
                "INSERT INTO service_keys (kid, name, service, metadata, expiration, jwk, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kid) DO NOTHING",
                params![
                    kid.as_str(), name.as_str(), service.as_str(), metadata.to_string(),
                    expiration.map(|e| e.timestamp_micros()), jwk.to_string(), at
                ],
            ),
            ServiceKeyUpdated { kid, name, metadata, expiration } => stmt(
                "UPDATE service_keys SET name = $2, metadata = $3, expiration = $4 WHERE kid = $1",
                params![kid.as_str(), name.as_str(), metadata.to_string(), expiration.map(|e| e.timestamp_micros())],
            ),
            ServiceKeyApproved { kid, approver, notes } => stmt(
                "UPDATE service_keys SET approver = $2, approval_notes = $3, approved_at = $4 WHERE kid = $1",
                params![kid.as_str(), approver.as_str(), notes.as_str(), at],
            ),
            ServiceKeyDeleted { kid } => {
                stmt("DELETE FROM service_keys WHERE kid = $1", params![kid.as_str()])
            }
            MessageDeleted { message_id } => {
                stmt("DELETE FROM messages WHERE id = $1", params![*message_id])
            }
            _ => {}
        }
    }
}

/// A robot token may do whatever the robot's grants allow; its scopes do not narrow them.
fn robot_scopes() -> String {
    use annals_domain::access::Scope;
    Scopes::from_iter([Scope::RepoAdmin, Scope::RepoCreate]).to_list()
}
