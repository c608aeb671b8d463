//! The auto-prune projector: every live policy of every namespace and repository, which the
//! policy routes list and the auto-prune worker applies. A deleted policy leaves the table (its
//! history stays in its stream); so do the policies of a deleted repository or organization.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Autoprune;

const SCHEMA: &[&str] = &[
    // `policy` is the policy as `PolicyConfig` serializes it (method, value, pattern).
    "CREATE TABLE IF NOT EXISTS autoprune_policies (
        uuid TEXT PRIMARY KEY,
        namespace_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        repository_id TEXT,
        repository TEXT,
        policy TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS autoprune_policies_by_namespace ON autoprune_policies (namespace_id, created_at)",
    "CREATE INDEX IF NOT EXISTS autoprune_policies_by_repository ON autoprune_policies (repository_id, created_at)",
];

const TABLES: &[(&str, &str)] = &[("autoprune_policies", "uuid")];

impl Projector for Autoprune {
    fn name(&self) -> &'static str {
        "autoprune"
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
        let mut stmt = |sql, params| out.push(Stmt::new(sql, params));
        match event {
            AutoprunePolicyCreated {
                policy_uuid,
                scope,
                policy,
            } => stmt(
                "INSERT INTO autoprune_policies (uuid, namespace_id, namespace, repository_id,
                    repository, policy, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (uuid) DO NOTHING",
                params![
                    *policy_uuid,
                    scope.namespace_id,
                    scope.namespace.as_str(),
                    scope.repository_id,
                    scope.repository.as_ref().map(|r| r.as_str().to_owned()),
                    serde_json::to_string(policy).unwrap_or_default(),
                    at
                ],
            ),
            AutoprunePolicyUpdated {
                policy_uuid,
                policy,
                ..
            } => stmt(
                "UPDATE autoprune_policies SET policy = $2, updated_at = $3 WHERE uuid = $1",
                params![
                    *policy_uuid,
                    serde_json::to_string(policy).unwrap_or_default(),
                    at
                ],
            ),
            AutoprunePolicyDeleted { policy_uuid, .. } => stmt(
                "DELETE FROM autoprune_policies WHERE uuid = $1",
                params![*policy_uuid],
            ),
            RepositoryDeleted { repository_id, .. } => stmt(
                "DELETE FROM autoprune_policies WHERE repository_id = $1",
                params![*repository_id],
            ),
            OrganizationDeleted {
                organization_id, ..
            } => stmt(
                "DELETE FROM autoprune_policies WHERE namespace_id = $1",
                params![*organization_id],
            ),
            _ => {}
        }
    }
}
