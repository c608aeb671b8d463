//! The conformance suite and the kill -9 test on the embedded SQLite event store.

mod common;

use std::sync::Arc;

use annals_store::EventStore;
use annals_store::conformance::{self, CASES};
use annals_store::sqlite::SqliteEventStore;

async fn fresh() -> (tempfile::TempDir, Arc<dyn EventStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEventStore::open(dir.path().join("events.db"))
        .await
        .unwrap();
    (dir, Arc::new(store))
}

macro_rules! cases {
    ($($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let (_dir, store) = fresh().await;
            conformance::run(stringify!($case), store).await;
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let acknowledged = common::run_child_and_kill(
        "crash_child",
        ("ANNALS_CRASH_STORE", path.to_str().unwrap()),
        300,
    );
    let store = Arc::new(SqliteEventStore::open(&path).await.unwrap());
    common::check_after_kill(store, &acknowledged).await;
}

/// Run only as the child of `acknowledged_events_survive_kill_9`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the kill -9 test"]
async fn crash_child() {
    let Ok(path) = std::env::var("ANNALS_CRASH_STORE") else {
        return;
    };
    let store = Arc::new(SqliteEventStore::open(path).await.unwrap());
    common::append_until_killed(store).await;
}
