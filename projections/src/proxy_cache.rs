//! The proxy cache projector: one row per proxy-cache organization (its configuration as JSON,
//! `proxy_cache::ProxyCacheConfig`: never a password, only the id it is kept under), and one
//! row per repository and reference the cache fetched, with when it last asked the upstream —
//! what decides whether a pull is served locally or asks again.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct ProxyCaches;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS proxy_caches (
        organization_id TEXT PRIMARY KEY,
        config TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS proxy_cache_fetches (
        repository_id TEXT NOT NULL,
        reference TEXT NOT NULL,
        digest TEXT NOT NULL,
        fetched_at BIGINT NOT NULL,
        PRIMARY KEY (repository_id, reference)
    )",
];

const TABLES: &[(&str, &str)] = &[
    ("proxy_caches", "organization_id"),
    ("proxy_cache_fetches", "repository_id, reference"),
];

impl Projector for ProxyCaches {
    fn name(&self) -> &'static str {
        "proxy_caches"
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
            OrganizationProxyCacheCreated {
                organization_id,
                config,
                ..
            } => stmt(
                "INSERT INTO proxy_caches (organization_id, config, created_at)
                 VALUES ($1, $2, $3)
                 ON CONFLICT (organization_id) DO UPDATE SET config = $2, created_at = $3",
                params![
                    *organization_id,
                    serde_json::to_string(config).unwrap_or_else(|_| "{}".to_owned()),
                    at
                ],
            ),
            OrganizationProxyCacheDeleted {
                organization_id, ..
            }
            | OrganizationDeleted {
                organization_id, ..
            } => stmt(
                "DELETE FROM proxy_caches WHERE organization_id = $1",
                params![*organization_id],
            ),
            RepositoryProxyCacheFetched {
                repository_id,
                reference,
                digest,
                ..
            } => stmt(
                "INSERT INTO proxy_cache_fetches (repository_id, reference, digest, fetched_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (repository_id, reference)
                 DO UPDATE SET digest = $3, fetched_at = $4",
                params![*repository_id, reference.clone(), digest.to_string(), at],
            ),
            RepositoryDeleted { repository_id, .. } => stmt(
                "DELETE FROM proxy_cache_fetches WHERE repository_id = $1",
                params![*repository_id],
            ),
            _ => {}
        }
    }
}
