//! The mirror worker against a real upstream (Debian's `docker-registry` on loopback): matching
//! tags appear after a sync, unchanged ones are not copied again, tags gone upstream are deleted
//! as in Quay, a cancel stops a sync midway, an unreachable or blocked upstream and wrong
//! credentials are a failed sync, and a worker killed with SIGKILL mid-sync resumes it without
//! doing anything twice.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use annals_tests::oci::Image;
use annals_tests::upstream_registry::UpstreamRegistry;
use annals_tests::{Backend, Server, StoredEvent, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    a_mirror_follows_its_upstream => follows_upstream;
    an_unreachable_upstream_is_a_failed_sync => unreachable_upstream;
    a_blocked_upstream_is_a_failed_sync => blocked_upstream;
    a_cancel_stops_a_sync_midway => cancel_midway;
    a_killed_worker_resumes_its_sync_without_doing_anything_twice => killed_worker;
    wrong_upstream_credentials_are_a_failed_sync => wrong_credentials;
}

const MIRROR: &str = "/api/v1/repository/acme/web/mirror";
const DEADLINE: Duration = Duration::from_secs(120);
/// Loopback upstreams allowed, and a quick poll.
const ENV: [(&str, &str); 2] = [
    ("ANNALS_UPSTREAM_BLOCKED_HOSTS", ""),
    ("ANNALS_MIRROR_POLL_S", "1"),
];

/// `acme`, its repository `acme/web` and robot `acme+mirror`, and a mirror of `reference`
/// taking the tags `globs` match, due now.
async fn setup(server: &Server, reference: &str, globs: &[&str]) {
    setup_repository(server).await;
    create_mirror(server, reference, globs).await;
}

async fn setup_repository(server: &Server) {
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private", "description": ""}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = server
        .put("/api/v1/organization/acme/robots/mirror", json!({}))
        .await;
    assert_eq!(s, 201, "{b}");
}

async fn create_mirror(server: &Server, reference: &str, globs: &[&str]) {
    let (s, b) = server
        .post(
            MIRROR,
            json!({
                "is_enabled": true,
                "external_reference": reference,
                "external_registry_config": {"verify_tls": false},
                "sync_interval": 86400,
                "sync_start_date": "2020-01-01T00:00:00Z",
                "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": globs},
                "robot_username": "acme+mirror"
            }),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

/// Events of `event_type`, in order.
async fn events_of(server: &Server, event_type: &str) -> Vec<StoredEvent> {
    server
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

/// Waits until `n` syncs have finished; answers the last one's event.
async fn finished(server: &Server, n: usize) -> StoredEvent {
    let started = Instant::now();
    loop {
        let done = events_of(server, "repository.mirror_sync_finished.v1").await;
        if done.len() >= n {
            return done[n - 1].clone();
        }
        assert!(started.elapsed() < DEADLINE, "sync {n} never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A sync that failed, saying `why`.
fn assert_failed(end: &StoredEvent, why: &str) {
    assert_eq!(end.data["outcome"], "failed", "{:?}", end.data);
    let message = end.data["message"].as_str().unwrap_or_default();
    assert!(message.contains(why), "{why} in {:?}", end.data);
}

/// The repository's live tags and their digests, through Quay's tag route.
async fn local_tags(server: &Server) -> BTreeMap<String, String> {
    let (s, b) = server
        .get("/api/v1/repository/acme/web/tag/?onlyActiveTags=true&limit=100")
        .await;
    assert_eq!(s, 200, "{b}");
    b["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["manifest_digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn mirror_status(server: &Server) -> Value {
    let (s, m) = server.get(MIRROR).await;
    assert_eq!(s, 200, "{m}");
    m
}

async fn follows_upstream(backend: Backend) {
    let Some(upstream) = UpstreamRegistry::start().await else {
        return;
    };
    let v1 = Image::new("mirror-v1", 2, 2048);
    let v2 = Image::new("mirror-v2", 1, 1024);
    let other = Image::new("mirror-other", 1, 512);
    upstream.push_image("library/web", "v1", &v1).await;
    upstream.push_image("library/web", "v2", &v2).await;
    upstream.push_image("library/web", "other", &other).await;

    let server = Server::start_with(backend, &ENV).await;
    setup_repository(&server).await;
    // The repository's notifications of its syncs.
    for event in ["repo_mirror_sync_started", "repo_mirror_sync_success"] {
        let (s, b) = server
            .post(
                "/api/v1/repository/acme/web/notification/",
                json!({"event": event, "method": "quay_notification", "eventConfig": {},
                       "config": {"target": {"kind": "user", "name": "admin"}}}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    create_mirror(
        &server,
        &format!("{}/library/web", upstream.host()),
        &["v*"],
    )
    .await;
    let first = finished(&server, 1).await;
    let failures = events_of(&server, "repository.mirror_tag_sync_failed.v1").await;
    assert_eq!(
        first.data["outcome"], "success",
        "{:?} {failures:?}",
        first.data
    );
    assert_eq!(first.data["tags_synced"], 2);

    // The matching tags, and only they, with the upstream's digests; the content pulls.
    let tags = local_tags(&server).await;
    assert_eq!(
        tags,
        BTreeMap::from([
            ("v1".to_owned(), v1.digest.clone()),
            ("v2".to_owned(), v2.digest.clone())
        ])
    );
    let (s, digest, bytes) = server.pull_manifest("acme/web", "v1").await;
    assert_eq!(
        (s, digest.as_deref()),
        (StatusCode::OK, Some(v1.digest.as_str()))
    );
    assert_eq!(bytes, v1.manifest);
    for blob in v1.blobs() {
        let digest = annals_tests::oci::sha256(blob);
        let response = server
            .registry_request(Method::GET, &format!("/v2/acme/web/blobs/{digest}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap(), blob);
    }
    // Pushed as the mirror's robot.
    let pushes = events_of(&server, "repository.manifest_pushed.v1").await;
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert!(
        pushes
            .iter()
            .all(|e| e.metadata["actor"]["name"] == "acme+mirror")
    );
    let m = mirror_status(&server).await;
    assert_eq!(m["sync_status"], "SUCCESS", "{m}");
    assert_ne!(
        m["sync_start_date"], "2020-01-01T00:00:00Z",
        "the schedule moved on"
    );

    // Upstream: v3 arrives, v1 goes. A sync asked for follows, and leaves v2 alone.
    let v3 = Image::new("mirror-v3", 1, 256);
    upstream.push_image("library/web", "v3", &v3).await;
    upstream.delete_manifest("library/web", &v1.digest).await;
    let (s, b) = server
        .request(Method::POST, &format!("{MIRROR}/sync-now"), None, None)
        .await;
    assert_eq!(s, 204, "{b}");
    let second = finished(&server, 2).await;
    assert_eq!(
        (
            &second.data["outcome"],
            &second.data["tags_synced"],
            &second.data["tags_deleted"]
        ),
        (&json!("success"), &json!(2), &json!(1)),
        "{:?}",
        second.data
    );
    assert_eq!(
        local_tags(&server).await,
        BTreeMap::from([
            ("v2".to_owned(), v2.digest.clone()),
            ("v3".to_owned(), v3.digest.clone())
        ])
    );
    let synced: Vec<String> = events_of(&server, "repository.mirror_tag_synced.v1")
        .await
        .iter()
        .map(|e| e.data["tag"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        synced,
        ["v1", "v2", "v2", "v3"],
        "every matching tag, each sync"
    );
    let pushes = events_of(&server, "repository.manifest_pushed.v1").await;
    assert_eq!(pushes.len(), 3, "v2 was not copied again: {pushes:?}");

    // Each sync's start and success notified once.
    let started = Instant::now();
    loop {
        let delivered = events_of(&server, "repository_notification.delivered.v1").await;
        if delivered.len() >= 4 {
            assert_eq!(delivered.len(), 4, "{delivered:?}");
            break;
        }
        assert!(started.elapsed() < DEADLINE, "notified: {delivered:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Quay's log kinds.
    let (s, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    assert_eq!(s, 200, "{logs}");
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "repo_mirror_sync_started",
        "repo_mirror_sync_tag_success",
        "repo_mirror_sync_success",
        "delete_tag",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

async fn unreachable_upstream(backend: Backend) {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start_with(backend, &ENV).await;
    setup(&server, &format!("127.0.0.1:{port}/library/web"), &["*"]).await;
    let first = finished(&server, 1).await;
    assert_failed(&first, "unreachable");
    // Retried at once until Quay's three retries are spent, then left for the interval.
    let third = finished(&server, 3).await;
    assert_eq!(third.data["retries_remaining"], 3, "{:?}", third.data);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        events_of(&server, "repository.mirror_sync_finished.v1")
            .await
            .len(),
        3
    );
    let m = mirror_status(&server).await;
    assert_eq!(m["sync_status"], "FAIL", "{m}");
    let (s, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    assert_eq!(s, 200);
    assert!(logs.to_string().contains("repo_mirror_sync_failed"));
    // Still serving.
    let (s, _) = server.get("/api/v1/repository/acme/web").await;
    assert_eq!(s, 200);
}

async fn blocked_upstream(backend: Backend) {
    let Some(upstream) = UpstreamRegistry::start().await else {
        return;
    };
    upstream
        .push_image("library/web", "v1", &Image::new("blocked", 1, 64))
        .await;
    // The default blocked hosts: loopback is refused.
    let server = Server::start_with(backend, &[("ANNALS_MIRROR_POLL_S", "1")]).await;
    setup(&server, &format!("{}/library/web", upstream.host()), &["*"]).await;
    let first = finished(&server, 1).await;
    assert_failed(&first, "not allowed");
    assert!(
        events_of(&server, "repository.manifest_pushed.v1")
            .await
            .is_empty()
    );
}

async fn cancel_midway(backend: Backend) {
    let Some(upstream) = UpstreamRegistry::start().await else {
        return;
    };
    const TAGS: usize = 40;
    for i in 0..TAGS {
        let image = Image::new(&format!("cancel-{i}"), 1, 64 * 1024);
        upstream
            .push_image("library/web", &format!("t{i:02}"), &image)
            .await;
    }
    let server = Server::start_with(backend, &ENV).await;
    setup(
        &server,
        &format!("{}/library/web", upstream.host()),
        &["t*"],
    )
    .await;
    let started = Instant::now();
    while events_of(&server, "repository.mirror_tag_synced.v1")
        .await
        .is_empty()
    {
        assert!(started.elapsed() < DEADLINE, "no tag synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (s, b) = server
        .request(Method::POST, &format!("{MIRROR}/sync-cancel"), None, None)
        .await;
    assert_eq!(s, 204, "{b}");
    let end = finished(&server, 1).await;
    assert_eq!(end.data["outcome"], "cancelled", "{:?}", end.data);
    let synced = events_of(&server, "repository.mirror_tag_synced.v1")
        .await
        .len();
    assert!(synced < TAGS, "the cancel stopped nothing ({synced} tags)");
    assert_eq!(local_tags(&server).await.len(), synced);
    let m = mirror_status(&server).await;
    assert_eq!(m["sync_status"], "CANCEL", "{m}");
    // A cancelled mirror waits to be asked again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        events_of(&server, "repository.mirror_sync_started.v1")
            .await
            .len(),
        1
    );
}

async fn killed_worker(backend: Backend) {
    let Some(upstream) = UpstreamRegistry::start().await else {
        return;
    };
    const TAGS: usize = 30;
    for i in 0..TAGS {
        let image = Image::new(&format!("crash-{i}"), 1, 64 * 1024);
        upstream
            .push_image("library/web", &format!("t{i:02}"), &image)
            .await;
    }
    let mut server = Server::start_with(backend, &ENV).await;
    setup(
        &server,
        &format!("{}/library/web", upstream.host()),
        &["t*"],
    )
    .await;
    let started = Instant::now();
    while events_of(&server, "repository.mirror_tag_synced.v1")
        .await
        .len()
        < 3
    {
        assert!(started.elapsed() < DEADLINE, "no tag synced");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();
    server.restart().await;
    let end = finished(&server, 1).await;
    assert_eq!(end.data["outcome"], "success", "{:?}", end.data);

    let events = server.events().await;
    let count = |t: &str| events.iter().filter(|e| e.event_type == t).count();
    assert_eq!(
        count("repository.mirror_sync_started.v1"),
        1,
        "one sync, resumed"
    );
    assert_eq!(count("repository.mirror_tag_synced.v1"), TAGS);
    assert_eq!(
        count("repository.manifest_pushed.v1"),
        TAGS,
        "no push twice"
    );
    // Each blob recorded once (config and layer of every image).
    assert_eq!(count("repository.blob_uploaded.v1"), 2 * TAGS);
    assert_eq!(local_tags(&server).await.len(), TAGS);
}

async fn set_password(server: &Server, password: &str) {
    let body =
        json!({"external_registry_username": "puller", "external_registry_password": password});
    let (s, b) = server.put(MIRROR, body).await;
    assert_eq!(s, 201, "{b}");
}

async fn wrong_credentials(backend: Backend) {
    let Some(upstream) = UpstreamRegistry::start_with_auth("puller", "right-password").await else {
        return;
    };
    upstream
        .push_image("library/web", "v1", &Image::new("auth-v1", 1, 128))
        .await;
    let server = Server::start_with(backend, &ENV).await;
    setup(&server, &format!("{}/library/web", upstream.host()), &["*"]).await;
    // Wrong credentials first: a failed sync naming them, nothing pushed.
    set_password(&server, "wrong-password").await;
    let first = finished(&server, 1).await;
    assert_failed(&first, "refused the credentials");
    assert!(
        events_of(&server, "repository.manifest_pushed.v1")
            .await
            .is_empty()
    );
    // The right ones, and a sync asked for (the retries may be spent): it copies.
    set_password(&server, "right-password").await;
    let started = Instant::now();
    loop {
        let done = events_of(&server, "repository.mirror_sync_finished.v1").await;
        if done.iter().any(|e| e.data["outcome"] == "success") {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "never synced: {done:?}");
        // Refused (404) while a sync runs; asked again until one follows.
        server
            .request(Method::POST, &format!("{MIRROR}/sync-now"), None, None)
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(local_tags(&server).await.len(), 1);
}
