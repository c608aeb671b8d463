mod common;
use annals_store::postgres::PostgresEventStore;
use annals_store::sqlite::SqliteEventStore;
use annals_store::{EventStore, ExpectedVersion, conformance::event};
use std::sync::Arc;
use std::time::Instant;

async fn bench(name: &str, store: Arc<dyn EventStore>) {
    let t = Instant::now();
    for i in 0..200 {
        store
            .append("seq", ExpectedVersion::Any, vec![event(i)])
            .await
            .unwrap();
    }
    println!("{name} sequential: {:?}/append", t.elapsed() / 200);
    let t = Instant::now();
    let mut tasks = vec![];
    for w in 0..32 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                s.append(&format!("c-{w}"), ExpectedVersion::Any, vec![event(i)])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "{name} 32 concurrent: {:.0} appends/s",
        3200.0 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..200 {
        store.stream_version("seq").await.unwrap();
    }
    println!("{name} stream_version: {:?}", t.elapsed() / 200);
    let t = Instant::now();
    for _ in 0..200 {
        store.read_all(100, 100, &Default::default()).await.unwrap();
    }
    println!("{name} read_all 100: {:?}", t.elapsed() / 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zz_bench() {
    let (name, url) = common::create_database().await;
    bench(
        "pg",
        Arc::new(PostgresEventStore::connect(&url).await.unwrap()),
    )
    .await;
    common::drop_database(&name).await;
    let dir = tempfile::tempdir().unwrap();
    bench(
        "sqlite",
        Arc::new(
            SqliteEventStore::open(dir.path().join("e.db"))
                .await
                .unwrap(),
        ),
    )
    .await;
}
