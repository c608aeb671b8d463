//! Append throughput through the `EventStore`, beside a raw batched INSERT of the same rows into
//! the same database: the ratio is what the store's guarantees (expected-version checks,
//! idempotency, ordering, durability) cost.

use std::sync::Arc;
use std::time::Instant;

use annals_store::{AppendBatch, EventStore, ExpectedVersion, NewEvent, StreamAppend};
use serde_json::json;
use uuid::Uuid;

use super::Target;
use super::table::Table;
use crate::backends;

/// Rows per raw INSERT transaction.
const RAW_BATCH: usize = 1000;

fn new_event(i: u64) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: "bench.appended.v1".into(),
        data: json!({"i": i, "payload": "x".repeat(64)}),
        metadata: json!({"actor": {"kind": "user", "name": "bench"}, "client_ip": "127.0.0.1"}),
    }
}

pub async fn measure(postgres: Option<&str>, events: u64, table: &mut Table) -> anyhow::Result<()> {
    for (writers, per_append) in [(1usize, 1usize), (16, 1), (1, 100), (16, 100)] {
        let target = Target::create(postgres).await?;
        let backends = backends::open(&target.storage()).await?;
        let store: Arc<dyn EventStore> = backends.store;
        // Fewer events when every append is a durable commit of its own.
        let total = if per_append == 1 && writers == 1 {
            events / 10
        } else {
            events
        };
        let started = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let store = store.clone();
            let share = total / writers as u64;
            tasks.push(tokio::spawn(async move {
                let stream = format!("bench-{w}");
                let mut version: Option<u64> = None;
                let mut i = 0u64;
                while i < share {
                    let n = (per_append as u64).min(share - i);
                    let events: Vec<NewEvent> = (i..i + n).map(new_event).collect();
                    let append = StreamAppend {
                        stream: stream.clone(),
                        expected: ExpectedVersion::from_current(version),
                        events,
                    };
                    let done = store
                        .append_batch(AppendBatch {
                            command_id: Some(Uuid::now_v7()),
                            appends: vec![append],
                        })
                        .await?;
                    version = done.events.last().map(|e| e.version);
                    i += n;
                }
                anyhow::Ok(share)
            }));
        }
        let mut appended = 0;
        for task in tasks {
            appended += task.await??;
        }
        let store_rate = appended as f64 / started.elapsed().as_secs_f64();
        drop(store);
        let raw_rate = raw_insert(&target, appended).await?;
        table.row(vec![
            target.label().into(),
            writers.to_string(),
            per_append.to_string(),
            format!("{store_rate:.0}"),
            format!("{raw_rate:.0}"),
            format!("{:.2}", store_rate / raw_rate),
        ]);
        target.drop().await?;
    }
    Ok(())
}

/// position, id, stream, version, event_type, data, metadata, recorded_at
type RawRow = (i64, String, String, i64, String, String, String, i64);

/// Inserts `count` rows shaped like stored events into a plain table of the same database,
/// `RAW_BATCH` rows per durable transaction, and answers rows per second.
async fn raw_insert(target: &Target, count: u64) -> anyhow::Result<f64> {
    let rows: Vec<RawRow> = (0..count)
        .map(|i| {
            let e = new_event(i);
            (
                i as i64 + 1,
                e.id.to_string(),
                "raw".to_string(),
                i as i64,
                e.event_type,
                e.data.to_string(),
                e.metadata.to_string(),
                0,
            )
        })
        .collect();
    match target {
        Target::Embedded(dir) => {
            let path = dir.path().join("events.db");
            tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
                let mut conn = rusqlite::Connection::open(path)?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "FULL")?;
                conn.execute_batch(
                    "CREATE TABLE raw_events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL,
                       version INTEGER NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL,
                       recorded_at INTEGER NOT NULL, UNIQUE (stream, version))",
                )?;
                let started = Instant::now();
                for chunk in rows.chunks(RAW_BATCH) {
                    let tx = conn.transaction()?;
                    {
                        let mut insert = tx.prepare_cached("INSERT INTO raw_events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
                        for r in chunk {
                            insert.execute(rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7])?;
                        }
                    }
                    tx.commit()?;
                }
                Ok(count as f64 / started.elapsed().as_secs_f64())
            })
            .await?
        }
        Target::Postgres { url, .. } => {
            let client = super::connect(url).await?;
            client
                .batch_execute("CREATE TABLE raw_events (LIKE annals_events INCLUDING ALL)")
                .await?;
            // Cast each text column to whatever type the store's table uses for it.
            let types = client
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns
                     WHERE table_name = 'raw_events' ORDER BY ordinal_position",
                    &[],
                )
                .await?;
            let columns: Vec<(String, String)> =
                types.iter().map(|r| (r.get(0), r.get(1))).collect();
            let source = [
                "position",
                "id",
                "stream",
                "version",
                "event_type",
                "data",
                "metadata",
                "recorded_at",
            ];
            let mut names = Vec::new();
            let mut exprs = Vec::new();
            for (i, name) in source.iter().enumerate() {
                let Some((_, ty)) = columns.iter().find(|(c, _)| c == name) else {
                    continue;
                };
                names.push(name.to_string());
                exprs.push(match (i, ty.as_str()) {
                    (7, t) if t.starts_with("timestamp") => format!("to_timestamp(u.c{})", i + 1),
                    _ => format!("u.c{}::{ty}", i + 1),
                });
            }
            let sql = format!(
                "INSERT INTO raw_events ({}) SELECT {} FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[])
                 AS u(c1, c2, c3, c4, c5, c6, c7, c8)",
                names.join(", "),
                exprs.join(", ")
            );
            let insert = client.prepare(&sql).await?;
            let started = Instant::now();
            for chunk in rows.chunks(RAW_BATCH) {
                let c1: Vec<i64> = chunk.iter().map(|r| r.0).collect();
                let c2: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
                let c3: Vec<&str> = chunk.iter().map(|r| r.2.as_str()).collect();
                let c4: Vec<i64> = chunk.iter().map(|r| r.3).collect();
                let c5: Vec<&str> = chunk.iter().map(|r| r.4.as_str()).collect();
                let c6: Vec<&str> = chunk.iter().map(|r| r.5.as_str()).collect();
                let c7: Vec<&str> = chunk.iter().map(|r| r.6.as_str()).collect();
                let c8: Vec<i64> = chunk.iter().map(|r| r.7).collect();
                client
                    .execute(&insert, &[&c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8])
                    .await?;
            }
            Ok(count as f64 / started.elapsed().as_secs_f64())
        }
    }
}
