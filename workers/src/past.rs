//! The past: read models of a few streams as they stood at a global position, for time-travel
//! reads (`as_of`). The streams' events up to that position are applied, in position order, by
//! the same projectors as the live read models into a scratch database in memory, so a past
//! answer has exactly the live route's shape and comes from the events, never from old rows.

use std::sync::Arc;

use annals_projections::sql::sqlite::SqliteReadDb;
use annals_projections::sql::{DbError, ReadDb};
use annals_projections::{ProjectionWatch, Projector, migrate_all};
use annals_store::{EventFilter, EventStore, RecordedEvent, StoreError};
use chrono::{DateTime, Utc};

use crate::runner::ProjectionRunner;

const PAGE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum PastError {
    #[error("the resource has more than {0} events up to that point")]
    TooMuchHistory(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a scratch read model is built from.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Whole streams (up to the position).
    pub streams: Vec<String>,
    /// Every stream whose name starts with one of these (a family's plugins, say).
    pub prefixes: Vec<String>,
}

/// The read models of `sources` as they stood after the event at `position`; at most
/// `max_events` events are folded.
pub async fn read_models_at(
    store: Arc<dyn EventStore>,
    projectors: Vec<Arc<dyn Projector>>,
    sources: &Sources,
    position: u64,
    max_events: usize,
) -> Result<Arc<dyn ReadDb>, PastError> {
    let mut events = Vec::new();
    let mut streams = sources.streams.clone();
    streams.sort();
    streams.dedup();
    for stream in &streams {
        read_stream_until(store.as_ref(), stream, position, max_events, &mut events).await?;
    }
    if !sources.prefixes.is_empty() {
        let filter = EventFilter {
            stream_prefixes: sources.prefixes.clone(),
            event_types: Vec::new(),
        };
        let mut after = 0;
        'pages: loop {
            let page = store.read_all(after, PAGE, &filter).await?;
            let full = page.len() == PAGE;
            for recorded in page {
                if recorded.position > position {
                    break 'pages;
                }
                after = recorded.position;
                if !streams.contains(&recorded.stream) {
                    push_bounded(&mut events, recorded, max_events)?;
                }
            }
            if !full {
                break;
            }
        }
    }
    events.sort_by_key(|e| e.position);
    let db = Arc::new(SqliteReadDb::in_memory()?);
    migrate_all(db.as_ref(), &projectors).await?;
    let runner = ProjectionRunner::new(store, projectors, ProjectionWatch::default());
    for page in chunks(events, PAGE) {
        runner.apply_fresh(db.as_ref(), page).await?;
    }
    Ok(db)
}

async fn read_stream_until(
    store: &dyn EventStore,
    stream: &str,
    position: u64,
    max_events: usize,
    out: &mut Vec<RecordedEvent>,
) -> Result<(), PastError> {
    let mut from = 0;
    loop {
        let page = store.read_stream(stream, from, PAGE).await?;
        let full = page.len() == PAGE;
        for recorded in page {
            if recorded.position > position {
                return Ok(());
            }
            from = recorded.version + 1;
            push_bounded(out, recorded, max_events)?;
        }
        if !full {
            return Ok(());
        }
    }
}

fn push_bounded(
    out: &mut Vec<RecordedEvent>,
    recorded: RecordedEvent,
    max_events: usize,
) -> Result<(), PastError> {
    if out.len() >= max_events {
        return Err(PastError::TooMuchHistory(max_events));
    }
    out.push(recorded);
    Ok(())
}

fn chunks(events: Vec<RecordedEvent>, size: usize) -> Vec<Vec<RecordedEvent>> {
    let mut out = Vec::new();
    let mut iter = events.into_iter().peekable();
    while iter.peek().is_some() {
        out.push(iter.by_ref().take(size).collect());
    }
    out
}

/// The position of the last event recorded at or before `time` (0 when none was). Recorded
/// times never decrease along positions, so this is a binary search over `[1, head]`.
pub async fn position_at(store: &dyn EventStore, time: DateTime<Utc>) -> Result<u64, StoreError> {
    let target = time.timestamp_micros();
    let (mut low, mut high) = (0u64, store.head().await?);
    // Invariant: the event at `low` (if any) was recorded at or before `time`; every event
    // after `high` was recorded after it.
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        let at = store.read_positions(&[mid]).await?;
        let recorded = at
            .first()
            .map(|e| e.recorded_at.timestamp_micros())
            .ok_or_else(|| StoreError::Backend(format!("no event at position {mid}")))?;
        if recorded <= target {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(low)
}
