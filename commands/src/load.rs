//! Loading an aggregate: fold its stream and remember the version, which becomes the expected
//! version of the append.

use annals_domain::{Aggregate, DomainEvent, codec};
use annals_store::{EventStore, ExpectedVersion, StoreError, StoreResult};

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

pub async fn load<A: Aggregate>(store: &dyn EventStore, stream: String) -> StoreResult<Loaded<A>> {
    let mut state = A::default();
    let mut version = None;
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
            return Ok(Loaded {
                stream,
                state,
                version,
            });
        }
    }
}
