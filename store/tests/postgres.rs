//! The conformance suite and the kill -9 test on the PostgreSQL event store, each on a fresh
//! database. Fails (does not skip) when PostgreSQL is unreachable.

mod common;

use std::sync::Arc;

use annals_store::EventStore;
use annals_store::conformance::{self, CASES};
use annals_store::postgres::PostgresEventStore;

macro_rules! cases {
    ($($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let (name, url) = common::create_database().await;
            let store: Arc<dyn EventStore> = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
            conformance::run(stringify!($case), store).await;
            common::drop_database(&name).await;
        }
    )*

        /// Every case of the suite has a test here.
        #[test]
        fn every_conformance_case_runs() {
            assert_eq!([$(stringify!($case)),*], CASES);
        }
    };
}

cases!(
    expected_versions,
    atomic_batches,
    guards,
    idempotent_commands,
    concurrent_duplicate_commands,
    reads,
    edge_inputs,
    bad_input_is_refused_alone,
    subscription_from_position,
    concurrent_writers_and_subscriber
);

/// The event table as stores created before its JSON columns were `JSON` have it.
const JSONB_EVENTS: &str = "CREATE TABLE annals_events (
    position BIGINT PRIMARY KEY,
    id UUID NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    version BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    data JSONB NOT NULL,
    metadata JSONB NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    UNIQUE (stream, version)
)";

/// A store whose table was created with JSONB columns keeps them, and passes the whole suite:
/// its raw reads answer JSONB's output form, which parses to the same values.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_created_with_jsonb_columns_passes_the_suite() {
    for case in CASES {
        let (name, url) = common::create_database().await;
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(JSONB_EVENTS).await.unwrap();
        let store: Arc<dyn EventStore> = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
        conformance::run(case, store).await;
        let types: Vec<String> = client
            .query(
                "SELECT data_type::text FROM information_schema.columns
                 WHERE table_name = 'annals_events' AND column_name IN ('data', 'metadata')",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(types, ["jsonb", "jsonb"], "{case}");
        drop(client);
        common::drop_database(&name).await;
    }
}

/// A new store keeps its events' JSON as the text appended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_store_keeps_the_appended_json_text() {
    let (name, url) = common::create_database().await;
    let store = PostgresEventStore::connect(&url).await.unwrap();
    let mut event = conformance::event(1);
    event.data = serde_json::json!({"b": [1, 2.5, "x"], "a": {"z": null, "y": true}});
    store
        .append(
            "text",
            annals_store::ExpectedVersion::Any,
            vec![event.clone()],
        )
        .await
        .unwrap();
    let raw = store
        .read_all_raw(0, 10, &Default::default())
        .await
        .unwrap();
    assert_eq!(raw[0].data, serde_json::to_string(&event.data).unwrap());
    assert_eq!(
        raw[0].metadata,
        serde_json::to_string(&event.metadata).unwrap()
    );
    drop(store);
    common::drop_database(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_events_survive_kill_9() {
    let (name, url) = common::create_database().await;
    let acknowledged = common::run_child_and_kill("crash_child", ("ANNALS_CRASH_STORE", &url), 300);
    let store = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
    common::check_after_kill(store, &acknowledged).await;
    common::drop_database(&name).await;
}

/// Two stores (as two processes would) append concurrently; the advisory lock keeps the global
/// order dense.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_appenders_share_one_dense_order() {
    let (name, url) = common::create_database().await;
    let a: Arc<dyn EventStore> = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
    let b: Arc<dyn EventStore> = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
    let mut tasks = Vec::new();
    for (i, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for n in 0..100 {
                store
                    .append(
                        &format!("p-{i}"),
                        annals_store::ExpectedVersion::Any,
                        vec![conformance::event(n)],
                    )
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = a.read_all(0, 1000, &Default::default()).await.unwrap();
    assert_eq!(all.len(), 400);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.position == i as u64 + 1)
    );
    common::drop_database(&name).await;
}

/// Run only as the child of `acknowledged_events_survive_kill_9`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the kill -9 test"]
async fn crash_child() {
    let Ok(url) = std::env::var("ANNALS_CRASH_STORE") else {
        return;
    };
    let store = Arc::new(PostgresEventStore::connect(&url).await.unwrap());
    common::append_until_killed(store).await;
}
