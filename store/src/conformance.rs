//! The conformance suite every `EventStore` backend passes. Each case takes a fresh, empty
//! store and panics on a violation; `store/tests/` runs all of them against SQLite and
//! PostgreSQL. A backend's test file runs `run(case, store)` once per name in [`CASES`] (or
//! calls the case functions directly).

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use serde_json::json;
use uuid::Uuid;

use crate::error::StoreError;
use crate::event::{AppendBatch, EventFilter, ExpectedVersion, NewEvent, StreamAppend};
use crate::subscription::subscribe_all;
use crate::traits::EventStore;

pub type Store = Arc<dyn EventStore>;

/// A new event of type `test.happened.v1` carrying `n`.
pub fn event(n: u64) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: "test.happened.v1".into(),
        data: json!({ "n": n }),
        metadata: json!({ "actor": { "kind": "system", "name": "test" } }),
    }
}

fn events(range: std::ops::Range<u64>) -> Vec<NewEvent> {
    range.map(event).collect()
}

/// Every case, by name, for backends' test files.
pub const CASES: &[&str] = &[
    "expected_versions",
    "atomic_batches",
    "guards",
    "idempotent_commands",
    "concurrent_duplicate_commands",
    "reads",
    "edge_inputs",
    "bad_input_is_refused_alone",
    "subscription_from_position",
    "concurrent_writers_and_subscriber",
];

/// Runs the named case on `store`.
pub async fn run(case: &str, store: Store) {
    match case {
        "expected_versions" => expected_versions(store).await,
        "atomic_batches" => atomic_batches(store).await,
        "guards" => guards(store).await,
        "idempotent_commands" => idempotent_commands(store).await,
        "concurrent_duplicate_commands" => concurrent_duplicate_commands(store).await,
        "reads" => reads(store).await,
        "edge_inputs" => edge_inputs(store).await,
        "bad_input_is_refused_alone" => bad_input_is_refused_alone(store).await,
        "subscription_from_position" => subscription_from_position(store).await,
        "concurrent_writers_and_subscriber" => concurrent_writers_and_subscriber(store).await,
        other => panic!("no conformance case {other}"),
    }
}

fn assert_conflict(result: Result<impl std::fmt::Debug, StoreError>, stream: &str) {
    match result {
        Err(StoreError::Conflict { stream: s, .. }) => assert_eq!(s, stream),
        other => panic!("expected a conflict on {stream}, got {other:?}"),
    }
}

pub async fn expected_versions(store: Store) {
    assert_eq!(store.stream_version("s").await.unwrap(), None);
    assert_conflict(
        store
            .append("s", ExpectedVersion::Exact(0), events(0..1))
            .await,
        "s",
    );
    assert_conflict(
        store
            .append("s", ExpectedVersion::StreamExists, events(0..1))
            .await,
        "s",
    );
    let first = store
        .append("s", ExpectedVersion::NoStream, events(0..2))
        .await
        .unwrap();
    assert_eq!(
        first
            .events
            .iter()
            .map(|e| (e.version, e.position))
            .collect::<Vec<_>>(),
        [(0, 1), (1, 2)]
    );
    assert_eq!(first.position, 2);
    assert!(!first.duplicate);
    assert_conflict(
        store
            .append("s", ExpectedVersion::NoStream, events(2..3))
            .await,
        "s",
    );
    assert_conflict(
        store
            .append("s", ExpectedVersion::Exact(0), events(2..3))
            .await,
        "s",
    );
    assert_conflict(
        store
            .append("s", ExpectedVersion::Exact(5), events(2..3))
            .await,
        "s",
    );
    store
        .append("s", ExpectedVersion::Exact(1), events(2..3))
        .await
        .unwrap();
    store
        .append("s", ExpectedVersion::StreamExists, events(3..4))
        .await
        .unwrap();
    store
        .append("s", ExpectedVersion::Any, events(4..5))
        .await
        .unwrap();
    store
        .append("t", ExpectedVersion::Any, events(0..1))
        .await
        .unwrap();
    assert_eq!(store.stream_version("s").await.unwrap(), Some(4));
    assert_eq!(store.stream_version("t").await.unwrap(), Some(0));
    // Refused appends wrote nothing: positions stay dense.
    assert_eq!(store.head().await.unwrap(), 6);
    let all = store
        .read_all(0, 100, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>()
    );
    // An empty batch is invalid.
    assert!(matches!(
        store.append_batch(AppendBatch::default()).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn atomic_batches(store: Store) {
    store
        .append("a", ExpectedVersion::NoStream, events(0..1))
        .await
        .unwrap();
    let batch = |a_expected| AppendBatch {
        command_id: None,
        appends: vec![
            StreamAppend {
                stream: "b".into(),
                expected: ExpectedVersion::NoStream,
                events: events(0..3),
            },
            StreamAppend {
                stream: "a".into(),
                expected: a_expected,
                events: events(1..2),
            },
        ],
    };
    // The second stream's conflict refuses the whole batch, including the first stream's events.
    assert_conflict(
        store.append_batch(batch(ExpectedVersion::NoStream)).await,
        "a",
    );
    assert_eq!(store.stream_version("b").await.unwrap(), None);
    assert_eq!(store.head().await.unwrap(), 1);
    let done = store
        .append_batch(batch(ExpectedVersion::Exact(0)))
        .await
        .unwrap();
    assert_eq!(done.events.len(), 4);
    assert_eq!(
        done.events.iter().map(|e| e.position).collect::<Vec<_>>(),
        [2, 3, 4, 5]
    );
    assert_eq!(store.stream_version("b").await.unwrap(), Some(2));
    assert_eq!(store.stream_version("a").await.unwrap(), Some(1));
    // Reusing an event id is refused, and refuses nothing else.
    let reused = done.events[0].id;
    let mut dup = event(9);
    dup.id = reused;
    assert!(
        store
            .append("c", ExpectedVersion::Any, vec![dup])
            .await
            .is_err()
    );
    assert_eq!(store.head().await.unwrap(), 5);
    store
        .append("c", ExpectedVersion::Any, events(0..1))
        .await
        .unwrap();
    assert_eq!(store.head().await.unwrap(), 6);
}

pub async fn guards(store: Store) {
    store
        .append("owner", ExpectedVersion::NoStream, events(0..1))
        .await
        .unwrap();
    let guarded = |expected| AppendBatch {
        command_id: None,
        appends: vec![
            StreamAppend {
                stream: "owner".into(),
                expected,
                events: vec![],
            },
            StreamAppend {
                stream: "child".into(),
                expected: ExpectedVersion::Any,
                events: events(0..1),
            },
        ],
    };
    assert_conflict(
        store.append_batch(guarded(ExpectedVersion::Exact(3))).await,
        "owner",
    );
    let done = store
        .append_batch(guarded(ExpectedVersion::Exact(0)))
        .await
        .unwrap();
    assert_eq!(done.events.len(), 1);
    // The guard appended nothing to its stream.
    assert_eq!(store.stream_version("owner").await.unwrap(), Some(0));
    assert_eq!(store.head().await.unwrap(), 2);

    // A batch of guards only appends nothing and answers the head.
    let only_guard = |expected| AppendBatch {
        command_id: Some(Uuid::now_v7()),
        appends: vec![StreamAppend {
            stream: "owner".into(),
            expected,
            events: vec![],
        }],
    };
    let done = store
        .append_batch(only_guard(ExpectedVersion::StreamExists))
        .await
        .unwrap();
    assert!(done.events.is_empty());
    assert_eq!(done.position, 2);
    assert_conflict(
        store
            .append_batch(only_guard(ExpectedVersion::NoStream))
            .await,
        "owner",
    );
    // A guard on a missing stream, as a stream of the batch written after it.
    let absent = AppendBatch {
        command_id: None,
        appends: vec![
            StreamAppend {
                stream: "later".into(),
                expected: ExpectedVersion::NoStream,
                events: vec![],
            },
            StreamAppend {
                stream: "later".into(),
                expected: ExpectedVersion::NoStream,
                events: events(0..2),
            },
            StreamAppend {
                stream: "later".into(),
                expected: ExpectedVersion::Exact(1),
                events: vec![],
            },
        ],
    };
    let done = store.append_batch(absent).await.unwrap();
    assert_eq!(
        done.events.iter().map(|e| e.version).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(store.head().await.unwrap(), 4);
}

pub async fn idempotent_commands(store: Store) {
    let id = Uuid::now_v7();
    let batch = AppendBatch {
        command_id: Some(id),
        ..AppendBatch::single("x", ExpectedVersion::NoStream, events(0..2))
    };
    assert_eq!(store.command_outcome(id).await.unwrap(), None);
    let first = store.append_batch(batch.clone()).await.unwrap();
    assert!(!first.duplicate);
    let again = store.append_batch(batch).await.unwrap();
    assert!(
        again.duplicate,
        "the same command id answers its first result"
    );
    assert_eq!(again.events, first.events);
    assert_eq!(store.head().await.unwrap(), 2, "and appends nothing");
    let outcome = store.command_outcome(id).await.unwrap().expect("recorded");
    assert_eq!(outcome.events, first.events);
    // Even a batch that would now conflict answers the first result.
    let other = AppendBatch {
        command_id: Some(id),
        ..AppendBatch::single("x", ExpectedVersion::NoStream, events(5..6))
    };
    assert_eq!(
        store.append_batch(other).await.unwrap().events,
        first.events
    );
    // A refused batch records no command id: it may be retried.
    store
        .append("y", ExpectedVersion::Any, events(0..1))
        .await
        .unwrap();
    let refused_id = Uuid::now_v7();
    let refused = AppendBatch {
        command_id: Some(refused_id),
        ..AppendBatch::single("y", ExpectedVersion::NoStream, events(0..1))
    };
    assert_conflict(store.append_batch(refused).await, "y");
    assert_eq!(store.command_outcome(refused_id).await.unwrap(), None);
}

/// The same command sent many times at once (a client retrying impatiently): exactly one append
/// writes, every other answers the same events as a duplicate, whether or not it landed in the
/// same group commit.
pub async fn concurrent_duplicate_commands(store: Store) {
    let id = Uuid::now_v7();
    let batch = AppendBatch {
        command_id: Some(id),
        appends: vec![
            StreamAppend {
                stream: "dup-a".into(),
                expected: ExpectedVersion::NoStream,
                events: events(0..2),
            },
            StreamAppend {
                stream: "dup-b".into(),
                expected: ExpectedVersion::Any,
                events: events(2..3),
            },
        ],
    };
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        let store = store.clone();
        let batch = batch.clone();
        tasks.push(tokio::spawn(async move {
            // Unrelated traffic, so the duplicates share groups with other batches.
            store
                .append(&format!("other-{i}"), ExpectedVersion::Any, vec![event(i)])
                .await
                .unwrap();
            store.append_batch(batch).await.unwrap()
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let fresh: Vec<_> = answers.iter().filter(|a| !a.duplicate).collect();
    assert_eq!(fresh.len(), 1, "exactly one append writes");
    let first = fresh[0];
    assert_eq!(first.events.len(), 3);
    for answer in &answers {
        assert_eq!(
            answer.events, first.events,
            "duplicates answer the first events"
        );
        assert_eq!(answer.position, first.position);
    }
    assert_eq!(store.read_stream("dup-a", 0, 10).await.unwrap().len(), 2);
    assert_eq!(store.read_stream("dup-b", 0, 10).await.unwrap().len(), 1);
    assert_eq!(store.head().await.unwrap(), 12 + 3);
    let outcome = store.command_outcome(id).await.unwrap().expect("recorded");
    assert_eq!(outcome.events, first.events);
    assert!(outcome.duplicate);
}

pub async fn reads(store: Store) {
    for i in 0..10u64 {
        let stream = if i % 2 == 0 { "even-1" } else { "odd-1" };
        let mut e = event(i);
        if i % 3 == 0 {
            e.event_type = "test.third.v1".into();
        }
        store
            .append(stream, ExpectedVersion::Any, vec![e])
            .await
            .unwrap();
    }
    let even = store.read_stream("even-1", 0, 100).await.unwrap();
    assert_eq!(
        even.iter()
            .map(|e| e.data["n"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 2, 4, 6, 8]
    );
    assert_eq!(
        even.iter().map(|e| e.version).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    let page = store.read_stream("even-1", 2, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.version).collect::<Vec<_>>(), [2, 3]);
    assert!(
        store
            .read_stream("nothing", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let all = store.read_all(3, 4, &EventFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    let odd = EventFilter {
        stream_prefixes: vec!["odd-".into()],
        event_types: vec![],
    };
    let got = store.read_all(0, 100, &odd).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|e| e.data["n"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 3, 5, 7, 9]
    );
    let thirds = EventFilter {
        stream_prefixes: vec![],
        event_types: vec!["test.third.v1".into()],
    };
    let got = store.read_all(0, 100, &thirds).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|e| e.data["n"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 3, 6, 9]
    );
    let both = EventFilter {
        stream_prefixes: vec!["even-".into()],
        event_types: vec!["test.third.v1".into()],
    };
    let got = store.read_all(0, 100, &both).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|e| e.data["n"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 6]
    );
    // The raw read is the same events, its text the same JSON values, for every filter.
    for filter in [
        EventFilter::default(),
        odd.clone(),
        thirds.clone(),
        both.clone(),
    ] {
        let parsed: Vec<_> = store
            .read_all_raw(1, 100, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.parse().unwrap())
            .collect();
        assert_eq!(parsed, store.read_all(1, 100, &filter).await.unwrap());
    }
    // A prefix with LIKE wildcards is matched literally.
    let literal = EventFilter {
        stream_prefixes: vec!["%".into()],
        event_types: vec![],
    };
    assert!(store.read_all(0, 100, &literal).await.unwrap().is_empty());

    let picked = store.read_positions(&[7, 2, 99]).await.unwrap();
    assert_eq!(
        picked.iter().map(|e| e.position).collect::<Vec<_>>(),
        [2, 7]
    );
    assert_eq!(store.head().await.unwrap(), 10);
    let all = store
        .read_all(0, 100, &EventFilter::default())
        .await
        .unwrap();
    assert!(
        all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at),
        "recorded_at never decreases"
    );
    assert_eq!(all[0].metadata["actor"]["name"], "test");
}

/// Bounds at the ends of the integer ranges, and empty requests: answered, never a panic or a
/// query that matches everything.
pub async fn edge_inputs(store: Store) {
    store
        .append("edge", ExpectedVersion::NoStream, events(0..3))
        .await
        .unwrap();
    let all = EventFilter::default();
    assert!(
        store
            .read_stream("edge", u64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.read_stream("edge", 0, 0).await.unwrap().is_empty());
    assert_eq!(
        store
            .read_stream("edge", 1, usize::MAX)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store.read_all(u64::MAX, 10, &all).await.unwrap().is_empty());
    assert!(store.read_all(3, 10, &all).await.unwrap().is_empty());
    assert!(store.read_all(0, 0, &all).await.unwrap().is_empty());
    assert_eq!(store.read_all(0, usize::MAX, &all).await.unwrap().len(), 3);
    assert!(store.read_positions(&[]).await.unwrap().is_empty());
    assert_eq!(
        store
            .read_positions(&[0, u64::MAX, 3, 3])
            .await
            .unwrap()
            .iter()
            .map(|e| e.position)
            .collect::<Vec<_>>(),
        [3]
    );
    assert_conflict(
        store
            .append("edge", ExpectedVersion::Exact(u64::MAX), events(3..4))
            .await,
        "edge",
    );
    assert!(matches!(
        store.append("", ExpectedVersion::Any, events(0..1)).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.head().await.unwrap(), 3);
    // wait_for_new returns (at the latest after its poll interval) even when nothing comes.
    tokio::time::timeout(std::time::Duration::from_secs(5), store.wait_for_new(3))
        .await
        .expect("wait_for_new returns");
}

/// Appends the backend cannot store (a reused event id; text some databases refuse) are answered
/// `Invalid` without failing the appends that were committed together with them. A backend may
/// also accept the text; either way positions stay dense.
pub async fn bad_input_is_refused_alone(store: Store) {
    let taken = store
        .append("bad", ExpectedVersion::NoStream, events(0..1))
        .await
        .unwrap()
        .events[0]
        .id;
    let mut reused = event(1);
    reused.id = taken;
    let mut nul_data = event(2);
    nul_data.data = json!({ "text": "a\u{0}b" });
    let mut nul_type = event(3);
    nul_type.event_type = "test.\u{0}.v1".into();
    let bad = [
        ("bad", reused, true),
        ("bad-nul-data", nul_data, false),
        ("bad-nul-type", nul_type, false),
        ("bad-nul-\u{0}-stream", event(4), false),
    ];
    let mut good = Vec::new();
    let mut refused = Vec::new();
    for round in 0..3u64 {
        for w in 0..8u64 {
            let store = store.clone();
            good.push(tokio::spawn(async move {
                store
                    .append(
                        &format!("good-{w}"),
                        ExpectedVersion::Any,
                        vec![event(round)],
                    )
                    .await
            }));
        }
        for (stream, e, must_refuse) in bad.iter().cloned() {
            let store = store.clone();
            let mut e = e;
            if !must_refuse {
                e.id = Uuid::now_v7();
            }
            refused.push((
                must_refuse,
                tokio::spawn(
                    async move { store.append(stream, ExpectedVersion::Any, vec![e]).await },
                ),
            ));
        }
    }
    for g in good {
        g.await
            .unwrap()
            .expect("a good append is not failed by a bad neighbour");
    }
    let mut accepted = 0;
    for (must_refuse, r) in refused {
        match r.await.unwrap() {
            Ok(done) => {
                assert!(!must_refuse, "a reused event id is refused");
                accepted += done.events.len() as u64;
            }
            Err(StoreError::Invalid(_)) => {}
            Err(e) => panic!("bad input answered {e:?}, not Invalid"),
        }
    }
    let head = store.head().await.unwrap();
    assert_eq!(head, 1 + 24 + accepted);
    let all = store
        .read_all(0, usize::MAX, &EventFilter::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=head).collect::<Vec<_>>()
    );
    assert_eq!(store.read_stream("bad", 0, 10).await.unwrap().len(), 1);
}

pub async fn subscription_from_position(store: Store) {
    for i in 0..5 {
        store
            .append("sub", ExpectedVersion::Any, vec![event(i)])
            .await
            .unwrap();
    }
    let mut sub = subscribe_all(store.clone(), 3);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 5..8 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                store
                    .append("sub", ExpectedVersion::Any, vec![event(i)])
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let next = tokio::time::timeout(std::time::Duration::from_secs(10), sub.next()).await;
        seen.push(
            next.expect("subscription delivers")
                .expect("open")
                .expect("ok")
                .position,
        );
    }
    writer.await.unwrap();
    assert_eq!(seen, [4, 5, 6, 7, 8]);
}

/// 16 writers append with expected versions (retrying conflicts) while a subscriber that
/// started first checks it sees every event exactly once, in dense position order.
pub async fn concurrent_writers_and_subscriber(store: Store) {
    const WRITERS: u64 = 16;
    const PER_WRITER: u64 = 200;
    let total = WRITERS * PER_WRITER;
    let subscriber = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut sub = subscribe_all(store, 0);
            let mut ids = HashSet::new();
            let mut last = 0;
            let mut last_time = None;
            while last < total {
                let event = tokio::time::timeout(std::time::Duration::from_secs(60), sub.next())
                    .await
                    .expect("events keep arriving")
                    .expect("open")
                    .expect("ok");
                assert_eq!(
                    event.position,
                    last + 1,
                    "positions arrive dense and in order"
                );
                assert!(ids.insert(event.id), "each event once");
                assert!(
                    last_time <= Some(event.recorded_at),
                    "recorded_at never decreases along positions"
                );
                last_time = Some(event.recorded_at);
                last = event.position;
            }
            ids.len() as u64
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            // Half the writers share two streams (four writers each), so they conflict and retry.
            let stream = if w % 2 == 0 {
                format!("shared-{}", w % 4)
            } else {
                format!("own-{w}")
            };
            let mut conflicts = 0u32;
            let mut written = 0;
            while written < PER_WRITER {
                let current = store.stream_version(&stream).await.unwrap();
                let expected = ExpectedVersion::from_current(current);
                match store.append(&stream, expected, vec![event(written)]).await {
                    Ok(done) => {
                        assert_eq!(done.events[0].version, current.map_or(0, |v| v + 1));
                        written += 1;
                    }
                    Err(StoreError::Conflict { .. }) => conflicts += 1,
                    Err(e) => panic!("append failed: {e}"),
                }
            }
            conflicts
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(subscriber.await.unwrap(), total);
    assert_eq!(store.head().await.unwrap(), total);
    let mut streams: Vec<(String, u64)> = vec![
        ("shared-0".into(), 4 * PER_WRITER),
        ("shared-2".into(), 4 * PER_WRITER),
    ];
    streams.extend(
        (1..WRITERS)
            .step_by(2)
            .map(|w| (format!("own-{w}"), PER_WRITER)),
    );
    for (stream, count) in streams {
        let events = store.read_stream(&stream, 0, usize::MAX).await.unwrap();
        assert_eq!(events.len() as u64, count, "{stream} holds every append");
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.version == i as u64),
            "{stream}: versions are dense"
        );
    }
}
