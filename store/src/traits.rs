//! The `EventStore` trait: the contract of DESIGN.md that every backend implements and the
//! conformance suite (`conformance.rs`) checks.

use crate::error::StoreResult;
use crate::event::{
    AppendBatch, Appended, EventFilter, ExpectedVersion, NewEvent, RawRecordedEvent, RecordedEvent,
};
use async_trait::async_trait;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends every stream of the batch atomically: all expected versions are checked and all
    /// events written in one durable commit, or nothing is written and the first mismatch is
    /// answered as `StoreError::Conflict`. Acknowledged means durable.
    async fn append_batch(&self, batch: AppendBatch) -> StoreResult<Appended>;

    /// Appends to one stream.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> StoreResult<Appended> {
        self.append_batch(AppendBatch::single(stream, expected, events))
            .await
    }

    /// The first result of the batch appended under `command_id`, if one was: what a duplicate
    /// append would answer, without appending. Lets a retried command answer before deciding.
    async fn command_outcome(&self, command_id: uuid::Uuid) -> StoreResult<Option<Appended>>;

    /// Up to `limit` events of one stream with version >= `from_version`, in version order.
    async fn read_stream(
        &self,
        stream: &str,
        from_version: u64,
        limit: usize,
    ) -> StoreResult<Vec<RecordedEvent>>;

    /// The version of the stream's last event, or None when the stream does not exist.
    async fn stream_version(&self, stream: &str) -> StoreResult<Option<u64>>;

    /// Up to `limit` events with position > `after` that match `filter`, in position order.
    /// Never returns position N+1 while an event at N could still commit.
    async fn read_all(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RecordedEvent>>;

    /// [`read_all`](Self::read_all) with the data and metadata left as the stored JSON text.
    /// Backends that keep text answer it without parsing; the default parses and re-serializes.
    async fn read_all_raw(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> StoreResult<Vec<RawRecordedEvent>> {
        let events = self.read_all(after, limit, filter).await?;
        Ok(events.into_iter().map(RawRecordedEvent::from).collect())
    }

    /// The events at these positions (missing ones are left out), in position order.
    async fn read_positions(&self, positions: &[u64]) -> StoreResult<Vec<RecordedEvent>>;

    /// The position of the last committed event (0 when empty).
    async fn head(&self) -> StoreResult<u64>;

    /// How appends have been grouped into commits (for metrics).
    fn append_stats(&self) -> (u64, u64) {
        (0, 0)
    }

    /// Resolves soon after the head may have moved past `after` (or after a short poll interval;
    /// callers re-check). Lets subscriptions wake on new events without busy polling.
    async fn wait_for_new(&self, after: u64);
}
