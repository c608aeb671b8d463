//! Past generations: read models built as of a position of the log (`annals replay
//! --to-position`), kept under a name so an administrator can inspect a whole past state, served
//! read-only until dropped (`annals generations drop`). A generation is listed only once built
//! completely, so a crash mid-build leaves nothing that serves.
//!
//! - Embedded: `<data>/readmodels/past/<name>.db`, and `<name>.position` written (by rename)
//!   when the build finished.
//! - PostgreSQL: schema `annals_past_<name>`, and a row of `annals_past_generations` inserted
//!   when the build finished.

use std::path::PathBuf;
use std::sync::Arc;

use crate::generation::Location;
use crate::sql::postgres::{PostgresReadDb, drop_schema};
use crate::sql::sqlite::SqliteReadDb;
use crate::sql::{DbError, DbResult, ReadDb};

/// A past generation's name: what a header and a schema name may both carry.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 40;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "a past generation's name is 1 to 40 characters, a lowercase letter then lowercase \
             letters, digits or _, not {name:?}"
        ))
    }
}

/// A built past generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastGeneration {
    pub name: String,
    pub position: u64,
}

impl Location {
    /// A fresh, empty database to build the past generation `name` into (any half-built one
    /// of that name is dropped first).
    pub async fn start_past(&self, name: &str) -> DbResult<Arc<dyn ReadDb>> {
        check_name(name).map_err(DbError::Backend)?;
        self.drop_past(name).await?;
        match self {
            Location::Embedded { .. } => {
                let path = self.past_path(name, "db");
                Ok(Arc::new(SqliteReadDb::open(path).await?))
            }
            Location::Postgres { url } => Ok(Arc::new(
                PostgresReadDb::connect(url, &past_schema(name)).await?,
            )),
        }
    }

    /// Marks the past generation `name` as built up to `position`: from now on it serves.
    pub async fn finish_past(&self, name: &str, position: u64) -> DbResult<()> {
        match self {
            Location::Embedded { .. } => {
                let tmp = self.past_path(name, "position.tmp");
                let done = self.past_path(name, "position");
                let write = async {
                    tokio::fs::write(&tmp, format!("{position}\n")).await?;
                    tokio::fs::File::open(&tmp).await?.sync_all().await?;
                    tokio::fs::rename(&tmp, &done).await
                };
                write.await.map_err(DbError::backend)
            }
            Location::Postgres { url } => {
                let client = registry(url).await?;
                client
                    .execute(
                        "INSERT INTO annals_past_generations (name, position) VALUES ($1, $2)
                         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                        &[&name, &(position as i64)],
                    )
                    .await
                    .map_err(DbError::backend)?;
                Ok(())
            }
        }
    }

    /// The past generation `name` and its database, when it was built completely.
    pub async fn open_past(
        &self,
        name: &str,
    ) -> DbResult<Option<(PastGeneration, Arc<dyn ReadDb>)>> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        let Some(found) = self.past(name).await? else {
            return Ok(None);
        };
        let db: Arc<dyn ReadDb> = match self {
            Location::Embedded { .. } => {
                Arc::new(SqliteReadDb::open(self.past_path(name, "db")).await?)
            }
            Location::Postgres { url } => {
                Arc::new(PostgresReadDb::connect(url, &past_schema(name)).await?)
            }
        };
        Ok(Some((found, db)))
    }

    /// Whether `name` is built, and at which position.
    pub async fn past(&self, name: &str) -> DbResult<Option<PastGeneration>> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        match self {
            Location::Embedded { .. } => {
                match tokio::fs::read_to_string(self.past_path(name, "position")).await {
                    Ok(text) => Ok(text.trim().parse().ok().map(|position| PastGeneration {
                        name: name.to_owned(),
                        position,
                    })),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(DbError::backend(e)),
                }
            }
            Location::Postgres { url } => {
                let rows = registry(url)
                    .await?
                    .query(
                        "SELECT position FROM annals_past_generations WHERE name = $1",
                        &[&name],
                    )
                    .await
                    .map_err(DbError::backend)?;
                Ok(rows.first().map(|r| PastGeneration {
                    name: name.to_owned(),
                    position: r.get::<_, i64>(0) as u64,
                }))
            }
        }
    }

    /// Every built past generation, by name.
    pub async fn list_past(&self) -> DbResult<Vec<PastGeneration>> {
        let mut names = Vec::new();
        match self {
            Location::Embedded { dir } => {
                let mut entries = match tokio::fs::read_dir(dir.join("past")).await {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
                    Err(e) => return Err(DbError::backend(e)),
                };
                while let Some(entry) = entries.next_entry().await.map_err(DbError::backend)? {
                    let file = entry.file_name().to_string_lossy().into_owned();
                    if let Some(name) = file.strip_suffix(".position") {
                        names.push(name.to_owned());
                    }
                }
            }
            Location::Postgres { url } => {
                let rows = registry(url)
                    .await?
                    .query("SELECT name FROM annals_past_generations", &[])
                    .await
                    .map_err(DbError::backend)?;
                names.extend(rows.iter().map(|r| r.get::<_, String>(0)));
            }
        }
        let mut out = Vec::new();
        for name in names {
            if let Some(found) = self.past(&name).await? {
                out.push(found);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Drops the past generation `name` (nothing when there is none).
    pub async fn drop_past(&self, name: &str) -> DbResult<()> {
        check_name(name).map_err(DbError::Backend)?;
        match self {
            Location::Embedded { dir } => {
                tokio::fs::create_dir_all(dir.join("past"))
                    .await
                    .map_err(DbError::backend)?;
                // The marker goes first: a generation half dropped no longer serves.
                for suffix in ["position", "position.tmp", "db", "db-wal", "db-shm"] {
                    match tokio::fs::remove_file(self.past_path(name, suffix)).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(DbError::backend(e)),
                    }
                }
                Ok(())
            }
            Location::Postgres { url } => {
                registry(url)
                    .await?
                    .execute(
                        "DELETE FROM annals_past_generations WHERE name = $1",
                        &[&name],
                    )
                    .await
                    .map_err(DbError::backend)?;
                drop_schema(url, &past_schema(name)).await
            }
        }
    }

    fn past_path(&self, name: &str, suffix: &str) -> PathBuf {
        match self {
            Location::Embedded { dir } => dir.join("past").join(format!("{name}.{suffix}")),
            Location::Postgres { .. } => PathBuf::new(),
        }
    }
}

fn past_schema(name: &str) -> String {
    format!("annals_past_{name}")
}

async fn registry(url: &str) -> DbResult<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(DbError::backend)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("past-generation registry connection: {e}");
        }
    });
    client
        .batch_execute(
            "SET client_min_messages = warning;
             CREATE TABLE IF NOT EXISTS annals_past_generations (
                 name TEXT PRIMARY KEY, position BIGINT NOT NULL,
                 built_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await
        .map_err(DbError::backend)?;
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn names_fit_a_header_and_a_schema() {
        assert!(check_name("audit_2026").is_ok());
        for bad in ["", "Audit", "1st", "a-b", "a b", &"a".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
