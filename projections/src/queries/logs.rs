//! Usage logs: pages and per-day counts, found in the log index by position and read from the
//! event log itself.
//!
//! Pages are keyset cursors on position (newest first), so page 1000 costs what page 1 costs.
//! A time range is turned into a position range once (recorded times never decrease along
//! positions), and every query then walks one `(scope, position)` index range.

use annals_domain::{DomainEvent, codec};
use annals_store::{EventStore, RecordedEvent};
use uuid::Uuid;

use crate::params;
use crate::sql::{DbError, DbResult, ReadDb, SqlValue};

/// Whose log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogScope {
    Namespace(Uuid),
    Repository(Uuid),
    /// What a user did, and what happened in the user's own namespace.
    User(Uuid),
    /// Everything (a superuser's view).
    All,
}

/// A query over the log: `[start, end)` in microseconds since the epoch, optionally one performer.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub scope: LogScope,
    pub start_micros: i64,
    pub end_micros: i64,
    pub performer: Option<String>,
}

/// One log entry: its kind, and the event as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub kind: String,
    pub recorded: RecordedEvent,
    pub event: DomainEvent,
}

/// A page of entries, newest first, and the position to continue below (None: last page).
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    pub next_before: Option<u64>,
}

/// The positions `[lo, hi]` that the time range covers, or None when it covers none.
async fn position_range(db: &dyn ReadDb, start: i64, end: i64) -> DbResult<Option<(i64, i64)>> {
    // Walk the (recorded_at, position) index from each end of the window: two index probes,
    // however long the log.
    let lo = db
        .query(
            "SELECT position AS p FROM log_index WHERE recorded_at >= $1 ORDER BY recorded_at, position LIMIT 1",
            params![start],
        )
        .await?;
    let hi = db
        .query(
            "SELECT position AS p FROM log_index WHERE recorded_at < $1
             ORDER BY recorded_at DESC, position DESC LIMIT 1",
            params![end],
        )
        .await?;
    let lo = lo.first().map(|r| r.i64("p")).transpose()?;
    let hi = hi.first().map(|r| r.i64("p")).transpose()?;
    Ok(match (lo, hi) {
        (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
        _ => None,
    })
}

/// The condition on `$1` that selects the scope's entries, and the value bound to it.
fn scope_column(scope: LogScope) -> (&'static str, Uuid) {
    match scope {
        LogScope::Namespace(id) => ("namespace_id = $1", id),
        LogScope::Repository(id) => ("repository_id = $1", id),
        LogScope::User(id) => ("performer_id = $1", id),
        // Always true; `$1` is still bound.
        LogScope::All => ("CAST($1 AS TEXT) IS NOT NULL", Uuid::nil()),
    }
}

/// Up to `limit` entries of `query` with position < `before` (None: from the newest).
pub async fn page(
    db: &dyn ReadDb,
    store: &dyn EventStore,
    query: &LogQuery,
    before: Option<u64>,
    limit: usize,
) -> DbResult<LogPage> {
    let Some((lo, mut hi)) = position_range(db, query.start_micros, query.end_micros).await? else {
        return Ok(LogPage {
            entries: vec![],
            next_before: None,
        });
    };
    if let Some(before) = before {
        hi = hi.min(before as i64 - 1);
    }
    let fetch = limit as i64 + 1;
    let performer: SqlValue = query.performer.clone().into();
    let (column, id) = scope_column(query.scope);
    let select = |column: &str| {
        format!(
            "SELECT position, kind FROM log_index
             WHERE {column} AND position BETWEEN $2 AND $3 AND (CAST($4 AS TEXT) IS NULL OR performer = $4)
             ORDER BY position DESC LIMIT $5"
        )
    };
    let sql = match query.scope {
        // Two index ranges merged: what the user did anywhere, and anything in their namespace.
        LogScope::User(_) => format!(
            "SELECT position, kind FROM ({}) AS performed UNION SELECT position, kind FROM ({}) AS owned
             ORDER BY position DESC LIMIT $5",
            select("performer_id = $1"),
            select("namespace_id = $1")
        ),
        _ => select(column),
    };
    let rows = db
        .query(
            &sql,
            vec![id.into(), lo.into(), hi.into(), performer, fetch.into()],
        )
        .await?;
    let mut index = Vec::with_capacity(rows.len());
    for row in &rows {
        index.push((row.i64("position")? as u64, row.string("kind")?));
    }
    let more = index.len() > limit;
    index.truncate(limit);
    let positions: Vec<u64> = index.iter().map(|(p, _)| *p).collect();
    let mut recorded = store
        .read_positions(&positions)
        .await
        .map_err(DbError::backend)?;
    recorded.sort_by_key(|e| std::cmp::Reverse(e.position));
    let mut entries = Vec::with_capacity(recorded.len());
    for (recorded, (_, kind)) in recorded.into_iter().zip(index.iter()) {
        let event = codec::decode(&recorded.event_type, &recorded.data)
            .map_err(|e| DbError::Decode(e.to_string()))?;
        entries.push(LogEntry {
            kind: kind.clone(),
            recorded,
            event,
        });
    }
    let next_before = if more {
        positions.last().copied()
    } else {
        None
    };
    Ok(LogPage {
        entries,
        next_before,
    })
}

/// Entries per kind per day (`day` counts days since the epoch, UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct KindCount {
    pub kind: String,
    pub day: i64,
    pub count: i64,
}

pub async fn aggregate(db: &dyn ReadDb, query: &LogQuery) -> DbResult<Vec<KindCount>> {
    let Some((lo, hi)) = position_range(db, query.start_micros, query.end_micros).await? else {
        return Ok(vec![]);
    };
    let performer: SqlValue = query.performer.clone().into();
    let (column, id) = scope_column(query.scope);
    let filter = |column: &str| {
        format!(
            "{column} AND position BETWEEN $2 AND $3 AND (CAST($4 AS TEXT) IS NULL OR performer = $4)"
        )
    };
    let sql = match query.scope {
        LogScope::User(_) => format!(
            "SELECT kind, day, COUNT(*) AS n FROM log_index
             WHERE ({}) OR ({}) GROUP BY kind, day ORDER BY day, kind",
            filter("performer_id = $1"),
            filter("namespace_id = $1")
        ),
        _ => format!(
            "SELECT kind, day, COUNT(*) AS n FROM log_index WHERE {} GROUP BY kind, day ORDER BY day, kind",
            filter(column)
        ),
    };
    let rows = db
        .query(&sql, vec![id.into(), lo.into(), hi.into(), performer])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(KindCount {
                kind: r.string("kind")?,
                day: r.i64("day")?,
                count: r.i64("n")?,
            })
        })
        .collect()
}
