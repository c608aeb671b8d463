//! The embedded event store: one SQLite file in WAL mode.
//!
//! One writer thread owns the only write connection. It drains every pending append into one
//! transaction (group commit), runs each batch under its own SAVEPOINT so a batch that fails its
//! expected versions is rolled back alone, assigns dense positions, commits with
//! `synchronous=FULL` and only then acknowledges. Because there is a single writer and positions
//! are assigned inside its transaction, readers (separate WAL connections) only ever see a dense,
//! committed prefix of `$all`.

use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{Semaphore, oneshot, watch};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::event::{
    AppendBatch, AppendStats, Appended, EventFilter, NewEvent, RawRecordedEvent, RecordedEvent,
};
use crate::traits::EventStore;
use crate::{sql_int, sql_limit};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY,
    first_position INTEGER NOT NULL,
    last_position INTEGER NOT NULL,
    head INTEGER NOT NULL
);
";

/// Most requests folded into one commit; bounds the latency of the first of them.
const MAX_GROUP: usize = 512;
/// Read-only connections, and so concurrent reads: WAL readers do not block each other or the
/// writer, but more of them than cores only adds contention.
const READERS: usize = 4;

type Reply = oneshot::Sender<StoreResult<Appended>>;

/// The embedded event store. Cheap to share behind an `Arc`; dropping it stops the writer thread
/// once the pending appends are answered.
pub struct SqliteEventStore {
    requests: std_mpsc::Sender<(AppendBatch, Reply)>,
    head: watch::Receiver<u64>,
    stats: Arc<AppendStats>,
    readers: Arc<Readers>,
}

/// The read-only connections. A read holds a permit while it runs, so at most `READERS`
/// connections ever exist and each read reuses one (opening a connection costs a schema parse).
struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    path: PathBuf,
}

fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.set_prepared_statement_cache_capacity(64);
    // Keep each cached statement's plan: otherwise SQLite re-prepares a statement whose plan
    // could depend on a bound value (any `LIMIT ?`) on every execution.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit is on disk (the WAL is fsynced) before the append is acknowledged.
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    Ok(conn)
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordedEvent> {
    let bad = |column: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    };
    // Borrowed from SQLite's row buffer: the id and JSON are parsed, never kept as text.
    let text = |column: usize| -> rusqlite::Result<&str> {
        row.get_ref(column)?
            .as_str()
            .map_err(|e| bad(column, e.to_string()))
    };
    Ok(RecordedEvent {
        position: row.get::<_, i64>(0)? as u64,
        id: Uuid::parse_str(text(1)?).map_err(|e| bad(1, e.to_string()))?,
        stream: row.get(2)?,
        version: row.get::<_, i64>(3)? as u64,
        event_type: row.get(4)?,
        data: serde_json::from_str(text(5)?).map_err(|e| bad(5, e.to_string()))?,
        metadata: serde_json::from_str(text(6)?).map_err(|e| bad(6, e.to_string()))?,
        recorded_at: DateTime::from_timestamp_micros(row.get(7)?).unwrap_or_default(),
    })
}

/// [`from_row`] with the JSON kept as the stored text.
fn raw_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecordedEvent> {
    let bad = |column: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
    };
    let id = row
        .get_ref(1)?
        .as_str()
        .map_err(|e| bad(1, e.to_string()))?;
    Ok(RawRecordedEvent {
        position: row.get::<_, i64>(0)? as u64,
        id: Uuid::parse_str(id).map_err(|e| bad(1, e.to_string()))?,
        stream: row.get(2)?,
        version: row.get::<_, i64>(3)? as u64,
        event_type: row.get(4)?,
        data: row.get(5)?,
        metadata: row.get(6)?,
        recorded_at: DateTime::from_timestamp_micros(row.get(7)?).unwrap_or_default(),
    })
}

/// The SQL and arguments of `read_all`.
fn read_all_query(
    after: u64,
    limit: usize,
    filter: &EventFilter,
) -> (String, Vec<rusqlite::types::Value>) {
    let mut sql = format!("SELECT {COLUMNS} FROM events WHERE position > ?");
    let mut args: Vec<rusqlite::types::Value> = vec![sql_int(after).into()];
    if !filter.stream_prefixes.is_empty() {
        let clauses: Vec<&str> = filter
            .stream_prefixes
            .iter()
            .map(|_| "substr(stream, 1, length(?)) = ?")
            .collect();
        sql.push_str(&format!(" AND ({})", clauses.join(" OR ")));
        for p in &filter.stream_prefixes {
            args.push(p.clone().into());
            args.push(p.clone().into());
        }
    }
    if !filter.event_types.is_empty() {
        let marks = vec!["?"; filter.event_types.len()].join(", ");
        sql.push_str(&format!(" AND event_type IN ({marks})"));
        args.extend(filter.event_types.iter().map(|t| t.clone().into()));
    }
    sql.push_str(" ORDER BY position LIMIT ?");
    args.push(sql_limit(limit).into());
    (sql, args)
}

const COLUMNS: &str = "position, id, stream, version, event_type, data, metadata, recorded_at";

fn read_range(conn: &Connection, first: u64, last: u64) -> rusqlite::Result<Vec<RecordedEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM events WHERE position BETWEEN ?1 AND ?2 ORDER BY position"
    ))?;
    let rows = stmt.query_map(params![first as i64, last as i64], from_row)?;
    rows.collect()
}

fn command_outcome(conn: &Connection, command_id: Uuid) -> rusqlite::Result<Option<Appended>> {
    let found = conn
        .prepare_cached(
            "SELECT first_position, last_position, head FROM commands WHERE command_id = ?1",
        )?
        .query_row(params![command_id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        })
        .optional()?;
    let Some((first, last, head)) = found else {
        return Ok(None);
    };
    let events = if first <= last {
        read_range(conn, first, last)?
    } else {
        vec![]
    };
    Ok(Some(Appended {
        events,
        position: head,
        duplicate: true,
    }))
}

fn stream_version(conn: &Connection, stream: &str) -> rusqlite::Result<Option<u64>> {
    conn.prepare_cached("SELECT MAX(version) FROM events WHERE stream = ?1")?
        .query_row(params![stream], |r| r.get::<_, Option<i64>>(0))
        .map(|v| v.map(|v| v as u64))
}

/// The writer's state between groups.
struct Writer {
    conn: Connection,
    head: watch::Sender<u64>,
    stats: Arc<AppendStats>,
}

enum Outcome {
    Done(Appended),
    Failed(StoreError),
}

impl Writer {
    fn run(mut self, requests: std_mpsc::Receiver<(AppendBatch, Reply)>) {
        while let Ok(first) = requests.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match requests.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            tracing::trace!(batches = group.len(), "committing a group of appends");
            self.stats.record_group(group.len());
            self.commit_group(group);
        }
    }

    fn commit_group(&mut self, group: Vec<(AppendBatch, Reply)>) {
        let result = (|| -> rusqlite::Result<(Vec<Outcome>, u64)> {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut head: u64 =
                tx.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                    r.get::<_, i64>(0)
                })? as u64;
            let mut last_time: i64 = tx
                .query_row(
                    "SELECT recorded_at FROM events WHERE position = ?1",
                    params![head as i64],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(i64::MIN);
            let mut outcomes = Vec::with_capacity(group.len());
            for (batch, _) in &group {
                tx.execute_batch("SAVEPOINT batch")?;
                match append_one(&tx, batch, &mut head, &mut last_time) {
                    Ok(Ok(appended)) => {
                        tx.execute_batch("RELEASE batch")?;
                        outcomes.push(Outcome::Done(appended));
                    }
                    Ok(Err(refused)) => {
                        tx.execute_batch("ROLLBACK TO batch; RELEASE batch")?;
                        outcomes.push(Outcome::Failed(refused));
                    }
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO batch; RELEASE batch")?;
                        outcomes.push(Outcome::Failed(StoreError::backend(e)));
                    }
                }
                // A refused batch may have advanced these before its rollback.
                if let Some(Outcome::Failed(_)) = outcomes.last() {
                    head =
                        tx.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                            r.get::<_, i64>(0)
                        })? as u64;
                }
            }
            tx.commit()?;
            Ok((outcomes, head))
        })();
        match result {
            Ok((outcomes, head)) => {
                self.head.send_if_modified(|h| {
                    let moved = head > *h;
                    *h = (*h).max(head);
                    moved
                });
                for ((_, reply), outcome) in group.into_iter().zip(outcomes) {
                    let _ = reply.send(match outcome {
                        Outcome::Done(a) => Ok(a),
                        Outcome::Failed(e) => Err(e),
                    });
                }
            }
            Err(e) => {
                tracing::error!("event store commit failed: {e}");
                for (_, reply) in group {
                    let _ = reply.send(Err(StoreError::backend(&e)));
                }
            }
        }
    }
}

/// Appends one batch inside the group's transaction. The outer error is a database failure;
/// the inner one a refusal (conflict, invalid input) that rolls back this batch only.
fn append_one(
    tx: &rusqlite::Transaction<'_>,
    batch: &AppendBatch,
    head: &mut u64,
    last_time: &mut i64,
) -> rusqlite::Result<Result<Appended, StoreError>> {
    if let Some(command_id) = batch.command_id
        && let Some(first) = command_outcome(tx, command_id)?
    {
        return Ok(Ok(first));
    }
    let first_position = *head + 1;
    let mut recorded = Vec::new();
    for append in &batch.appends {
        let current = stream_version(tx, &append.stream)?;
        if !append.expected.admits(current) {
            return Ok(Err(StoreError::conflict(
                &append.stream,
                append.expected,
                current,
            )));
        }
        for (version, event) in (current.map_or(0, |v| v + 1)..).zip(&append.events) {
            let now = micros(Utc::now()).max(*last_time);
            let position = *head + 1;
            let inserted = insert(tx, event, &append.stream, version, position, now);
            match inserted {
                Ok(()) => {}
                Err(rusqlite::Error::SqliteFailure(f, msg))
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Ok(Err(StoreError::Invalid(format!(
                        "event {} could not be stored: {}",
                        event.id,
                        msg.unwrap_or_else(|| "constraint violated".into())
                    ))));
                }
                Err(e) => return Err(e),
            }
            recorded.push(RecordedEvent {
                id: event.id,
                stream: append.stream.clone(),
                version,
                position,
                event_type: event.event_type.clone(),
                data: event.data.clone(),
                metadata: event.metadata.clone(),
                recorded_at: DateTime::from_timestamp_micros(now).unwrap_or_default(),
            });
            *head = position;
            *last_time = now;
        }
    }
    if let Some(command_id) = batch.command_id {
        tx.prepare_cached("INSERT INTO commands (command_id, first_position, last_position, head) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![command_id.to_string(), first_position as i64, *head as i64, *head as i64])?;
    }
    Ok(Ok(Appended {
        events: recorded,
        position: *head,
        duplicate: false,
    }))
}

fn insert(
    tx: &rusqlite::Transaction<'_>,
    event: &NewEvent,
    stream: &str,
    version: u64,
    position: u64,
    at: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO events (position, id, stream, version, event_type, data, metadata, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        position as i64,
        event.id.to_string(),
        stream,
        version as i64,
        event.event_type,
        event.data.to_string(),
        event.metadata.to_string(),
        at
    ])?;
    Ok(())
}

impl SqliteEventStore {
    /// Opens (creating) the event store file at `path` and starts its writer thread.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        let path = path.as_ref().to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(StoreError::backend)?;
        }
        let open_path = path.clone();
        let (conn, head) =
            tokio::task::spawn_blocking(move || -> rusqlite::Result<(Connection, u64)> {
                let conn = open_connection(&open_path, false)?;
                conn.execute_batch(SCHEMA)?;
                let head =
                    conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                        r.get::<_, i64>(0)
                    })?;
                Ok((conn, head as u64))
            })
            .await
            .map_err(StoreError::backend)?
            .map_err(StoreError::backend)?;
        let (head_tx, head_rx) = watch::channel(head);
        let (requests, receiver) = std_mpsc::channel();
        let stats = Arc::new(AppendStats::default());
        let writer = Writer {
            conn,
            head: head_tx,
            stats: stats.clone(),
        };
        std::thread::Builder::new()
            .name("annals-sqlite-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(StoreError::backend)?;
        Ok(SqliteEventStore {
            requests,
            head: head_rx,
            stats,
            readers: Arc::new(Readers {
                idle: Mutex::new(Vec::with_capacity(READERS)),
                permits: Arc::new(Semaphore::new(READERS)),
                path,
            }),
        })
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let readers = self.readers.clone();
        let permit = readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(StoreError::backend)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pooled = readers.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match pooled {
                Some(c) => c,
                None => open_connection(&readers.path, true).map_err(StoreError::backend)?,
            };
            let result = f(&conn).map_err(StoreError::backend);
            readers
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
            result
        })
        .await
        .map_err(StoreError::backend)?
    }
}

#[async_trait]
impl EventStore for SqliteEventStore {
    fn append_stats(&self) -> (u64, u64) {
        self.stats.read()
    }

    async fn append_batch(&self, batch: AppendBatch) -> StoreResult<Appended> {
        batch.validate()?;
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((batch, reply))
            .map_err(|_| StoreError::Backend("the event store writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the event store writer has stopped".into()))?
    }

    async fn command_outcome(&self, command_id: Uuid) -> StoreResult<Option<Appended>> {
        self.read(move |conn| command_outcome(conn, command_id))
            .await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let stream = stream.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE stream = ?1 AND version >= ?2 ORDER BY version LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![stream, sql_int(from_version), sql_limit(limit)],
                from_row,
            )?;
            rows.collect()
        })
        .await
    }

    async fn stream_version(&self, stream: &str) -> StoreResult<Option<u64>> {
        let stream = stream.to_owned();
        self.read(move |conn| stream_version(conn, &stream)).await
    }

    async fn read_all(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let (sql, args) = read_all_query(after, limit, filter);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
            rows.collect()
        })
        .await
    }

    async fn read_all_raw(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RawRecordedEvent>> {
        let (sql, args) = read_all_query(after, limit, filter);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), raw_from_row)?;
            rows.collect()
        })
        .await
    }

    async fn read_positions(&self, positions: &[u64]) -> StoreResult<Vec<RecordedEvent>> {
        let mut positions = positions.to_vec();
        positions.sort_unstable();
        positions.dedup();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT {COLUMNS} FROM events WHERE position = ?1"))?;
            let mut out = Vec::with_capacity(positions.len());
            for p in positions {
                if let Some(e) = stmt.query_row(params![sql_int(p)], from_row).optional()? {
                    out.push(e);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn head(&self) -> StoreResult<u64> {
        self.read(|conn| {
            conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|h| h as u64)
        })
        .await
    }

    async fn wait_for_new(&self, after: u64) {
        let mut head = self.head.clone();
        let _ =
            tokio::time::timeout(Duration::from_millis(250), head.wait_for(|h| *h > after)).await;
    }
}
