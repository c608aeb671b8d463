//! Shared by the backend test files: fresh stores, and the kill -9 test that runs a child copy
//! of the test binary which appends until it is killed.

#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use annals_store::conformance::event;
use annals_store::{EventFilter, EventStore, ExpectedVersion};
use uuid::Uuid;

/// A fresh PostgreSQL database, dropped by `drop_database`.
pub async fn create_database() -> (String, String) {
    annals_store::testing::create_database("annals_t")
        .await
        .expect("test database")
}

pub async fn drop_database(name: &str) {
    annals_store::testing::drop_database(name)
        .await
        .expect("drop test database");
}

/// The child side of the kill test: appends from several tasks and prints `ack <id> <stream>`
/// once each append is acknowledged, until it is killed.
pub async fn append_until_killed(store: Arc<dyn EventStore>) {
    let mut tasks = Vec::new();
    for t in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let stream = format!("crash-{t}");
            let mut version = None;
            for i in 0.. {
                let events = vec![event(i), event(i)];
                let done = store
                    .append(&stream, ExpectedVersion::from_current(version), events)
                    .await
                    .expect("append");
                version = done.events.last().map(|e| e.version);
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                for e in &done.events {
                    writeln!(out, "ack {} {}", e.id, e.stream).expect("stdout");
                }
                out.flush().expect("flush");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

/// The parent side: runs the child test `child` with `env`, kills it with SIGKILL after
/// `acks` acknowledged events, and answers their ids.
pub fn run_child_and_kill(child: &str, env: (&str, &str), acks: usize) -> HashSet<Uuid> {
    let mut process = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            child,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = process.stdout.take().expect("stdout");
    let mut acknowledged = HashSet::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("ack ") {
            let id = rest.split(' ').next().expect("id");
            acknowledged.insert(Uuid::parse_str(id).expect("uuid"));
            if acknowledged.len() >= acks {
                break;
            }
        }
    }
    process.kill().expect("SIGKILL");
    process.wait().expect("wait");
    assert!(
        acknowledged.len() >= acks,
        "the child stopped before {acks} acknowledgements"
    );
    acknowledged
}

/// After the kill: every acknowledged event is there, positions and versions are dense.
pub async fn check_after_kill(store: Arc<dyn EventStore>, acknowledged: &HashSet<Uuid>) {
    let head = store.head().await.expect("head");
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .read_all(after, 1000, &EventFilter::default())
            .await
            .expect("read");
        let Some(last) = page.last() else { break };
        after = last.position;
        all.extend(page);
    }
    assert_eq!(all.len() as u64, head);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, e)| e.position == i as u64 + 1),
        "dense positions"
    );
    let stored: HashSet<Uuid> = all.iter().map(|e| e.id).collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost",
        missing.len()
    );
    for t in 0..4 {
        let stream = store
            .read_stream(&format!("crash-{t}"), 0, 1_000_000)
            .await
            .expect("stream");
        assert!(
            stream
                .iter()
                .enumerate()
                .all(|(i, e)| e.version == i as u64),
            "dense versions"
        );
    }
    // The store still takes appends after the crash.
    store
        .append("after-crash", ExpectedVersion::NoStream, vec![event(0)])
        .await
        .expect("append after reopen");
    assert_eq!(store.head().await.expect("head"), head + 1);
}
