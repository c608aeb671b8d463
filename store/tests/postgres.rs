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
