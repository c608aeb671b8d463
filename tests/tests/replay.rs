//! `annals replay` rebuilds the read models from the log into a fresh generation; the rebuilt
//! models answer exactly what the live ones did, and a running server switches to them.

use std::time::Duration;

use annals_tests::{Backend, Server, json, on_both_backends};
use serde_json::Value;

on_both_backends! {
    replay_equals_live => replay_equals_live;
}

async fn snapshot(server: &Server) -> Vec<Value> {
    let mut out = Vec::new();
    // A fixed window: the default one ends "now", which moves between snapshots.
    let today = chrono::Utc::now().date_naive();
    let window = format!(
        "starttime={}&endtime={}",
        (today - chrono::Days::new(1)).format("%m/%d/%Y"),
        (today + chrono::Days::new(1)).format("%m/%d/%Y")
    );
    for path in [
        "/api/v1/organization/acme",
        "/api/v1/organization/beta",
        "/api/v1/repository?namespace=acme",
        "/api/v1/repository?namespace=beta",
        "/api/v1/repository?public=true",
        "/api/v1/repository/acme/web",
        "/api/v1/repository/acme/api",
        "/api/v1/repository/acme/web/logs",
        "/api/v1/organization/acme/logs",
        "/api/v1/organization/beta/aggregatelogs",
        "/api/v1/user/logs",
    ] {
        let path = if path.contains("logs") {
            format!("{path}?{window}")
        } else {
            path.to_owned()
        };
        let (status, body) = server.get(&path).await;
        out.push(json!({"path": path, "status": status.as_u16(), "body": body}));
    }
    out
}

async fn replay_equals_live(backend: Backend) {
    let mut server = Server::start(backend).await;
    server
        .post(
            "/api/v1/organization/",
            json!({"name": "acme", "email": "a@acme.io"}),
        )
        .await;
    server
        .post("/api/v1/organization/", json!({"name": "beta"}))
        .await;
    server
        .post("/api/v1/organization/", json!({"name": "gone"}))
        .await;
    for (ns, name, vis) in [
        ("acme", "web", "public"),
        ("acme", "api", "private"),
        ("beta", "x", "public"),
        ("gone", "y", "public"),
    ] {
        let (status, _) = server
            .post(
                "/api/v1/repository",
                json!({"namespace": ns, "repository": name, "visibility": vis}),
            )
            .await;
        assert_eq!(status, 201);
    }
    server
        .put("/api/v1/repository/acme/web", json!({"description": "d"}))
        .await;
    server
        .put(
            "/api/v1/repository/acme/api/changestate",
            json!({"state": "MIRROR"}),
        )
        .await;
    server.delete("/api/v1/repository/beta/x").await;
    server.delete("/api/v1/organization/gone").await;
    server
        .put("/api/v1/organization/acme", json!({"tag_expiration_s": 60}))
        .await;

    let live = snapshot(&server).await;

    // Rebuild while the server runs; it switches to the new generation within seconds.
    let output = server
        .command(&["replay", "--quiet"])
        .output()
        .expect("run annals replay");
    assert!(
        output.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(report.contains("into read-model generation 2"), "{report}");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        snapshot(&server).await,
        live,
        "a running server serves the rebuilt generation"
    );

    // After a restart the promoted generation serves, with the same answers.
    server.restart().await;
    assert_eq!(snapshot(&server).await, live);

    // A second replay works too (generation 3) and the server keeps answering the same.
    let output = server
        .command(&["replay", "--quiet"])
        .output()
        .expect("run annals replay");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    server.restart().await;
    assert_eq!(snapshot(&server).await, live);

    // New writes after the replay are projected as usual.
    let (status, _) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "beta", "repository": "z", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(server.get("/api/v1/repository/beta/z").await.0, 200);
}
