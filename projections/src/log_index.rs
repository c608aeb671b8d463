//! The log index: one small row per loggable event, pointing at its position in the event log.
//! Usage-log queries find positions here and read the entries themselves from the event store,
//! so the log has exactly one copy of its content.

use crate::recorded::Recorded;
use annals_domain::DomainEvent;
use annals_domain::log_kind::log_kind;

use crate::params;
use crate::projector::Projector;
use crate::sql::Stmt;

pub struct LogIndex;

/// Microseconds in a day: `day` buckets events for aggregate counts.
pub const DAY_MICROS: i64 = 86_400_000_000;

const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS log_index (
        position BIGINT PRIMARY KEY,
        kind TEXT NOT NULL,
        recorded_at BIGINT NOT NULL,
        day BIGINT NOT NULL,
        namespace_id TEXT,
        repository_id TEXT,
        performer_id TEXT,
        performer TEXT
    )"];

/// Every one serves the log queries; the projector only inserts by position.
const QUERY_INDEXES: &[&str] = &[
    // recorded_at never decreases along positions, so a time bound maps onto a position bound.
    "CREATE INDEX IF NOT EXISTS log_by_time ON log_index (recorded_at, position)",
    "CREATE INDEX IF NOT EXISTS log_by_namespace ON log_index (namespace_id, position)",
    "CREATE INDEX IF NOT EXISTS log_by_repository ON log_index (repository_id, position)",
    "CREATE INDEX IF NOT EXISTS log_by_performer ON log_index (performer_id, position)",
];

impl Projector for LogIndex {
    fn name(&self) -> &'static str {
        "log_index"
    }

    fn schema(&self) -> &'static [&'static str] {
        SCHEMA
    }

    fn tables(&self) -> &'static [(&'static str, &'static str)] {
        &[("log_index", "position")]
    }

    fn query_indexes(&self) -> &'static [&'static str] {
        QUERY_INDEXES
    }

    fn project(&self, recorded: &Recorded, event: &DomainEvent, out: &mut Vec<Stmt>) {
        let Some(kind) = log_kind(event) else { return };
        let meta = &recorded.meta;
        let actor = meta.actor.as_ref();
        let at = recorded.recorded_at.timestamp_micros();
        out.push(Stmt::new(
            "INSERT INTO log_index
               (position, kind, recorded_at, day, namespace_id, repository_id, performer_id, performer)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (position) DO NOTHING",
            params![
                recorded.position,
                kind,
                at,
                at.div_euclid(DAY_MICROS),
                meta.namespace_id.clone(),
                meta.repository_id.clone(),
                actor.and_then(|a| a.id.clone()),
                actor.map(|a| a.name.clone())
            ],
        ));
    }
}
