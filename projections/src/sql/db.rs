//! The `ReadDb` trait: one code path for read models over SQLite and PostgreSQL.

use async_trait::async_trait;

use super::error::DbResult;
use super::row::Row;
use super::value::{SqlValue, Stmt};

/// Which SQL dialect a backend speaks, for the rare statement that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[async_trait]
pub trait ReadDb: Send + Sync + 'static {
    fn dialect(&self) -> Dialect;

    /// Runs schema statements (`CREATE TABLE IF NOT EXISTS ...`) in order, in one transaction.
    /// Also creates `projection_checkpoints(name TEXT PRIMARY KEY, position BIGINT NOT NULL)`.
    async fn migrate(&self, ddl: &[&str]) -> DbResult<()>;

    /// Builds indexes (`CREATE INDEX IF NOT EXISTS ...`) over tables already filled: the end
    /// of a bulk load. Not atomic: a failure may leave some built, and running it again builds
    /// the rest. The default is [`ReadDb::migrate`]; PostgreSQL builds several at once.
    async fn build_indexes(&self, ddl: &[&str]) -> DbResult<()> {
        self.migrate(ddl).await
    }

    /// Executes `stmts` in order and sets checkpoint `name` to `position`, all in one
    /// transaction: either every row and the checkpoint are written, or nothing is.
    async fn apply(&self, stmts: Vec<Stmt>, checkpoint: (&str, u64)) -> DbResult<()>;

    /// Applies several projections' statements, each with its checkpoint; the default is one
    /// [`ReadDb::apply`] each, backends do it in one transaction.
    async fn apply_many(&self, batches: Vec<(Vec<Stmt>, (&str, u64))>) -> DbResult<()> {
        for (stmts, checkpoint) in batches {
            self.apply(stmts, checkpoint).await?;
        }
        Ok(())
    }

    /// Enters (`true`) or leaves bulk-load mode: a fresh database nobody reads yet may trade
    /// crash safety for speed while it is filled (a crashed build is discarded whole). Leaving
    /// it makes everything written durable.
    async fn bulk_load(&self, _on: bool) -> DbResult<()> {
        Ok(())
    }

    /// The position a projection has applied up to (0 when it never ran).
    async fn checkpoint(&self, name: &str) -> DbResult<u64> {
        let rows = self
            .query(
                "SELECT position FROM projection_checkpoints WHERE name = $1",
                vec![SqlValue::from(name)],
            )
            .await?;
        Ok(rows
            .first()
            .map(|r| r.i64("position"))
            .transpose()?
            .unwrap_or(0)
            .max(0) as u64)
    }

    /// Runs a query with `$1..$n` placeholders and returns every row.
    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> DbResult<Vec<Row>>;

    /// Refreshes the planner's statistics. Run after bulk projection (a replay, a long catch-up):
    /// without statistics a planner takes a table of a million rows for an empty one and picks
    /// plans that read all of it.
    async fn analyze(&self) -> DbResult<()>;
}
