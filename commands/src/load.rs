//! Loading an aggregate: fold its stream and remember the version, which becomes the expected
//! version of the append.
//!
//! States are cached by stream ([`StateCache`]), so a load reads only the events appended since
//! the last one. Events never change and streams only grow, so a state read at version `v` plus
//! the events after `v` is exactly what a full read gives; what the cache saves is reading and
//! decoding a long stream (a busy repository's) on every command.

use std::any::{Any, TypeId};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use annals_domain::{Aggregate, DomainEvent, codec};
use annals_store::{EventStore, ExpectedVersion, StoreError, StoreResult};
use lru::LruCache;

/// An aggregate's state and the version it was read at.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub stream: String,
    pub state: A,
    pub version: Option<u64>,
}

impl<A> Loaded<A> {
    pub fn expected(&self) -> ExpectedVersion {
        ExpectedVersion::from_current(self.version)
    }
}

const PAGE: usize = 512;

/// How many streams' states are kept (least recently loaded go first).
const CACHED_STREAMS: usize = 4096;

type CachedState = (Arc<dyn Any + Send + Sync>, u64);

/// Aggregate states as last read, by aggregate type and stream.
pub struct StateCache {
    states: Mutex<LruCache<(TypeId, String), CachedState>>,
}

impl Default for StateCache {
    fn default() -> Self {
        StateCache {
            states: Mutex::new(LruCache::new(
                NonZeroUsize::new(CACHED_STREAMS).expect("non-zero"),
            )),
        }
    }
}

impl StateCache {
    fn get<A: Aggregate>(&self, stream: &str) -> Option<(A, u64)> {
        let key = (TypeId::of::<A>(), stream.to_owned());
        let (state, version) = self
            .states
            .lock()
            .expect("state cache")
            .get(&key)
            .cloned()?;
        let state = state.downcast::<A>().ok()?;
        Some((A::clone(&state), version))
    }

    fn put<A: Aggregate>(&self, stream: &str, state: &A, version: u64) {
        let key = (TypeId::of::<A>(), stream.to_owned());
        let mut states = self.states.lock().expect("state cache");
        // A concurrent load may have read further; keep the newer state.
        if states
            .peek(&key)
            .is_none_or(|(_, cached)| *cached < version)
        {
            states.put(key, (Arc::new(state.clone()), version));
        }
    }
}

/// Loads the aggregate of `stream`: the cached state, if any, and the events after it.
pub async fn load<A: Aggregate>(
    store: &dyn EventStore,
    cache: &StateCache,
    stream: String,
) -> StoreResult<Loaded<A>> {
    let (mut state, mut version) = match cache.get::<A>(&stream) {
        Some((state, version)) => (state, Some(version)),
        None => (A::default(), None),
    };
    let cached = version;
    loop {
        let from = version.map_or(0, |v: u64| v + 1);
        let page = store.read_stream(&stream, from, PAGE).await?;
        let done = page.len() < PAGE;
        for recorded in &page {
            let event: DomainEvent = codec::decode(&recorded.event_type, &recorded.data)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            state = state.evolve(&event);
            version = Some(recorded.version);
        }
        if done {
            if let Some(v) = version
                && version != cached
            {
                cache.put(&stream, &state, v);
            }
            return Ok(Loaded {
                stream,
                state,
                version,
            });
        }
    }
}

/// The aggregate of `stream` as it stood after the event at global `position`: its events up to
/// there, folded with `evolve`. Reads past states, so it bypasses the cache.
pub async fn load_until<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    position: u64,
) -> StoreResult<Loaded<A>> {
    let mut state = A::default();
    let mut version = None;
    loop {
        let from = version.map_or(0, |v: u64| v + 1);
        let page = store.read_stream(stream, from, PAGE).await?;
        let done = page.len() < PAGE;
        for recorded in &page {
            if recorded.position > position {
                return Ok(Loaded {
                    stream: stream.to_owned(),
                    state,
                    version,
                });
            }
            let event: DomainEvent = codec::decode(&recorded.event_type, &recorded.data)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            state = state.evolve(&event);
            version = Some(recorded.version);
        }
        if done {
            return Ok(Loaded {
                stream: stream.to_owned(),
                state,
                version,
            });
        }
    }
}
