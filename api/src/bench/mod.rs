//! `annals bench`: measures the figures the foundation is held to and prints them as a table.
//! Every run uses fresh stores (a temporary directory; a temporary PostgreSQL database when a
//! URL is given) and removes them afterwards.
//!
//! | figure | how |
//! | --- | --- |
//! | append | events/s through `EventStore::append_batch` with 1 and 16 writers, beside a raw batched INSERT of the same rows into the same database |
//! | HTTP | `POST /api/v1/repository` against a real server on a loopback port at 1, 16, 64 clients: requests/s, p50, p99 |
//! | replay | events/s projecting a log of `--events` events into fresh read models |
//! | logs | `GET .../logs` query path (index + event log) p50/p95 at that size, first page and a deep page |
//! | stream | events/s and MB/s of one consumer reading that log through `GET /events/v1/stream?follow=false` on a real server, as NDJSON and as SSE |
//! | registry | OCI push and pull of small images and a 100 MB image at 1 and 8 clients, beside Debian's `docker-registry` (distribution 2.8), as ratios |

mod append;
mod auth;
mod events;
mod http;
mod ledger;
mod registry;
mod replay;
mod stream;
mod table;

pub use annals_store::postgres::with_database;
use clap::Args;
use uuid::Uuid;

use table::Table;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// PostgreSQL server to measure too (a temporary database is created on it and dropped).
    #[arg(long, env = "ANNALS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Events in the log for the replay, log-query, ledger and event-stream figures.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Events per append-throughput run.
    #[arg(long, default_value_t = 20_000)]
    pub append_events: u64,
    /// Requests per HTTP client-count level.
    #[arg(long, default_value_t = 2_000)]
    pub requests: u64,
    /// Only these sections (append, http, auth, ledger, replay, stream, registry); all when empty.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

/// A fresh place to measure in.
pub(crate) enum Target {
    Embedded(tempfile::TempDir),
    Postgres {
        admin_url: String,
        url: String,
        database: String,
    },
}

impl Target {
    pub fn label(&self) -> &'static str {
        match self {
            Target::Embedded(_) => "sqlite",
            Target::Postgres { .. } => "postgres",
        }
    }

    pub async fn create(postgres: Option<&str>) -> anyhow::Result<Self> {
        match postgres {
            None => Ok(Target::Embedded(tempfile::tempdir()?)),
            Some(admin_url) => {
                let database = format!("annals_bench_{}", Uuid::new_v4().simple());
                let client = connect(admin_url).await?;
                client
                    .batch_execute(&format!("CREATE DATABASE {database}"))
                    .await?;
                Ok(Target::Postgres {
                    admin_url: admin_url.to_owned(),
                    url: with_database(admin_url, &database),
                    database,
                })
            }
        }
    }

    pub fn storage(&self) -> crate::config::StorageArgs {
        match self {
            Target::Embedded(dir) => crate::config::StorageArgs {
                data_dir: dir.path().to_owned(),
                database_url: None,
            },
            Target::Postgres { url, .. } => crate::config::StorageArgs {
                data_dir: std::env::temp_dir(),
                database_url: Some(url.clone()),
            },
        }
    }

    /// Removes the temporary store, unless `ANNALS_BENCH_KEEP` is set (to inspect it).
    pub async fn drop(self) -> anyhow::Result<()> {
        if std::env::var_os("ANNALS_BENCH_KEEP").is_some() {
            match self {
                Target::Postgres { database, .. } => eprintln!("  kept database {database}"),
                Target::Embedded(dir) => eprintln!("  kept {}", dir.keep().display()),
            }
            return Ok(());
        }
        if let Target::Postgres {
            admin_url,
            database,
            ..
        } = self
        {
            let client = connect(&admin_url).await?;
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .await?;
        }
        Ok(())
    }
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let wants = |section: &str| args.only.is_empty() || args.only.iter().any(|s| s == section);
    let mut backends: Vec<Option<&str>> = vec![None];
    if let Some(url) = args.database_url.as_deref() {
        backends.push(Some(url));
    }
    if wants("append") {
        let mut t = Table::new(
            "append throughput",
            &[
                "backend",
                "writers",
                "events/append",
                "events/s",
                "raw INSERT events/s",
                "ratio",
            ],
        );
        for pg in &backends {
            append::measure(*pg, args.append_events, &mut t).await?;
        }
        t.print();
    }
    if wants("http") {
        let mut t = Table::new(
            "POST /api/v1/repository",
            &["backend", "clients", "requests/s", "p50 ms", "p99 ms"],
        );
        for pg in &backends {
            http::measure(*pg, args.requests, &mut t).await?;
        }
        t.print();
    }
    if wants("auth") {
        let mut t = Table::new(
            "GET /api/v1/repository/{public}/tag/: anonymous vs bearer token (lookup + standing + rules)",
            &[
                "backend",
                "clients",
                "anon req/s",
                "anon p50 ms",
                "token req/s",
                "token p50 ms",
                "cost of the check",
            ],
        );
        for pg in &backends {
            auth::measure(*pg, args.requests, &mut t).await?;
        }
        t.print();
    }
    if wants("registry") {
        let mut t = Table::new(
            "OCI push and pull (vs docker-registry 2.8 on this machine)",
            &[
                "backend",
                "workload",
                "clients",
                "annals",
                "docker-registry",
                "ratio",
            ],
        );
        for pg in &backends {
            registry::measure(*pg, &mut t).await?;
        }
        t.print();
    }
    if wants("ledger") {
        let mut lag = Table::new(
            "ledger lag behind the log while writers append",
            &[
                "backend",
                "writers × events/append",
                "appended events/s",
                "lag p50 ms",
                "lag p99 ms",
                "events behind p99",
            ],
        );
        let mut rates = Table::new(
            "ledger fold, annals verify, inclusion proofs",
            &["backend", "what", "events", "seconds", "per second"],
        );
        for pg in &backends {
            ledger::measure(*pg, args.events, &mut lag, &mut rates).await?;
        }
        lag.print();
        rates.print();
    }
    if wants("replay") {
        let mut r = Table::new("replay", &["backend", "events", "seconds", "events/s"]);
        let mut l = Table::new(
            "logs query (namespace logs, 20/page)",
            &["backend", "events", "page", "p50 ms", "p95 ms"],
        );
        for pg in &backends {
            replay::measure(*pg, args.events, &mut r, &mut l).await?;
        }
        r.print();
        l.print();
    }
    if wants("stream") {
        let mut t = Table::new(
            "GET /events/v1/stream?follow=false, one consumer reading the whole log",
            &["backend", "format", "events", "seconds", "events/s", "MB/s"],
        );
        for pg in &backends {
            stream::measure(*pg, args.events, &mut t).await?;
        }
        t.print();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
