//! Catch-up subscriptions over `$all`, built on `read_all` and `wait_for_new`, so every backend
//! gets the same delivery rule: each event once, in position order, no gaps.

use std::collections::VecDeque;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};

use crate::error::StoreResult;
use crate::event::{EventFilter, RecordedEvent};
use crate::traits::EventStore;

/// How many events one read of a subscription fetches.
const PAGE: usize = 1000;

/// Every event with position > `after`, once each, in position order, without end.
pub fn subscribe_all(
    store: Arc<dyn EventStore>,
    after: u64,
) -> BoxStream<'static, StoreResult<RecordedEvent>> {
    let filter = EventFilter::default();
    let state = (store, after, VecDeque::<RecordedEvent>::new(), filter);
    stream::unfold(state, |(store, mut after, mut buffer, filter)| async move {
        loop {
            if let Some(event) = buffer.pop_front() {
                after = event.position;
                return Some((Ok(event), (store, after, buffer, filter)));
            }
            match store.read_all(after, PAGE, &filter).await {
                Ok(page) if page.is_empty() => store.wait_for_new(after).await,
                Ok(page) => buffer.extend(page),
                Err(e) => return Some((Err(e), (store, after, buffer, filter))),
            }
        }
    })
    .boxed()
}
