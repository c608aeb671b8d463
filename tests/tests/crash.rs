//! A server killed with SIGKILL in the middle of a burst of writes restarts with every
//! acknowledged write present, and its read models agree with the log.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use annals_tests::{Backend, Server, json, on_both_backends};
use tokio::sync::Mutex;

on_both_backends! {
    killed_during_a_burst_loses_no_acknowledged_write => killed_during_a_burst;
}

async fn killed_during_a_burst(backend: Backend) {
    let mut server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "burst"}))
            .await
            .0,
        201
    );
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, url, token, acknowledged) = (
            client.clone(),
            server.url("/api/v1/repository"),
            server.token.clone(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("w{w}-{i}");
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(
                        &json!({"namespace": "burst", "repository": name, "visibility": "private"}),
                    )
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        acknowledged.lock().await.insert(name);
                    }
                    Ok(r) => panic!("unexpected answer {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Let the burst run, then kill the server in the middle of it.
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if acknowledged.lock().await.len() >= 150 {
            break;
        }
    }
    server.kill();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(acknowledged.len() >= 150);

    server.restart().await;
    let mut listed = BTreeSet::new();
    let mut path = "/api/v1/repository?namespace=burst".to_owned();
    loop {
        let (status, page) = server.get(&path).await;
        assert_eq!(status, 200);
        listed.extend(
            page["repositories"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_owned()),
        );
        match page["next_page"].as_str() {
            Some(t) => path = format!("/api/v1/repository?namespace=burst&next_page={t}"),
            None => break,
        }
    }
    let missing: Vec<_> = acknowledged.difference(&listed).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");

    // The read models agree with the log: every repository in the log is listed, and each
    // create is in the usage log exactly once.
    let events = server.event_count().await;
    // Per repository: reservation, creation and the creator's admin permission; plus the org
    // (reservation, creation, its owners team and the creator in it) and the bootstrap (3).
    assert_eq!(
        events as usize,
        3 + 4 + 3 * listed.len(),
        "listed repositories match the log"
    );
    let mut creates = 0;
    let mut path = "/api/v1/organization/burst/logs".to_owned();
    loop {
        let page = server.get(&path).await.1;
        creates += page["logs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "create_repo")
            .count();
        match page["next_page"].as_str() {
            Some(t) => path = format!("/api/v1/organization/burst/logs?next_page={t}"),
            None => break,
        }
    }
    assert_eq!(creates, listed.len());
    // And the server keeps working.
    assert_eq!(
        server
            .post(
                "/api/v1/repository",
                json!({"namespace": "burst", "repository": "after", "visibility": "public"})
            )
            .await
            .0,
        201
    );
}
