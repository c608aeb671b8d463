//! The shapes that cross the store boundary: events to append, events as recorded, and the
//! expected-version rule an append is checked against.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// An event the caller wants appended. The store assigns version, position and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// UUID v7, chosen by the caller so a retried append carries the same ids.
    pub id: Uuid,
    /// Stable, versioned type name such as `repository.created.v1`.
    pub event_type: String,
    pub data: Value,
    pub metadata: Value,
}

/// An event as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub id: Uuid,
    pub stream: String,
    /// 0 for the first event of a stream.
    pub version: u64,
    /// Global position in `$all`; the first event ever appended has position 1, positions are dense.
    pub position: u64,
    pub event_type: String,
    pub data: Value,
    pub metadata: Value,
    /// Never decreases along positions (the appender clamps it), so a time range maps onto a
    /// position range.
    pub recorded_at: DateTime<Utc>,
}

/// A stored event whose data and metadata are the stored JSON text, unparsed: for readers that
/// decode it straight into their own types (replay) or canonicalize it (the ledger), so no
/// `serde_json::Value` tree is built and freed per event. Both backends store the appended text
/// (compact, keys sorted); a PostgreSQL store created before its columns were JSON answers
/// JSONB's output form (keys reordered, a space after `:` and `,`): the same JSON value, not
/// the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecordedEvent {
    pub id: Uuid,
    pub stream: String,
    pub version: u64,
    pub position: u64,
    pub event_type: String,
    pub data: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
}

impl RawRecordedEvent {
    /// The event with its JSON parsed.
    pub fn parse(self) -> serde_json::Result<RecordedEvent> {
        Ok(RecordedEvent {
            data: serde_json::from_str(&self.data)?,
            metadata: serde_json::from_str(&self.metadata)?,
            id: self.id,
            stream: self.stream,
            version: self.version,
            position: self.position,
            event_type: self.event_type,
            recorded_at: self.recorded_at,
        })
    }
}

impl From<RecordedEvent> for RawRecordedEvent {
    fn from(e: RecordedEvent) -> Self {
        RawRecordedEvent {
            data: e.data.to_string(),
            metadata: e.metadata.to_string(),
            id: e.id,
            stream: e.stream,
            version: e.version,
            position: e.position,
            event_type: e.event_type,
            recorded_at: e.recorded_at,
        }
    }
}

/// What a stream must look like for an append to go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist (any version).
    StreamExists,
    /// The stream's last event must have exactly this version.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream whose last version is `current` (None: no such stream) satisfies this.
    pub fn admits(self, current: Option<u64>) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current.is_none(),
            ExpectedVersion::StreamExists => current.is_some(),
            ExpectedVersion::Exact(v) => current == Some(v),
        }
    }

    /// The expected version that pins a stream at what was just read.
    pub fn from_current(current: Option<u64>) -> Self {
        match current {
            None => ExpectedVersion::NoStream,
            Some(v) => ExpectedVersion::Exact(v),
        }
    }
}

/// Events for one stream within an atomic batch. An empty `events` list is a guard: the append
/// only checks the stream's version, so a command can depend on a stream it does not change.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// Everything one command writes: all of it is appended, or none.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AppendBatch {
    /// Idempotency key. A batch whose command id was already appended writes nothing and
    /// answers `Appended { duplicate: true, .. }` with the events of the first append.
    pub command_id: Option<Uuid>,
    pub appends: Vec<StreamAppend>,
}

impl AppendBatch {
    /// Refuses a batch no backend can store: no stream at all, or a stream without a name.
    pub fn validate(&self) -> crate::error::StoreResult<()> {
        use crate::error::StoreError;
        if self.appends.is_empty() {
            return Err(StoreError::Invalid(
                "an append batch needs at least one stream".into(),
            ));
        }
        if let Some(a) = self.appends.iter().find(|a| a.stream.is_empty()) {
            return Err(StoreError::Invalid(format!(
                "empty stream name in batch ({} events)",
                a.events.len()
            )));
        }
        Ok(())
    }

    pub fn single(
        stream: impl Into<String>,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Self {
        AppendBatch {
            command_id: None,
            appends: vec![StreamAppend {
                stream: stream.into(),
                expected,
                events,
            }],
        }
    }
}

/// The answer to a successful append.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    /// The events as recorded, in position order (for a duplicate: those of the first append).
    pub events: Vec<RecordedEvent>,
    /// The store's head position right after this append (for a duplicate: the last position of
    /// the first append, or the head when it appended no event).
    pub position: u64,
    pub duplicate: bool,
}

/// Which events `read_all` returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    /// Keep events whose stream starts with one of these prefixes.
    pub stream_prefixes: Vec<String>,
    /// Keep events with one of these types.
    pub event_types: Vec<String>,
}

impl EventFilter {
    pub fn is_empty(&self) -> bool {
        self.stream_prefixes.is_empty() && self.event_types.is_empty()
    }

    pub fn matches(&self, event: &RecordedEvent) -> bool {
        (self.stream_prefixes.is_empty()
            || self
                .stream_prefixes
                .iter()
                .any(|p| event.stream.starts_with(p.as_str())))
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
    }
}

/// How appends were grouped into commits since the store opened: `batches / groups` is the
/// mean group size of the group commit.
#[derive(Debug, Default)]
pub struct AppendStats {
    /// Commits (groups of batches).
    pub groups: std::sync::atomic::AtomicU64,
    /// Batches (commands) committed in them.
    pub batches: std::sync::atomic::AtomicU64,
}

impl AppendStats {
    pub fn record_group(&self, batches: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.groups.fetch_add(1, Relaxed);
        self.batches.fetch_add(batches as u64, Relaxed);
    }

    /// (groups, batches) so far.
    pub fn read(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.groups.load(Relaxed), self.batches.load(Relaxed))
    }
}
