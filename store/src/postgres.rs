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
//! commit out of order; readers that skip such gaps lose events.)

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Config, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::event::{AppendBatch, Appended, EventFilter, ExpectedVersion, RecordedEvent};
use crate::traits::EventStore;

/// The advisory lock every appender holds while it writes ("annals" in ASCII).
const APPEND_LOCK: i64 = 0x616e_6e61_6c73;
const MAX_GROUP: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS annals_events (
    position BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    version BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    data JSONB NOT NULL,
    metadata JSONB NOT NULL,
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

const COLUMNS: &str = "position, id, stream, version, event_type, data, metadata, recorded_at";

type Reply = oneshot::Sender<StoreResult<Appended>>;

pub struct PostgresEventStore {
    pool: Pool,
    requests: mpsc::UnboundedSender<(AppendBatch, Reply)>,
    head: watch::Receiver<u64>,
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

fn describe(expected: ExpectedVersion) -> String {
    match expected {
        ExpectedVersion::Any => "any".into(),
        ExpectedVersion::NoStream => "no stream".into(),
        ExpectedVersion::StreamExists => "stream exists".into(),
        ExpectedVersion::Exact(v) => v.to_string(),
    }
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
        let head = client
            .query_one("SELECT COALESCE(MAX(position), 0) FROM annals_events", &[])
            .await
            .map_err(StoreError::backend)?
            .get::<_, i64>(0) as u64;
        drop(client);
        let (head_tx, head_rx) = watch::channel(head);
        let (requests, receiver) = mpsc::unbounded_channel();
        tokio::spawn(
            Appender {
                pool: pool.clone(),
                head: head_tx,
            }
            .run(receiver),
        );
        Ok(PostgresEventStore {
            pool,
            requests,
            head: head_rx,
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
            while group.len() < MAX_GROUP {
                match requests.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            let batches: Vec<&AppendBatch> = group.iter().map(|(b, _)| b).collect();
            let outcomes = match self.commit(&batches).await {
                Ok(outcomes) => outcomes,
                // One bad batch (say, a reused event id) must not fail the others: retry each alone.
                Err(_) if group.len() > 1 => {
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
                Err(e) => vec![Err(e)],
            };
            for ((_, reply), outcome) in group.into_iter().zip(outcomes) {
                let _ = reply.send(outcome);
            }
        }
    }

    /// Commits the batches that pass their checks in one transaction; answers each batch's
    /// outcome, or an error when the transaction failed (nothing of it was written).
    async fn commit(&self, batches: &[&AppendBatch]) -> StoreResult<Vec<StoreResult<Appended>>> {
        let mut client = self.pool.get().await.map_err(StoreError::backend)?;
        let tx = client.transaction().await.map_err(StoreError::backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
            .await
            .map_err(StoreError::backend)?;
        // The head, the streams' current versions and already-appended command ids: three
        // queries issued together, so they cost one round trip.
        let streams: Vec<String> = batches
            .iter()
            .flat_map(|b| b.appends.iter().map(|a| a.stream.clone()))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let command_ids: Vec<Uuid> = batches.iter().filter_map(|b| b.command_id).collect();
        let (head_row, version_rows, command_rows) = tokio::try_join!(
            tx.query_opt("SELECT position, recorded_at FROM annals_events ORDER BY position DESC LIMIT 1", &[]),
            async {
                tx.query(
                    "SELECT stream, MAX(version) FROM annals_events WHERE stream = ANY($1) GROUP BY stream",
                    &[&streams],
                )
                .await
            },
            async {
            tx.query(
                "SELECT command_id, first_position, last_position, head FROM annals_commands WHERE command_id = ANY($1)",
                &[&command_ids],
            )
            .await
            },
        )
        .map_err(StoreError::backend)?;
        let (mut head, mut last_time) = match head_row {
            Some(r) => (r.get::<_, i64>(0) as u64, r.get::<_, DateTime<Utc>>(1)),
            None => (0, DateTime::<Utc>::MIN_UTC),
        };
        let mut versions: HashMap<String, u64> = version_rows
            .iter()
            .map(|row| (row.get(0), row.get::<_, i64>(1) as u64))
            .collect();
        let seen_commands: HashMap<Uuid, (u64, u64, u64)> = command_rows
            .iter()
            .map(|row| {
                let range = (
                    row.get::<_, i64>(1) as u64,
                    row.get::<_, i64>(2) as u64,
                    row.get::<_, i64>(3) as u64,
                );
                (row.get(0), range)
            })
            .collect();

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
            // Check every stream against the versions as this batch would find them.
            let mut scratch: HashMap<&str, Option<u64>> = HashMap::new();
            for append in &batch.appends {
                let current = match scratch.get(append.stream.as_str()) {
                    Some(v) => *v,
                    None => versions.get(&append.stream).copied(),
                };
                if !append.expected.admits(current) {
                    outcomes.push(Err(StoreError::Conflict {
                        stream: append.stream.clone(),
                        expected: describe(append.expected),
                        actual: current.map_or_else(|| "no stream".into(), |v| v.to_string()),
                    }));
                    continue 'batches;
                }
                let after = if append.events.is_empty() {
                    current
                } else {
                    Some(current.map_or(0, |v| v + 1) + append.events.len() as u64 - 1)
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
        // Both inserts in one round trip (an empty array inserts nothing).
        tokio::try_join!(
            async {
            tx.execute(
                "INSERT INTO annals_events (position, id, stream, version, event_type, data, metadata, recorded_at)
                 SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[], $7::jsonb[], $8::timestamptz[])",
                &[&rows.position, &rows.id, &rows.stream, &rows.version, &rows.event_type, &rows.data, &rows.metadata, &rows.recorded_at],
            )
            .await
            },
            async {
            tx.execute(
                "INSERT INTO annals_commands (command_id, first_position, last_position, head)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[])",
                &[&ids, &firsts, &lasts, &heads],
            )
            .await
            },
        )
        .map_err(|e| match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => {
                StoreError::Invalid(format!("an event could not be stored: {e}"))
            }
            _ => StoreError::backend(e),
        })?;
        tx.commit().await.map_err(StoreError::backend)?;
        self.head.send_if_modified(|h| {
            let moved = head > *h;
            *h = (*h).max(head);
            moved
        });
        for (index, (first, last, _)) in earlier_duplicates {
            if first <= last
                && let Ok(events) = read_range(&client, first, last).await
                && let Some(Ok(outcome)) = outcomes.get_mut(index)
            {
                outcome.events = events;
            }
        }
        Ok(outcomes)
    }
}

async fn read_range(
    client: &tokio_postgres::Client,
    first: u64,
    last: u64,
) -> StoreResult<Vec<RecordedEvent>> {
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM annals_events WHERE position BETWEEN $1 AND $2 ORDER BY position"),
            &[&(first as i64), &(last as i64)],
        )
        .await
        .map_err(StoreError::backend)?;
    rows.iter().map(from_row).collect()
}

#[async_trait]
impl EventStore for PostgresEventStore {
    async fn append_batch(&self, batch: AppendBatch) -> StoreResult<Appended> {
        if batch.appends.is_empty() {
            return Err(StoreError::Invalid(
                "an append batch needs at least one stream".into(),
            ));
        }
        if batch.appends.iter().any(|a| a.stream.is_empty()) {
            return Err(StoreError::Invalid("empty stream name in batch".into()));
        }
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
        let Some(row) = client
            .query_opt(
                "SELECT first_position, last_position, head FROM annals_commands WHERE command_id = $1",
                &[&command_id],
            )
            .await
            .map_err(StoreError::backend)?
        else {
            return Ok(None);
        };
        let (first, last, head) = (
            row.get::<_, i64>(0) as u64,
            row.get::<_, i64>(1) as u64,
            row.get::<_, i64>(2) as u64,
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
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM annals_events WHERE stream = $1 AND version >= $2 ORDER BY version LIMIT $3"),
                &[&stream, &(from_version as i64), &(limit as i64)],
            )
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn stream_version(&self, stream: &str) -> StoreResult<Option<u64>> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT MAX(version) FROM annals_events WHERE stream = $1",
                &[&stream],
            )
            .await
            .map_err(StoreError::backend)?;
        Ok(row.get::<_, Option<i64>>(0).map(|v| v as u64))
    }

    async fn read_all(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RecordedEvent>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM annals_events WHERE position > $1
                       AND (cardinality($2::text[]) = 0 OR EXISTS (SELECT 1 FROM unnest($2::text[]) p WHERE starts_with(stream, p)))
                       AND (cardinality($3::text[]) = 0 OR event_type = ANY($3::text[]))
                     ORDER BY position LIMIT $4"
                ),
                &[&(after as i64), &filter.stream_prefixes, &filter.event_types, &(limit as i64)],
            )
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn read_positions(&self, positions: &[u64]) -> StoreResult<Vec<RecordedEvent>> {
        let positions: Vec<i64> = positions.iter().map(|p| *p as i64).collect();
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM annals_events WHERE position = ANY($1) ORDER BY position"
                ),
                &[&positions],
            )
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(from_row).collect()
    }

    async fn head(&self) -> StoreResult<u64> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT COALESCE(MAX(position), 0) FROM annals_events", &[])
            .await
            .map_err(StoreError::backend)?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn wait_for_new(&self, after: u64) {
        // Other processes' appends are only seen by polling; ours wake the watch at once.
        let mut head = self.head.clone();
        let _ =
            tokio::time::timeout(Duration::from_millis(100), head.wait_for(|h| *h > after)).await;
    }
}
