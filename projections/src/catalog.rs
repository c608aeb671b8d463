//! The catalog projector: namespaces (users and organizations), API tokens and repositories.

use crate::recorded::Recorded;
use annals_domain::organization::DEFAULT_TAG_EXPIRATION_S;
use annals_domain::{DomainEvent, NamespaceKind};

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Catalog;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS namespaces (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        email TEXT,
        invoice_email BIGINT NOT NULL DEFAULT 0,
        invoice_email_address TEXT,
        tag_expiration_s BIGINT NOT NULL,
        super_user BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        deleted BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS namespaces_by_name ON namespaces (name, deleted)",
    "CREATE TABLE IF NOT EXISTS tokens (
        sha256 TEXT PRIMARY KEY,
        token_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS repositories (
        id TEXT PRIMARY KEY,
        namespace_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        visibility TEXT NOT NULL,
        description TEXT NOT NULL,
        state TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_modified BIGINT NOT NULL,
        deleted BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS repositories_by_namespace ON repositories (namespace, deleted, name)",
    "CREATE INDEX IF NOT EXISTS repositories_by_namespace_id ON repositories (namespace_id, deleted)",
    "CREATE INDEX IF NOT EXISTS repositories_public ON repositories (visibility, deleted, namespace, name)",
];

const TABLES: &[(&str, &str)] = &[
    ("namespaces", "id"),
    ("tokens", "sha256"),
    ("repositories", "id"),
];

impl Projector for Catalog {
    fn name(&self) -> &'static str {
        "catalog"
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
        // Every statement but one is on the row its `$1` names by primary key, and no table
        // here has another unique index: such statements of different rows commute.
        let mut stmt = |sql, params| out.push(Stmt::on_row(sql, params, 1));
        match event {
            UserCreated { user_id, username, email, super_user } => stmt(
                "INSERT INTO namespaces (id, name, kind, email, tag_expiration_s, super_user, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                params![
                    *user_id,
                    username.as_str(),
                    NamespaceKind::User.as_str(),
                    email.as_ref().map(|e| e.as_str()),
                    DEFAULT_TAG_EXPIRATION_S,
                    *super_user,
                    at
                ],
            ),
            TokenIssued { user_id, token_id, name, token_sha256 } => stmt(
                "INSERT INTO tokens (sha256, token_id, user_id, name, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (sha256) DO NOTHING",
                params![token_sha256.as_str(), *token_id, *user_id, name.as_str(), at],
            ),
            OrganizationCreated { organization_id, name, email } => stmt(
                "INSERT INTO namespaces (id, name, kind, email, tag_expiration_s, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                params![
                    *organization_id,
                    name.as_str(),
                    NamespaceKind::Organization.as_str(),
                    email.as_ref().map(|e| e.as_str()),
                    DEFAULT_TAG_EXPIRATION_S,
                    at
                ],
            ),
            OrganizationEmailChanged { organization_id, email, .. } => stmt(
                "UPDATE namespaces SET email = $2 WHERE id = $1",
                params![*organization_id, email.as_str()],
            ),
            OrganizationInvoicingChanged { organization_id, invoice_email, invoice_email_address, .. } => stmt(
                "UPDATE namespaces SET invoice_email = $2, invoice_email_address = $3 WHERE id = $1",
                params![*organization_id, *invoice_email, invoice_email_address.as_ref().map(|e| e.as_str())],
            ),
            OrganizationTagExpirationChanged { organization_id, tag_expiration_s, .. } => stmt(
                "UPDATE namespaces SET tag_expiration_s = $2 WHERE id = $1",
                params![*organization_id, *tag_expiration_s],
            ),
            OrganizationDeleted { organization_id, .. } => {
                stmt("UPDATE namespaces SET deleted = 1 WHERE id = $1", params![*organization_id]);
                // The organization's repositories go with it (many rows: ordered with all).
                out.push(Stmt::new(
                    "UPDATE repositories SET deleted = 1, last_modified = $2 WHERE namespace_id = $1 AND deleted = 0",
                    params![*organization_id, at],
                ));
            }
            RepositoryCreated { repository_id, namespace_id, namespace, name, visibility, description, kind, .. } => {
                stmt(
                    "INSERT INTO repositories
                       (id, namespace_id, namespace, name, visibility, description, state, kind, created_at, last_modified)
                     VALUES ($1, $2, $3, $4, $5, $6, 'NORMAL', $7, $8, $8) ON CONFLICT (id) DO NOTHING",
                    params![
                        *repository_id,
                        *namespace_id,
                        namespace.as_str(),
                        name.as_str(),
                        visibility.as_str(),
                        description.as_str(),
                        kind.as_str(),
                        at
                    ],
                )
            }
            RepositoryDescriptionChanged { repository_id, description } => stmt(
                "UPDATE repositories SET description = $2, last_modified = $3 WHERE id = $1",
                params![*repository_id, description.as_str(), at],
            ),
            RepositoryVisibilityChanged { repository_id, visibility } => stmt(
                "UPDATE repositories SET visibility = $2, last_modified = $3 WHERE id = $1",
                params![*repository_id, visibility.as_str(), at],
            ),
            RepositoryStateChanged { repository_id, state } => stmt(
                "UPDATE repositories SET state = $2, last_modified = $3 WHERE id = $1",
                params![*repository_id, state.as_str(), at],
            ),
            RepositoryDeleted { repository_id, .. } => stmt(
                "UPDATE repositories SET deleted = 1, last_modified = $2 WHERE id = $1",
                params![*repository_id, at],
            ),
            _ => {}
        }
        // These set only their parameters on the repository's row, named by `$1`: within a page
        // only the last of a run counts (`sql::coalesce`).
        if matches!(
            event,
            RepositoryDescriptionChanged { .. }
                | RepositoryVisibilityChanged { .. }
                | RepositoryStateChanged { .. }
        ) && let Some(last) = out.last_mut()
        {
            last.overwrites = 1;
        }
    }
}
