//! The read models on SQLite: one writer connection for projections, a small pool of reader
//! connections for queries (WAL lets them read while the writer writes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::types::{Value as SqliteValue, ValueRef};
use rusqlite::{Connection, OpenFlags, params_from_iter};
use tokio::sync::Semaphore;

use super::coalesce::coalesce;
use super::db::{Dialect, ReadDb};
use super::error::{DbError, DbResult};
use super::row::Row;
use super::value::{SqlValue, Stmt};

/// Reader connections, and so queries running at once: enough to overlap a few API requests
/// with a projection's writes, few enough for 2-core machines.
const READERS: usize = 4;
/// Query texts are a fixed set of templates; past this many something builds SQL per call, and
/// the cache is cleared rather than left to grow.
const MAX_TRANSLATIONS: usize = 1024;

/// A read-model database in one SQLite file (WAL).
pub struct SqliteReadDb {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Bounds the queries in flight to the pooled readers, so none opens a throwaway one.
    reader_permits: Arc<Semaphore>,
    path: PathBuf,
    /// A scratch database in memory: one connection serves writes and queries.
    in_memory: bool,
    translations: Arc<Mutex<HashMap<String, Arc<str>>>>,
}

fn open_connection(path: &Path, read_only: bool) -> DbResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(DbError::backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(DbError::backend)?;
    // Keep each cached statement's plan: otherwise SQLite re-prepares a statement whose plan
    // could depend on a bound value (any `LIMIT $n`) on every execution.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(DbError::backend)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(DbError::backend)?;
        // Read models are rebuildable and rows commit with their checkpoint, so losing the last
        // transactions on power loss only means re-projecting them.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(DbError::backend)?;
    }
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// `$1` → `?1`: SQLite's numbered parameters take the same numbers. Text inside string
/// literals and quoted identifiers is left alone.
fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        if c == '$' && quote.is_none() && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn to_sqlite(value: &SqlValue) -> SqliteValue {
    match value {
        SqlValue::Null => SqliteValue::Null,
        SqlValue::Int(v) => SqliteValue::Integer(*v),
        SqlValue::Real(v) => SqliteValue::Real(*v),
        SqlValue::Text(v) => SqliteValue::Text(v.clone()),
        SqlValue::Bytes(v) => SqliteValue::Blob(v.clone()),
    }
}

fn from_sqlite(value: ValueRef<'_>) -> DbResult<SqlValue> {
    Ok(match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(v) => SqlValue::Int(v),
        ValueRef::Real(v) => SqlValue::Real(v),
        ValueRef::Text(v) => SqlValue::Text(
            std::str::from_utf8(v)
                .map_err(|e| DbError::Decode(format!("text column: {e}")))?
                .to_owned(),
        ),
        ValueRef::Blob(v) => SqlValue::Bytes(v.to_vec()),
    })
}

fn run_query(conn: &Connection, sql: &str, params: &[SqlValue]) -> DbResult<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql).map_err(DbError::backend)?;
    let columns: Arc<Vec<String>> =
        Arc::new(stmt.column_names().into_iter().map(str::to_owned).collect());
    let mut rows = stmt
        .query(params_from_iter(params.iter().map(to_sqlite)))
        .map_err(DbError::backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(DbError::backend)? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(from_sqlite(row.get_ref(i).map_err(DbError::backend)?)?);
        }
        out.push(Row {
            columns: columns.clone(),
            values,
        });
    }
    Ok(out)
}

impl SqliteReadDb {
    /// Opens (creating it and its parent directories) the read-model database at `path`. Reader
    /// connections are opened on first use.
    pub async fn open(path: impl AsRef<Path>) -> DbResult<Self> {
        let path = path.as_ref().to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(DbError::backend)?;
        }
        let writer_path = path.clone();
        let writer = tokio::task::spawn_blocking(move || open_connection(&writer_path, false))
            .await
            .map_err(DbError::backend)??;
        Ok(SqliteReadDb {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(Vec::new())),
            reader_permits: Arc::new(Semaphore::new(READERS)),
            path,
            in_memory: false,
            translations: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// A private database in memory, gone when dropped: the scratch read models a time-travel
    /// read folds a few streams into.
    pub fn in_memory() -> DbResult<Self> {
        let conn = Connection::open_in_memory().map_err(DbError::backend)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(SqliteReadDb {
            writer: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Mutex::new(Vec::new())),
            reader_permits: Arc::new(Semaphore::new(1)),
            path: PathBuf::new(),
            in_memory: true,
            translations: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    fn sql(&self, sql: &str) -> Arc<str> {
        let mut cache = self.translations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = cache.get(sql) {
            return t.clone();
        }
        let t: Arc<str> = translate(sql).into();
        if cache.len() >= MAX_TRANSLATIONS {
            cache.clear();
        }
        cache.insert(sql.to_owned(), t.clone());
        t
    }

    async fn with_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> DbResult<T> + Send + 'static,
    ) -> DbResult<T> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(DbError::backend)?
    }
}

/// One projection's statements, translated, and its checkpoint.
struct Batch {
    statements: Vec<(Arc<str>, Vec<SqlValue>)>,
    name: String,
    position: i64,
}

impl SqliteReadDb {
    fn prepare_batch(&self, stmts: Vec<Stmt>, checkpoint: (&str, u64)) -> DbResult<Batch> {
        let position = i64::try_from(checkpoint.1).map_err(|_| {
            DbError::Backend(format!(
                "checkpoint {} position {} does not fit a BIGINT",
                checkpoint.0, checkpoint.1
            ))
        })?;
        Ok(Batch {
            statements: coalesce(stmts)
                .into_iter()
                .map(|b| (self.sql(&b.sql), b.params))
                .collect(),
            name: checkpoint.0.to_owned(),
            position,
        })
    }
}

/// Writes every batch's rows and checkpoint in one transaction.
fn write_batches(conn: &mut Connection, batches: &[Batch]) -> DbResult<()> {
    let tx = conn.transaction().map_err(DbError::backend)?;
    for batch in batches {
        for (sql, params) in &batch.statements {
            let mut stmt = tx.prepare_cached(sql).map_err(DbError::backend)?;
            stmt.execute(params_from_iter(params.iter().map(to_sqlite)))
                .map_err(DbError::backend)?;
        }
        tx.prepare_cached(
            "INSERT INTO projection_checkpoints (name, position) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .and_then(|mut s| s.execute(rusqlite::params![batch.name, batch.position]))
        .map_err(DbError::backend)?;
    }
    tx.commit().map_err(DbError::backend)
}

#[async_trait]
impl ReadDb for SqliteReadDb {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn migrate(&self, ddl: &[&str]) -> DbResult<()> {
        let ddl: Vec<String> = ddl.iter().map(|s| s.to_string()).collect();
        self.with_writer(move |conn| {
            let tx = conn.transaction().map_err(DbError::backend)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS projection_checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
            )
            .map_err(DbError::backend)?;
            for statement in &ddl {
                tx.execute_batch(statement).map_err(DbError::backend)?;
            }
            tx.commit().map_err(DbError::backend)
        })
        .await
    }

    async fn apply(&self, stmts: Vec<Stmt>, checkpoint: (&str, u64)) -> DbResult<()> {
        let batch = self.prepare_batch(stmts, checkpoint)?;
        self.with_writer(move |conn| write_batches(conn, &[batch]))
            .await
    }

    async fn apply_many(&self, batches: Vec<(Vec<Stmt>, (&str, u64))>) -> DbResult<()> {
        let batches = batches
            .into_iter()
            .map(|(stmts, checkpoint)| self.prepare_batch(stmts, checkpoint))
            .collect::<DbResult<Vec<_>>>()?;
        self.with_writer(move |conn| write_batches(conn, &batches))
            .await
    }

    async fn bulk_load(&self, on: bool) -> DbResult<()> {
        if self.in_memory {
            return Ok(());
        }
        self.with_writer(move |conn| {
            if on {
                // Nobody reads a generation being built, and a crashed build is discarded:
                // no write-ahead log, no syncs, a large page cache.
                conn.execute_batch(
                    "PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF;
                     PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY",
                )
            } else {
                conn.execute_batch(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                     PRAGMA cache_size = -2000; PRAGMA temp_store = DEFAULT",
                )
            }
            .map_err(DbError::backend)
        })
        .await?;
        if !on {
            // What was written without syncs reaches the disk before the generation serves.
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || std::fs::File::open(path)?.sync_all())
                .await
                .map_err(DbError::backend)?
                .map_err(DbError::backend)?;
        }
        Ok(())
    }

    async fn analyze(&self) -> DbResult<()> {
        // Sampled: a full ANALYZE of a million-row index took a sixth of a replay.
        self.with_writer(|conn| {
            conn.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE")
                .map_err(DbError::backend)
        })
        .await
    }

    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> DbResult<Vec<Row>> {
        let sql = self.sql(sql);
        if self.in_memory {
            return self
                .with_writer(move |conn| run_query(conn, &sql, &params))
                .await;
        }
        let readers = self.readers.clone();
        let path = self.path.clone();
        let permit = self
            .reader_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(DbError::backend)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_connection(&path, true)?,
            };
            let result = run_query(&conn, &sql, &params);
            let mut pool = readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < READERS {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(DbError::backend)?
    }
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn placeholders_become_numbered_question_marks_outside_strings() {
        assert_eq!(
            translate("SELECT $1, '$2' WHERE a = $12"),
            "SELECT ?1, '$2' WHERE a = ?12"
        );
        assert_eq!(
            translate(r#"SELECT "c$1", 'it''s $2', $3, $x FROM t WHERE b = $10"#),
            r#"SELECT "c$1", 'it''s $2', ?3, $x FROM t WHERE b = ?10"#
        );
    }
}
