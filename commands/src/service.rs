//! The load → decide → append loop shared by every command.

use std::future::Future;
use std::sync::Arc;

use annals_domain::{Aggregate, DomainEvent, codec};
use annals_store::{
    AppendBatch, Appended, EventStore, ExpectedVersion, NewEvent, StoreError, StoreResult,
    StreamAppend,
};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::facts::{Facts, NoFacts};
use crate::load::{self, Loaded, StateCache};
use crate::metadata::{self, Scope};

/// How often a command is re-planned after a conflict before it gives up.
const MAX_ATTEMPTS: usize = 8;

/// The outcome of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// Position of the command's last event (0 when it appended none): a reader that has
    /// projected up to here sees the command's effect.
    pub position: u64,
    /// How many events the command appended.
    pub events: usize,
    /// The command id had already been appended; this is the first result, nothing new was written.
    pub duplicate: bool,
}

/// What a command decided: events per stream, each guarded by the version it was read at.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub appends: Vec<(String, ExpectedVersion, Vec<DomainEvent>)>,
    pub scope: Scope,
}

impl Plan {
    pub fn new(scope: Scope) -> Self {
        Plan {
            appends: Vec::new(),
            scope,
        }
    }

    pub fn push(
        &mut self,
        stream: &str,
        expected: ExpectedVersion,
        events: Vec<DomainEvent>,
    ) -> &mut Self {
        self.appends.push((stream.to_owned(), expected, events));
        self
    }

    fn is_noop(&self) -> bool {
        self.appends.iter().all(|(_, _, events)| events.is_empty())
    }
}

/// Executes commands against an event store.
#[derive(Clone)]
pub struct CommandService {
    store: Arc<dyn EventStore>,
    states: Arc<StateCache>,
    facts: Arc<dyn Facts>,
    on_append: Option<AppendObserver>,
}

/// Told how long each append took and how many events it carried (for metrics).
pub type AppendObserver = Arc<dyn Fn(std::time::Duration, usize) + Send + Sync>;

impl CommandService {
    /// A service that knows of no stored blob (see [`Self::with_facts`]).
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        CommandService {
            store,
            states: Arc::default(),
            facts: Arc::new(NoFacts),
            on_append: None,
        }
    }

    /// Reports every append's duration and event count to `observer`.
    pub fn with_append_observer(mut self, observer: AppendObserver) -> Self {
        self.on_append = Some(observer);
        self
    }

    /// Where pushes learn which blobs are stored and linked, and what namespaces store.
    pub fn with_facts(mut self, facts: Arc<dyn Facts>) -> Self {
        self.facts = facts;
        self
    }

    pub(crate) fn facts(&self) -> &dyn Facts {
        self.facts.as_ref()
    }

    pub fn store(&self) -> &dyn EventStore {
        self.store.as_ref()
    }

    /// Loads an aggregate (from the state cache and the events after it).
    pub(crate) async fn load<A: Aggregate>(&self, stream: String) -> StoreResult<Loaded<A>> {
        load::load(self.store(), &self.states, stream).await
    }

    /// Plans and appends, re-planning on conflict. `plan` loads what it needs from the store
    /// and decides; it runs again from scratch after a conflict, so it sees the other writer's
    /// events.
    pub(crate) async fn run<F, Fut>(
        &self,
        envelope: &Envelope,
        mut plan: F,
    ) -> Result<Done, CommandError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Plan, CommandError>>,
    {
        // A command id that was already appended answers its first result before anything is
        // decided again (deciding again would refuse, the aggregate having changed since).
        if envelope.client_chosen_id
            && let Some(first) = self.store.command_outcome(envelope.command_id).await?
        {
            same_request(envelope, &first)?;
            return Ok(Done {
                position: first.position,
                events: first.events.len(),
                duplicate: true,
            });
        }
        let mut last_conflict = String::new();
        for _ in 0..MAX_ATTEMPTS {
            let plan = plan().await?;
            if plan.is_noop() {
                return Ok(Done {
                    position: 0,
                    events: 0,
                    duplicate: false,
                });
            }
            let started = std::time::Instant::now();
            let appended = self.store.append_batch(to_batch(envelope, plan)).await;
            if let (Some(observe), Ok(a)) = (&self.on_append, &appended) {
                observe(started.elapsed(), a.events.len());
            }
            match appended {
                Ok(appended) => {
                    if appended.duplicate {
                        same_request(envelope, &appended)?;
                    }
                    return Ok(Done {
                        position: appended
                            .events
                            .last()
                            .map_or(appended.position, |e| e.position),
                        events: appended.events.len(),
                        duplicate: appended.duplicate,
                    });
                }
                Err(StoreError::Conflict { stream, .. }) => last_conflict = stream,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CommandError::Contention(last_conflict))
    }
}

/// Refuses a command id that a different request appended first. Events appended before
/// fingerprints were recorded carry none and are taken as the same request.
fn same_request(envelope: &Envelope, first: &Appended) -> Result<(), CommandError> {
    let recorded = first
        .events
        .first()
        .and_then(|e| e.metadata.get("request_fingerprint"))
        .and_then(|f| f.as_str());
    match (recorded, envelope.fingerprint.as_deref()) {
        (Some(recorded), Some(asked)) if recorded != asked => Err(CommandError::KeyReused),
        _ => Ok(()),
    }
}

fn to_batch(envelope: &Envelope, plan: Plan) -> AppendBatch {
    let metadata = metadata::build(envelope, &plan.scope);
    let appends = plan
        .appends
        .into_iter()
        .map(|(stream, expected, events)| StreamAppend {
            stream,
            expected,
            events: events
                .iter()
                .map(|event| {
                    let (event_type, data) = codec::encode(event);
                    NewEvent {
                        id: Uuid::now_v7(),
                        event_type: event_type.to_owned(),
                        data,
                        metadata: metadata.clone(),
                    }
                })
                .collect(),
        })
        .collect();
    AppendBatch {
        command_id: Some(envelope.command_id),
        appends,
    }
}
