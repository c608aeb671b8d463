//! The PostgreSQL event store.
//!
//! # Global order without gaps
//!
//! Appends go through one appender task per process. It group-commits every pending batch in one
//! transaction that starts with `pg_advisory_xact_lock`, so appenders of all processes are
//! serialized. Under the lock it reads the head and the versions of the streams involved, checks
//! every batch's expected versions in memory (a refused batch is simply left out), assigns
//! positions head+1.. explicitly, writes all rows with one `UNNEST` insert, and commits. The lock
//! is released only after the commit is visible, so the next appender starts from a committed
//! head: commit order is position order and a reader of `$all` can never see position N+1 while N
//! might still commit. (A sequence would hand out numbers at insert time and let transactions
//! commit out of order; readers that skip such gaps lose events.) Positions are assigned in
//! memory only to batches that pass their checks, so a refused batch leaves no gap either.
//!
//! A group costs two round trips plus the commit's flush: `BEGIN`, the lock and the reads are
//! pipelined on one connection, then the inserts and `COMMIT`; statements are prepared once per
//! connection. `wait_for_new` polls as well as watching this process's head, because appends of
//! other processes only show up in the table.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Config, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use std::sync::Arc;

use crate::event::{
    AppendBatch, AppendStats, Appended, EventFilter, RawRecordedEvent, RecordedEvent,
};
use crate::traits::EventStore;
use crate::{sql_int, sql_limit};

/// `url` with its database name replaced (tools and tests create databases beside the
/// configured one).
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The advisory lock every appender holds while it writes ("annals" in ASCII).
const APPEND_LOCK: i64 = 0x616e_6e61_6c73;
const MAX_GROUP: usize = 512;

/// `data` and `metadata` are JSON, not JSONB: the log is read whole far more often than it is
/// queried inside (replay, the ledger, verification, the event stream), and JSON is stored and
/// sent back as the text appended (serde_json's compact form, keys sorted), where JSONB is
/// re-serialized on every read, about five times the server's work. Nothing queries inside the
/// JSON. Stores created as JSONB keep working (see [`JSONB_NOTICE`]).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS annals_events (
    position BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    version BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    data JSON NOT NULL,
    metadata JSON NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE IF NOT EXISTS annals_commands (
    command_id UUID PRIMARY KEY,
    first_position BIGINT NOT NULL,
    last_position BIGINT NOT NULL,
    head BIGINT NOT NULL
);
";

/// Logged at start by a store whose event columns are still JSONB.
const JSONB_NOTICE: &str = "annals_events stores data and metadata as JSONB, which every read \
re-serializes; converting them to JSON (in a maintenance window, it rewrites the table) makes \
replay, verification and the event stream cheaper: ALTER TABLE annals_events ALTER COLUMN data \
TYPE json USING data::json, ALTER COLUMN metadata TYPE json USING metadata::json";

const COLUMNS: &str = "position, id, stream, version, event_type, data, metadata, recorded_at";

type Reply = oneshot::Sender<StoreResult<Appended>>;
type Params<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

/// The PostgreSQL event store. Share it behind an `Arc`; dropping it stops its appender task
/// once the pending appends are answered.
pub struct PostgresEventStore {
    pool: Pool,
    requests: mpsc::UnboundedSender<(AppendBatch, Reply)>,
    head: watch::Receiver<u64>,
    stats: Arc<AppendStats>,
}

fn from_row(row: &tokio_postgres::Row) -> StoreResult<RecordedEvent> {
    let get = |e: tokio_postgres::Error| StoreError::backend(e);
    Ok(RecordedEvent {
        position: row.try_get::<_, i64>(0).map_err(get)? as u64,
        id: row.try_get(1).map_err(get)?,
        stream: row.try_get(2).map_err(get)?,
        version: row.try_get::<_, i64>(3).map_err(get)? as u64,
        event_type: row.try_get(4).map_err(get)?,
        data: row.try_get(5).map_err(get)?,
        metadata: row.try_get(6).map_err(get)?,
        recorded_at: row.try_get(7).map_err(get)?,
    })
}

/// JSON or JSONB as its text, unparsed. JSON's binary wire form is the stored text; JSONB's is
/// a version byte (1) and then the value in JSONB's text output form.
struct JsonText(String);

impl<'a> tokio_postgres::types::FromSql<'a> for JsonText {
    fn from_sql(
        ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let text = if *ty == tokio_postgres::types::Type::JSONB {
            match raw.split_first() {
                Some((1, text)) => text,
                _ => return Err("unsupported JSONB wire version".into()),
            }
        } else {
            raw
        };
        Ok(JsonText(std::str::from_utf8(text)?.to_owned()))
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        matches!(
            *ty,
            tokio_postgres::types::Type::JSON | tokio_postgres::types::Type::JSONB
        )
    }
}

/// [`from_row`] with the JSON kept as text.
fn raw_from_row(row: &tokio_postgres::Row) -> StoreResult<RawRecordedEvent> {
    let get = |e: tokio_postgres::Error| StoreError::backend(e);
    Ok(RawRecordedEvent {
        position: row.try_get::<_, i64>(0).map_err(get)? as u64,
        id: row.try_get(1).map_err(get)?,
        stream: row.try_get(2).map_err(get)?,
        version: row.try_get::<_, i64>(3).map_err(get)? as u64,
        event_type: row.try_get(4).map_err(get)?,
        data: row.try_get::<_, JsonText>(5).map_err(get)?.0,
        metadata: row.try_get::<_, JsonText>(6).map_err(get)?.0,
        recorded_at: row.try_get(7).map_err(get)?,
    })
}

/// The rows of `read_all`: one statement for every filter shape, so it is prepared once per
/// connection.
async fn read_all_rows(
    client: &deadpool_postgres::Object,
    after: u64,
    limit: usize,
    filter: &EventFilter,
) -> StoreResult<Vec<tokio_postgres::Row>> {
    query(
        client,
        &format!(
            "SELECT {COLUMNS} FROM annals_events WHERE position > $1
               AND (cardinality($2::text[]) = 0 OR EXISTS (SELECT 1 FROM unnest($2::text[]) p WHERE starts_with(stream, p)))
               AND (cardinality($3::text[]) = 0 OR event_type = ANY($3::text[]))
             ORDER BY position LIMIT $4"
        ),
        &[&sql_int(after), &filter.stream_prefixes, &filter.event_types, &sql_limit(limit)],
    )
    .await
}

impl PostgresEventStore {
    /// Connects, creates the tables if missing, and starts the appender task.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let mut config = Config::new();
        config.url = Some(url.to_owned());
        config.manager = Some(ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(StoreError::backend)?;
        let mut client = pool.get().await.map_err(StoreError::backend)?;
        let tx = client.transaction().await.map_err(StoreError::backend)?;
        // Concurrent first starts would race on CREATE TABLE IF NOT EXISTS.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
            .await
            .map_err(StoreError::backend)?;
        tx.batch_execute(SCHEMA)
            .await
            .map_err(StoreError::backend)?;
        tx.commit().await.map_err(StoreError::backend)?;
        let jsonb = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'annals_events'
                     AND column_name IN ('data', 'metadata') AND data_type = 'jsonb')",
                &[],
            )
            .await
            .map_err(StoreError::backend)?
            .get::<_, bool>(0);
        if jsonb {
            tracing::info!("{JSONB_NOTICE}");
        }
        let head = client
            .query_one("SELECT COALESCE(MAX(position), 0) FROM annals_events", &[])
            .await
            .map_err(StoreError::backend)?
            .get::<_, i64>(0) as u64;
        drop(client);
        let (head_tx, head_rx) = watch::channel(head);
        let (requests, receiver) = mpsc::unbounded_channel();
        let stats = Arc::new(AppendStats::default());
        tokio::spawn(
            Appender {
                pool: pool.clone(),
                head: head_tx,
                stats: stats.clone(),
            }
            .run(receiver),
        );
        Ok(PostgresEventStore {
            pool,
            requests,
            head: head_rx,
            stats,
        })
    }

    /// The connection pool (for tools that measure the database beside the store).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(StoreError::backend)
    }
}

struct Appender {
    pool: Pool,
    head: watch::Sender<u64>,
    stats: Arc<AppendStats>,
}

/// The rows of one group, column by column, for the UNNEST insert.
#[derive(Default)]
struct Rows {
    position: Vec<i64>,
    id: Vec<Uuid>,
    stream: Vec<String>,
    version: Vec<i64>,
    event_type: Vec<String>,
    data: Vec<Value>,
    metadata: Vec<Value>,
    recorded_at: Vec<DateTime<Utc>>,
}

impl Appender {
    async fn run(self, mut requests: mpsc::UnboundedReceiver<(AppendBatch, Reply)>) {
        while let Some(first) = requests.recv().await {
            let mut group = vec![first];
            // Writers answered by the last commit are sending their next appends right now: give
            // them one turn of the scheduler so they join this group instead of each waiting for
            // a commit of its own.
            tokio::task::yield_now().await;
            while group.len() < MAX_GROUP {
                match requests.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            self.stats.record_group(group.len());
            let batches: Vec<&AppendBatch> = group.iter().map(|(b, _)| b).collect();
            let outcomes = match self.commit(&batches).await {
                Ok(outcomes) => outcomes,
                // The server refused some row (a reused event id, a NUL in a string): nothing of
                // the group was written, so retry each batch alone and refuse only the bad one.
                // Other failures are not retried: after a lost COMMIT the group may have been
                // written, and answering a conflict would then claim otherwise.
                Err(StoreError::Invalid(_)) if group.len() > 1 => {
                    let mut outcomes = Vec::with_capacity(group.len());
                    for batch in &batches {
                        outcomes.push(match self.commit(&[batch]).await {
                            Ok(mut one) => one
                                .pop()
                                .unwrap_or_else(|| Err(StoreError::Backend("no outcome".into()))),
                            Err(e) => Err(e),
                        });
                    }
                    outcomes
                }
                Err(e) => batches.iter().map(|_| Err(copy_error(&e))).collect(),
            };
            for ((_, reply), outcome) in group.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
    }

    /// Commits the batches that pass their checks in one transaction; answers each batch's
    /// outcome, or an error when the transaction failed (then nothing of it was written, unless
    /// the COMMIT itself was lost).
    async fn commit(&self, batches: &[&AppendBatch]) -> StoreResult<Vec<StoreResult<Appended>>> {
        let client = self.pool.get().await.map_err(StoreError::backend)?;
        let result = self.commit_on(&client, batches).await;
        if result.is_err() {
            // Never hand back a connection with a transaction open: roll back (outside a
            // transaction this only warns), and discard the connection if even that fails.
            if client.batch_execute("ROLLBACK").await.is_err() {
                drop(deadpool_postgres::Object::take(client));
            }
        }
        result
    }

    async fn commit_on(
        &self,
        client: &deadpool_postgres::Object,
        batches: &[&AppendBatch],
    ) -> StoreResult<Vec<StoreResult<Appended>>> {
        let (lock, head_stmt, versions_stmt, commands_stmt, insert_events, insert_commands) = futures::try_join!(
            client.prepare_cached("SELECT pg_advisory_xact_lock($1)"),
            client.prepare_cached(
                "SELECT position, recorded_at FROM annals_events ORDER BY position DESC LIMIT 1"
            ),
            client.prepare_cached(
                "SELECT stream, MAX(version) FROM annals_events WHERE stream = ANY($1) GROUP BY stream"
            ),
            client.prepare_cached(
                "SELECT command_id, first_position, last_position, head FROM annals_commands WHERE command_id = ANY($1)"
            ),
            client.prepare_cached(
                "INSERT INTO annals_events (position, id, stream, version, event_type, data, metadata, recorded_at)
                 SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::json[], $7::json[], $8::timestamptz[])"
            ),
            client.prepare_cached(
                "INSERT INTO annals_commands (command_id, first_position, last_position, head)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[])"
            ),
        )
        .map_err(classify)?;
        let streams: Vec<&str> = batches
            .iter()
            .flat_map(|b| b.appends.iter().map(|a| a.stream.as_str()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let command_ids: Vec<Uuid> = batches.iter().filter_map(|b| b.command_id).collect();
        // One round trip: BEGIN, the lock, then the head, the streams' versions and the command
        // ids already appended. `futures::try_join!` polls its futures in order and a request
        // is sent on its first poll, and the server runs one connection's requests in the order
        // sent, so each read's snapshot is taken after the lock is held, i.e. after the previous
        // appender's commit became visible. (Were that ever violated, the primary key and the
        // unique constraints would refuse the stale write rather than let it through.)
        let (lock_params, stream_params, command_params): (Params, Params, Params) =
            (&[&APPEND_LOCK], &[&streams], &[&command_ids]);
        let ((), _, head_row, version_rows, command_rows) = futures::try_join!(
            client.batch_execute("BEGIN"),
            client.execute(&lock, lock_params),
            client.query_opt(&head_stmt, &[]),
            client.query(&versions_stmt, stream_params),
            client.query(&commands_stmt, command_params),
        )
        .map_err(classify)?;
        let (mut head, mut last_time) = match head_row {
            Some(r) => (
                r.try_get::<_, i64>(0).map_err(StoreError::backend)? as u64,
                r.try_get::<_, DateTime<Utc>>(1)
                    .map_err(StoreError::backend)?,
            ),
            None => (0, DateTime::<Utc>::MIN_UTC),
        };
        let mut versions: HashMap<String, u64> = HashMap::with_capacity(version_rows.len());
        for row in &version_rows {
            let stream: String = row.try_get(0).map_err(StoreError::backend)?;
            let version: i64 = row.try_get(1).map_err(StoreError::backend)?;
            versions.insert(stream, version as u64);
        }
        let mut seen_commands: HashMap<Uuid, (u64, u64, u64)> = HashMap::new();
        for row in &command_rows {
            let get = |i| row.try_get::<_, i64>(i).map(|v| v as u64);
            let range = (get(1), get(2), get(3));
            let (Ok(first), Ok(last), Ok(head)) = range else {
                return Err(StoreError::Backend("corrupt annals_commands row".into()));
            };
            let id: Uuid = row.try_get(0).map_err(StoreError::backend)?;
            seen_commands.insert(id, (first, last, head));
        }

        let mut rows = Rows::default();
        let mut commands: Vec<(Uuid, i64, i64, i64)> = Vec::new();
        let mut outcomes: Vec<StoreResult<Appended>> = Vec::with_capacity(batches.len());
        // Duplicates of commands first appended in an earlier transaction are read afterwards.
        let mut earlier_duplicates: Vec<(usize, (u64, u64, u64))> = Vec::new();
        let mut group_commands: HashMap<Uuid, Appended> = HashMap::new();
        'batches: for (index, batch) in batches.iter().enumerate() {
            if let Some(id) = batch.command_id {
                if let Some(range) = seen_commands.get(&id) {
                    earlier_duplicates.push((index, *range));
                    outcomes.push(Ok(Appended {
                        events: vec![],
                        position: range.2,
                        duplicate: true,
                    }));
                    continue;
                }
                if let Some(first) = group_commands.get(&id) {
                    outcomes.push(Ok(Appended {
                        duplicate: true,
                        ..first.clone()
                    }));
                    continue;
                }
            }
            // Check every stream against the versions as this batch would find them (earlier
            // batches of the group are already in `versions`; a stream may occur twice).
            let mut scratch: HashMap<&str, Option<u64>> = HashMap::new();
            for append in &batch.appends {
                let current = match scratch.get(append.stream.as_str()) {
                    Some(v) => *v,
                    None => versions.get(&append.stream).copied(),
                };
                if !append.expected.admits(current) {
                    outcomes.push(Err(StoreError::conflict(
                        &append.stream,
                        append.expected,
                        current,
                    )));
                    continue 'batches;
                }
                let after = match append.events.len() as u64 {
                    0 => current,
                    n => Some(current.map_or(0, |v| v + 1) + n - 1),
                };
                scratch.insert(append.stream.as_str(), after);
            }
            let first_position = head + 1;
            let mut recorded = Vec::new();
            for append in &batch.appends {
                let first_version = versions.get(&append.stream).map_or(0, |v| v + 1);
                for (version, event) in (first_version..).zip(&append.events) {
                    head += 1;
                    // Micros: what TIMESTAMPTZ keeps, so the answer equals what a read returns.
                    let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros())
                        .unwrap_or_default();
                    last_time = last_time.max(now);
                    rows.position.push(head as i64);
                    rows.id.push(event.id);
                    rows.stream.push(append.stream.clone());
                    rows.version.push(version as i64);
                    rows.event_type.push(event.event_type.clone());
                    rows.data.push(event.data.clone());
                    rows.metadata.push(event.metadata.clone());
                    rows.recorded_at.push(last_time);
                    recorded.push(RecordedEvent {
                        id: event.id,
                        stream: append.stream.clone(),
                        version,
                        position: head,
                        event_type: event.event_type.clone(),
                        data: event.data.clone(),
                        metadata: event.metadata.clone(),
                        recorded_at: last_time,
                    });
                    versions.insert(append.stream.clone(), version);
                }
            }
            let appended = Appended {
                events: recorded,
                position: head,
                duplicate: false,
            };
            if let Some(id) = batch.command_id {
                commands.push((id, first_position as i64, head as i64, head as i64));
                group_commands.insert(id, appended.clone());
            }
            outcomes.push(Ok(appended));
        }

        let ids: Vec<Uuid> = commands.iter().map(|c| c.0).collect();
        let firsts: Vec<i64> = commands.iter().map(|c| c.1).collect();
        let lasts: Vec<i64> = commands.iter().map(|c| c.2).collect();
        let heads: Vec<i64> = commands.iter().map(|c| c.3).collect();
        // One round trip: both inserts (an empty array inserts nothing) and the COMMIT. If an
        // insert fails, the server turns the COMMIT into a ROLLBACK and the insert's error is
        // what `try_join!` answers, so a failed group is never acknowledged.
        let event_params: Params = &[
            &rows.position,
            &rows.id,
            &rows.stream,
            &rows.version,
            &rows.event_type,
            &rows.data,
            &rows.metadata,
            &rows.recorded_at,
        ];
        let command_params: Params = &[&ids, &firsts, &lasts, &heads];
        futures::try_join!(
            client.execute(&insert_events, event_params),
            client.execute(&insert_commands, command_params),
            client.batch_execute("COMMIT"),
        )
        .map_err(classify)?;
        self.head.send_if_modified(|h| {
            let moved = head > *h;
            *h = (*h).max(head);
            moved
        });
        for (index, (first, last, _)) in earlier_duplicates {
            if first > last {
                continue;
            }
            let events = read_range(client, first, last).await;
            if let Some(outcome) = outcomes.get_mut(index) {
                match events {
                    Ok(events) => {
                        if let Ok(appended) = outcome {
                            appended.events = events;
                        }
                    }
                    // The duplicate's answer would be incomplete; the caller may retry it.
                    Err(e) => *outcome = Err(e),
                }
            }
        }
        Ok(outcomes)
    }
}

/// The same failure, for every requester of a failed group.
fn copy_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict {
            stream,
            expected,
            actual,
        } => StoreError::Conflict {
            stream: stream.clone(),
            expected: expected.clone(),
            actual: actual.clone(),
        },
        StoreError::Invalid(m) => StoreError::Invalid(m.clone()),
        StoreError::Backend(m) => StoreError::Backend(m.clone()),
    }
}

/// Data the server refuses (a reused event id, a NUL in a text column, `\u0000` in JSONB) is the
/// caller's input, not a backend failure: SQLSTATE classes 22 (data exception) and 23
/// (integrity constraint violation) answer `Invalid`.
fn classify(e: tokio_postgres::Error) -> StoreError {
    let refused = e
        .code()
        .is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23"));
    match StoreError::backend(e) {
        StoreError::Backend(message) if refused => StoreError::Invalid(message),
        other => other,
    }
}

/// A read through the connection's statement cache: one round trip instead of two.
async fn query(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Vec<tokio_postgres::Row>> {
    let stmt = client
        .prepare_cached(sql)
        .await
        .map_err(StoreError::backend)?;
    client.query(&stmt, params).await.map_err(classify)
}

async fn query_opt(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: Params<'_>,
) -> StoreResult<Option<tokio_postgres::Row>> {
    let stmt = client
        .prepare_cached(sql)
        .await
        .map_err(StoreError::backend)?;
    client.query_opt(&stmt, params).await.map_err(classify)
}

async fn read_range(
    client: &deadpool_postgres::Object,
    first: u64,
    last: u64,
) -> StoreResult<Vec<RecordedEvent>> {
    let rows = query(
        client,
        &format!(
            "SELECT {COLUMNS} FROM annals_events WHERE position BETWEEN $1 AND $2 ORDER BY position"
        ),
        &[&sql_int(first), &sql_int(last)],
    )
    .await?;
    rows.iter().map(from_row).collect()
}

#[async_trait]
impl EventStore for PostgresEventStore {
    fn append_stats(&self) -> (u64, u64) {
        self.stats.read()
    }

    async fn append_batch(&self, batch: AppendBatch) -> StoreResult<Appended> {
        batch.validate()?;
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((batch, reply))
            .map_err(|_| StoreError::Backend("the event store appender has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the event store appender has stopped".into()))?
    }

    async fn command_outcome(&self, command_id: Uuid) -> StoreResult<Option<Appended>> {
        let client = self.client().await?;
        let Some(row) = query_opt(
            &client,
            "SELECT first_position, last_position, head FROM annals_commands WHERE command_id = $1",
            &[&command_id],
        )
        .await?
        else {
            return Ok(None);
        };
        let get = |i| row.try_get::<_, i64>(i).map(|v| v as u64);
        let (first, last, head) = (
            get(0).map_err(StoreError::backend)?,
            get(1).map_err(StoreError::backend)?,
            get(2).map_err(StoreError::backend)?,
        );
        let events = if first <= last {
            read_range(&client, first, last).await?
        } else {
            vec![]
        };
        Ok(Some(Appended {
            events,
            position: head,
            duplicate: true,
        }))
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!("SELECT {COLUMNS} FROM annals_events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3"),
            &[&stream, &sql_int(from_version), &sql_limit(limit)],
        )
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn stream_version(&self, stream: &str) -> StoreResult<Option<u64>> {
        let client = self.client().await?;
        let row = query_opt(
            &client,
            "SELECT MAX(version) FROM annals_events WHERE stream = $1",
            &[&stream],
        )
        .await?;
        let version = match row {
            Some(row) => row
                .try_get::<_, Option<i64>>(0)
                .map_err(StoreError::backend)?,
            None => None,
        };
        Ok(version.map(|v| v as u64))
    }

    async fn read_all(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let client = self.client().await?;
        let rows = read_all_rows(&client, after, limit, filter).await?;
        rows.iter().map(from_row).collect()
    }

    async fn read_all_raw(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RawRecordedEvent>> {
        let client = self.client().await?;
        let rows = read_all_rows(&client, after, limit, filter).await?;
        rows.iter().map(raw_from_row).collect()
    }

    async fn read_positions(&self, positions: &[u64]) -> StoreResult<Vec<RecordedEvent>> {
        let positions: Vec<i64> = positions.iter().map(|p| sql_int(*p)).collect();
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {COLUMNS} FROM annals_events WHERE position = ANY($1) ORDER BY position"
            ),
            &[&positions],
        )
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn head(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let row = query_opt(
            &client,
            "SELECT COALESCE(MAX(position), 0) FROM annals_events",
            &[],
        )
        .await?;
        match row {
            Some(row) => Ok(row.try_get::<_, i64>(0).map_err(StoreError::backend)? as u64),
            None => Ok(0),
        }
    }

    async fn wait_for_new(&self, after: u64) {
        // Other processes' appends are only seen by polling; ours wake the watch at once.
        let mut head = self.head.clone();
        let _ =
            tokio::time::timeout(Duration::from_millis(100), head.wait_for(|h| *h > after)).await;
    }
}
