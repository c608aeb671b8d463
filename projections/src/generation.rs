//! Where the read models live, by generation. A rebuild (`annals replay`) projects the whole log
//! into a fresh generation while the current one keeps serving, then promotes it by moving one
//! pointer; the old generation is dropped afterwards.
//!
//! - Embedded: `<data>/readmodels/gen-<N>.db`, the pointer is the file `<data>/readmodels/CURRENT`
//!   (replaced atomically by rename).
//! - PostgreSQL: schema `annals_rm_<N>`, the pointer is the one row of `annals_readmodel_pointer`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::sql::postgres::{PostgresReadDb, drop_schema};
use crate::sql::sqlite::SqliteReadDb;
use crate::sql::{DbError, DbResult, ReadDb};

#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Embedded { dir: PathBuf },
    Postgres { url: String },
}

impl Location {
    /// The generation currently serving (1 when none was ever promoted).
    pub async fn current(&self) -> DbResult<u64> {
        match self {
            Location::Embedded { dir } => {
                match tokio::fs::read_to_string(dir.join("CURRENT")).await {
                    Ok(text) => text
                        .trim()
                        .parse()
                        .map_err(|_| DbError::Decode(format!("bad CURRENT file: {text:?}"))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(1),
                    Err(e) => Err(DbError::backend(e)),
                }
            }
            Location::Postgres { url } => {
                let client = connect(url).await?;
                let rows = client
                    .query(
                        "SELECT generation FROM annals_readmodel_pointer WHERE id = 1",
                        &[],
                    )
                    .await
                    .map_err(DbError::backend)?;
                Ok(rows.first().map_or(1, |r| r.get::<_, i64>(0) as u64))
            }
        }
    }

    /// Opens (creating if needed) the read-model database of `generation`.
    pub async fn open(&self, generation: u64) -> DbResult<Arc<dyn ReadDb>> {
        match self {
            Location::Embedded { dir } => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(DbError::backend)?;
                Ok(Arc::new(
                    SqliteReadDb::open(self.sqlite_path(generation)).await?,
                ))
            }
            Location::Postgres { url } => Ok(Arc::new(
                PostgresReadDb::connect(url, &schema(generation)).await?,
            )),
        }
    }

    /// Makes `generation` the one that serves.
    pub async fn promote(&self, generation: u64) -> DbResult<()> {
        match self {
            Location::Embedded { dir } => {
                let tmp = dir.join("CURRENT.tmp");
                let write = async {
                    tokio::fs::write(&tmp, format!("{generation}\n")).await?;
                    tokio::fs::File::open(&tmp).await?.sync_all().await?;
                    tokio::fs::rename(&tmp, dir.join("CURRENT")).await?;
                    tokio::fs::File::open(dir).await?.sync_all().await
                };
                write.await.map_err(DbError::backend)
            }
            Location::Postgres { url } => {
                let client = connect(url).await?;
                client
                    .execute(
                        "INSERT INTO annals_readmodel_pointer (id, generation) VALUES (1, $1)
                         ON CONFLICT (id) DO UPDATE SET generation = excluded.generation",
                        &[&(generation as i64)],
                    )
                    .await
                    .map_err(DbError::backend)?;
                Ok(())
            }
        }
    }

    /// Deletes a generation that no longer serves.
    pub async fn discard(&self, generation: u64) -> DbResult<()> {
        match self {
            Location::Embedded { .. } => {
                let path = self.sqlite_path(generation);
                for suffix in ["", "-wal", "-shm"] {
                    let file = PathBuf::from(format!("{}{suffix}", path.display()));
                    match tokio::fs::remove_file(&file).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(DbError::backend(e)),
                    }
                }
                Ok(())
            }
            Location::Postgres { url } => drop_schema(url, &schema(generation)).await,
        }
    }

    fn sqlite_path(&self, generation: u64) -> PathBuf {
        match self {
            Location::Embedded { dir } => dir.join(format!("gen-{generation}.db")),
            Location::Postgres { .. } => PathBuf::new(),
        }
    }
}

fn schema(generation: u64) -> String {
    format!("annals_rm_{generation}")
}

async fn connect(url: &str) -> DbResult<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(DbError::backend)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("read-model pointer connection: {e}");
        }
    });
    client
        .batch_execute(
            // Quietly: the pointer is read every few seconds, and "already exists" is no news.
            "SET client_min_messages = warning;
             CREATE TABLE IF NOT EXISTS annals_readmodel_pointer (id INT PRIMARY KEY CHECK (id = 1), generation BIGINT NOT NULL)",
        )
        .await
        .map_err(DbError::backend)?;
    Ok(client)
}
