//! The quotas projector: each namespace's live quota and its limits (the quota routes read
//! them). A deleted quota leaves the tables with its limits; its history stays in its stream.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct Quotas;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS quotas (
        namespace_id TEXT PRIMARY KEY,
        quota_id BIGINT NOT NULL,
        limit_bytes BIGINT NOT NULL
    )",
    // `limit_type` is `Warning` or `Reject`.
    "CREATE TABLE IF NOT EXISTS quota_limits (
        namespace_id TEXT NOT NULL,
        limit_id BIGINT NOT NULL,
        quota_id BIGINT NOT NULL,
        limit_type TEXT NOT NULL,
        threshold_percent BIGINT NOT NULL,
        PRIMARY KEY (namespace_id, limit_id)
    )",
];

const TABLES: &[(&str, &str)] = &[
    ("quotas", "namespace_id"),
    ("quota_limits", "namespace_id, limit_id"),
];

impl Projector for Quotas {
    fn name(&self) -> &'static str {
        "quotas"
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [(&'static str, &'static str)] {
        TABLES
    }

    fn project(&self, _: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>) {
        use DomainEvent::*;
        let mut stmt = |sql, params| out.push(Stmt::new(sql, params));
        match event {
            QuotaCreated {
                namespace_id,
                quota_id,
                limit_bytes,
                ..
            } => stmt(
                "INSERT INTO quotas (namespace_id, quota_id, limit_bytes) VALUES ($1, $2, $3)
                 ON CONFLICT (namespace_id) DO UPDATE SET quota_id = $2, limit_bytes = $3",
                params![*namespace_id, *quota_id, *limit_bytes],
            ),
            QuotaChanged {
                namespace_id,
                limit_bytes,
                ..
            } => stmt(
                "UPDATE quotas SET limit_bytes = $2 WHERE namespace_id = $1",
                params![*namespace_id, *limit_bytes],
            ),
            QuotaDeleted { namespace_id, .. } => {
                for sql in [
                    "DELETE FROM quotas WHERE namespace_id = $1",
                    "DELETE FROM quota_limits WHERE namespace_id = $1",
                ] {
                    stmt(sql, params![*namespace_id]);
                }
            }
            QuotaLimitCreated {
                namespace_id,
                quota_id,
                limit_id,
                limit_type,
                threshold_percent,
                ..
            }
            | QuotaLimitChanged {
                namespace_id,
                quota_id,
                limit_id,
                limit_type,
                threshold_percent,
                ..
            } => stmt(
                "INSERT INTO quota_limits (namespace_id, limit_id, quota_id, limit_type, threshold_percent)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (namespace_id, limit_id) DO UPDATE SET limit_type = $4, threshold_percent = $5",
                params![*namespace_id, *limit_id, *quota_id, limit_type.as_str(), *threshold_percent as i64],
            ),
            QuotaLimitDeleted {
                namespace_id,
                limit_id,
                ..
            } => stmt(
                "DELETE FROM quota_limits WHERE namespace_id = $1 AND limit_id = $2",
                params![*namespace_id, *limit_id],
            ),
            // A deleted organization's quota goes with it (a user is never deleted here).
            OrganizationDeleted {
                organization_id, ..
            } => {
                for sql in [
                    "DELETE FROM quotas WHERE namespace_id = $1",
                    "DELETE FROM quota_limits WHERE namespace_id = $1",
                ] {
                    stmt(sql, params![*organization_id]);
                }
            }
            _ => {}
        }
    }
}
