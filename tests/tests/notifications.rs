//! Quay's repository notifications, black-box: the six routes with their log kinds and Quay's
//! 400s (no event appended), who may call them, and the delivery worker against real receivers
//! on loopback — a webhook and a Slack-shaped receiver (axum), an SMTP server (Python's
//! aiosmtpd) — each push delivered once, a failing endpoint counted, disabled at Quay's limit
//! and reset, the test route, a `quay_notification`, and a restart that delivers nothing twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use annals_tests::oci::Image;
use annals_tests::smtp::Smtp;
use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use axum::http::StatusCode;
use reqwest::Method;
use serde_json::Value;

on_both_backends! {
    routes_life_cycle_with_log_kinds => routes_life_cycle_with_log_kinds;
    bad_input_is_refused_with_no_event => bad_input_is_refused_with_no_event;
    only_repository_admins_may_call => only_repository_admins_may_call;
    webhook_and_slack_get_each_push_once_across_a_restart => webhook_and_slack_get_each_push_once_across_a_restart;
    a_failing_endpoint_is_counted_disabled_and_reset => a_failing_endpoint_is_counted_disabled_and_reset;
    the_test_route_delivers_once_and_quay_notifications_are_recorded => the_test_route_delivers_once_and_quay_notifications_are_recorded;
    an_email_notification_arrives_once => an_email_notification_arrives_once;
    a_quota_warning_notifies_the_repository_pushed_to => a_quota_warning_notifies_the_repository_pushed_to;
}

/// Loopback receivers are allowed (Quay's default list blocks `localhost` and `127.0.0.1`).
const OPEN: (&str, &str) = ("ANNALS_NOTIFICATION_BLOCKED_HOSTS", "blocked.invalid");
const FAST: (&str, &str) = ("ANNALS_NOTIFICATION_BACKOFF_MS", "50");

const BASE: &str = "/api/v1/repository/acme/web/notification/";

async fn setup(server: &Server) {
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
}

async fn create(server: &Server, body: Value) -> String {
    let (s, b) = server.post(BASE, body).await;
    assert_eq!(s, 201, "{b}");
    b["uuid"].as_str().unwrap().to_owned()
}

fn webhook(url: &str) -> Value {
    json!({"event": "repo_push", "method": "webhook", "config": {"url": url}, "eventConfig": {}, "title": "hook"})
}

/// What a receiver got: each request's path and JSON body.
#[derive(Clone, Default)]
struct Received {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    failing: Arc<AtomicBool>,
}

impl Received {
    fn at(&self, path: &str) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

/// An HTTP receiver on loopback: any POST is recorded, answered 500 while `failing` (only on
/// `/failing`), 200 otherwise. Answers its base URL.
async fn receiver(received: Received) -> String {
    let app = axum::Router::new().fallback(
        |axum::extract::State(r): axum::extract::State<Received>,
         uri: axum::http::Uri,
         body: axum::body::Bytes| async move {
            let path = uri.path().to_owned();
            let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            r.requests.lock().unwrap().push((path.clone(), value));
            if path == "/failing" && r.failing.load(Ordering::SeqCst) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        },
    );
    let app = app.with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// Waits until `check` holds (the worker runs on its own), failing after a generous bound.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn events_of(server: &Server, event_type: &str) -> Vec<Value> {
    server
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == event_type)
        .map(|e| e.data)
        .collect()
}

async fn push(server: &Server, tag: &str) {
    server
        .push_image("acme/web", tag, &Image::new(tag, 1, 64))
        .await;
}

fn tags_of(bodies: &[Value], tag: &str) -> usize {
    bodies
        .iter()
        .filter(|b| b["updated_tags"] == json!([tag]))
        .count()
}

async fn routes_life_cycle_with_log_kinds(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let (s, b) = server.get(BASE).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b, json!({"notifications": []}));

    let (s, made) = server
        .post(
            BASE,
            json!({"event": "build_success", "method": "webhook",
                   "config": {"url": "https://ci.example.com/hook", "template": "{\"r\": \"${repository}\"}"},
                   "eventConfig": {"ref-regex": "refs/heads/.*"}, "title": "CI"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let uuid = made["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        made,
        json!({"uuid": uuid, "title": "CI", "event": "build_success", "method": "webhook",
               "config": {"url": "https://ci.example.com/hook", "template": "{\"r\": \"${repository}\"}"},
               "event_config": {"ref-regex": "refs/heads/.*"}, "number_of_failures": 0})
    );
    // Every accepted event and method (Quay's `vulnerability_found` level, a user target).
    for (event, method, config, event_config) in [
        (
            "repo_push",
            "slack",
            json!({"url": "https://hooks.slack.com/x"}),
            json!({}),
        ),
        (
            "vulnerability_found",
            "email",
            json!({"email": "sec@acme.io"}),
            json!({"level": 1}),
        ),
        (
            "quota_warning",
            "quay_notification",
            json!({"target": {"kind": "user", "name": "admin"}}),
            json!({}),
        ),
        (
            "repo_mirror_sync_failed",
            "quay_notification",
            json!({"target": {"kind": "org", "name": "acme"}}),
            json!({}),
        ),
        (
            "build_cancelled",
            "quay_notification",
            json!({"target": {"kind": "team", "name": "owners"}}),
            json!({}),
        ),
    ] {
        let (s, b) = server
            .post(BASE, json!({"event": event, "method": method, "config": config, "eventConfig": event_config}))
            .await;
        assert_eq!(s, 201, "{event} {method}: {b}");
        assert_eq!(b["title"], Value::Null);
    }
    let (s, list) = server.get(BASE).await;
    assert_eq!(s, 200);
    assert_eq!(list["notifications"].as_array().unwrap().len(), 6, "{list}");
    assert_eq!(list["notifications"][0], made);

    let one = format!("{BASE}{uuid}");
    let (s, got) = server.get(&one).await;
    assert_eq!((s, &got), (StatusCode::OK, &made));
    let (s, b) = server.post(&one, json!({})).await;
    assert_eq!(s, 204, "reset: {b}");
    let (s, b) = server.delete(&one).await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = server.get(&one).await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, b) = server.delete(&one).await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(
        b["error_message"],
        format!("No repository notification found for: acme, web, {uuid}")
    );
    let (s, b) = server.post(&format!("{one}/test"), json!({})).await;
    assert_quay_error(s, &b, 400, "invalid_request");
    let (s, b) = server.post(&one, json!({})).await;
    assert_quay_error(s, &b, 400, "invalid_request");
    let (s, b) = server.get(&format!("{BASE}not-a-uuid")).await;
    assert_quay_error(s, &b, 404, "not_found");

    // The log names each change with Quay's kind and metadata.
    let (s, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    assert_eq!(s, 200, "{logs}");
    let entries = logs["logs"].as_array().unwrap();
    for kind in [
        "add_repo_notification",
        "reset_repo_notification",
        "delete_repo_notification",
    ] {
        let entry = entries
            .iter()
            .find(|e| e["kind"] == kind && e["metadata"]["notification_id"] == uuid.as_str())
            .unwrap_or_else(|| panic!("no {kind} in {logs}"));
        // Quay's `event` is Annals' event reference in every entry: the name moves aside.
        assert_eq!(entry["metadata"]["notification_event"], "build_success");
        assert_eq!(
            entry["metadata"]["event"]["type"]
                .as_str()
                .unwrap()
                .split('.')
                .next(),
            Some("repository_notification")
        );
        assert_eq!(entry["metadata"]["method"], "webhook");
        assert_eq!(entry["metadata"]["repo"], "web");
        assert_eq!(entry["metadata"]["namespace"], "acme");
    }
    // A deleted repository takes its notifications with it.
    let (s, _) = server.delete("/api/v1/repository/acme/web").await;
    assert_eq!(s, 204);
    setup_repo_again(&server).await;
    let (s, list) = server.get(BASE).await;
    assert_eq!(s, 200);
    assert_eq!(list, json!({"notifications": []}));
}

async fn setup_repo_again(server: &Server) {
    let (s, b) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private", "description": ""}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

async fn bad_input_is_refused_with_no_event(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"event": "repo_pull", "method": "webhook", "config": {"url": "https://x.io"}, "eventConfig": {}}),
            "Invalid event 'repo_pull'",
        ),
        (
            json!({"event": "repo_push", "method": "pager", "config": {}, "eventConfig": {}}),
            "Unknown notification method 'pager'",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {}, "eventConfig": {}}),
            "Missing webhook URL",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "ftp://x.io/h"}, "eventConfig": {}}),
            "Invalid webhook URL",
        ),
        // Quay's default blocked hosts.
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "http://localhost:8080/h"}, "eventConfig": {}}),
            "Invalid webhook URL",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "http://127.0.0.1/h"}, "eventConfig": {}}),
            "Invalid webhook URL",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "https://x.io", "template": "{not json"}, "eventConfig": {}}),
            "Could not parse template",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "https://x.io", "template": "{\"a\": \"${}\"}"}, "eventConfig": {}}),
            "Empty expression found",
        ),
        (
            json!({"event": "repo_push", "method": "slack", "config": {}, "eventConfig": {}}),
            "Missing Slack Callback URL",
        ),
        (
            json!({"event": "repo_push", "method": "email", "config": {}, "eventConfig": {}}),
            "Missing e-mail address",
        ),
        (
            json!({"event": "repo_push", "method": "email", "config": {"email": "not an address"}, "eventConfig": {}}),
            "email",
        ),
        (
            json!({"event": "repo_push", "method": "quay_notification", "config": {}, "eventConfig": {}}),
            "Missing target",
        ),
        (
            json!({"event": "repo_push", "method": "quay_notification", "config": {"target": {"kind": "user", "name": "nobody"}}, "eventConfig": {}}),
            "Unknown user nobody",
        ),
        (
            json!({"event": "repo_push", "method": "quay_notification", "config": {"target": {"kind": "team", "name": "ghosts"}}, "eventConfig": {}}),
            "Unknown team ghosts",
        ),
        (
            json!({"event": "repo_push", "method": "quay_notification", "config": {"target": {"kind": "org", "name": "admin"}}, "eventConfig": {}}),
            "Unknown organization admin",
        ),
        (
            json!({"event": "build_start", "method": "webhook", "config": {"url": "https://x.io"}, "eventConfig": {"ref-regex": "(["}}),
            "ref-regex",
        ),
        (
            json!({"event": "vulnerability_found", "method": "webhook", "config": {"url": "https://x.io"}, "eventConfig": {"level": 7}}),
            "level",
        ),
        (
            json!({"event": "vulnerability_found", "method": "webhook", "config": {"url": "https://x.io"}, "eventConfig": {"level": -1}}),
            "level",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "https://x.io"}, "eventConfig": []}),
            "eventConfig must be an object",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": "https://x.io", "eventConfig": {}}),
            "config must be an object",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "https://x.io"}}),
            "eventConfig",
        ),
        (
            json!({"event": "repo_push", "method": "webhook", "config": {"url": "https://x.io"}, "eventConfig": {}, "title": "x".repeat(300)}),
            "title",
        ),
        (
            json!({"event": 7, "method": "webhook", "config": {}, "eventConfig": {}}),
            "event",
        ),
    ];
    let before = server.event_count().await;
    for (body, message) in cases {
        let (s, b) = server.post(BASE, body.clone()).await;
        assert_quay_error(s, &b, 400, "invalid_request");
        assert!(
            b["error_message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{body}: {b}"
        );
    }
    let (s, b) = server.send_raw(Method::POST, BASE, "{\"event\": ").await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(server.event_count().await, before, "no event for bad input");
    // An unknown repository.
    let (s, b) = server
        .post(
            "/api/v1/repository/acme/nope/notification/",
            webhook("https://x.io"),
        )
        .await;
    assert_quay_error(s, &b, 404, "not_found");
    assert_eq!(server.event_count().await, before);
}

async fn only_repository_admins_may_call(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let uuid = create(&server, webhook("https://x.io/h")).await;
    let bob = server
        .user_token("acme", "bob", "repo:read repo:write repo:admin user:read")
        .await;
    // Bob may write to the repository, not administer it.
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/permissions/user/bob",
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let before = server.event_count().await;
    let one = format!("{BASE}{uuid}");
    let test = format!("{one}/test");
    for (method, path, body) in [
        (Method::GET, BASE, None),
        (Method::POST, BASE, Some(webhook("https://x.io/h"))),
        (Method::GET, one.as_str(), None),
        (Method::DELETE, one.as_str(), None),
        (Method::POST, one.as_str(), Some(json!({}))),
        (Method::POST, test.as_str(), Some(json!({}))),
    ] {
        let (s, b) = server.request(method.clone(), path, body, Some(&bob)).await;
        assert_eq!(s, 403, "{method} {path}: {b}");
    }
    let changes = server
        .events()
        .await
        .into_iter()
        .skip(before as usize)
        .filter(|e| e.event_type.starts_with("repository_notification."))
        .count();
    assert_eq!(changes, 0, "a refusal changes nothing");
    // As an administrator of the repository, bob may.
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/permissions/user/bob",
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = server.request(Method::GET, BASE, None, Some(&bob)).await;
    assert_eq!(s, 200, "{b}");
}

async fn webhook_and_slack_get_each_push_once_across_a_restart(backend: Backend) {
    let mut server = Server::start_with(backend, &[OPEN]).await;
    setup(&server).await;
    let received = Received::default();
    let base = receiver(received.clone()).await;
    create(&server, webhook(&format!("{base}/hook"))).await;
    create(
        &server,
        json!({"event": "repo_push", "method": "slack", "config": {"url": format!("{base}/slack")}, "eventConfig": {}}),
    )
    .await;
    create(
        &server,
        json!({"event": "repo_push", "method": "webhook", "eventConfig": {},
               "config": {"url": format!("{base}/templated"),
                          "template": "{\"repo\": \"${repository}\", \"tags\": \"${updated_tags}\", \"text\": \"pushed ${updated_tags[0]} to ${name}\"}"}}),
    )
    .await;
    // A notification of another event never fires on a push.
    create(
        &server,
        json!({"event": "build_success", "method": "webhook", "config": {"url": format!("{base}/build")}, "eventConfig": {}}),
    )
    .await;

    push(&server, "v1").await;
    eventually("the v1 deliveries", async || {
        received.at("/hook").len() == 1
            && received.at("/slack").len() == 1
            && received.at("/templated").len() == 1
    })
    .await;
    let hook = &received.at("/hook")[0];
    let registry_host = server.registry.trim_start_matches("http://");
    assert_eq!(hook["repository"], "acme/web");
    assert_eq!(hook["namespace"], "acme");
    assert_eq!(hook["name"], "web");
    assert_eq!(hook["updated_tags"], json!(["v1"]));
    assert_eq!(hook["docker_url"], format!("{registry_host}/acme/web"));
    assert!(
        hook["homepage"]
            .as_str()
            .unwrap()
            .ends_with("/repository/acme/web"),
        "{hook}"
    );
    let slack = &received.at("/slack")[0];
    assert_eq!(slack["text"], "Repository acme/web updated");
    assert_eq!(slack["username"], "quayiobot");
    assert_eq!(slack["attachments"][0]["color"], "good");
    assert_eq!(
        slack["attachments"][0]["fallback"],
        "Repository acme/web updated"
    );
    assert!(
        slack["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .contains("*v1*"),
        "{slack}"
    );
    assert_eq!(
        received.at("/templated")[0],
        json!({"repo": "acme/web", "tags": ["v1"], "text": "pushed v1 to web"})
    );

    // A restart delivers nothing again; the next push is delivered once.
    eventually("the v1 outcomes", async || {
        events_of(&server, "repository_notification.delivered.v1")
            .await
            .len()
            == 3
    })
    .await;
    server.restart().await;
    push(&server, "v2").await;
    eventually("the v2 deliveries", async || {
        tags_of(&received.at("/hook"), "v2") == 1
            && tags_of(&received.at("/slack"), "v2") == 0
            && received.at("/slack").len() == 2
            && received.at("/templated").len() == 2
    })
    .await;
    // The worker handles events in log order: v2 arrived, so any repeat of v1 would have too.
    assert_eq!(tags_of(&received.at("/hook"), "v1"), 1);
    assert_eq!(received.at("/hook").len(), 2);
    assert!(received.at("/build").is_empty());
    eventually("the v2 outcomes", async || {
        events_of(&server, "repository_notification.delivered.v1")
            .await
            .len()
            == 6
    })
    .await;
    let delivered = events_of(&server, "repository_notification.delivered.v1").await;
    let mut pairs: Vec<(String, String)> = delivered
        .iter()
        .map(|d| {
            (
                d["notification_id"].to_string(),
                d["source_event_id"].to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 6, "one delivery per notification and push");
}

async fn a_failing_endpoint_is_counted_disabled_and_reset(backend: Backend) {
    let server = Server::start_with(backend, &[OPEN, FAST]).await;
    setup(&server).await;
    let received = Received::default();
    received.failing.store(true, Ordering::SeqCst);
    let base = receiver(received.clone()).await;
    let failing = create(&server, webhook(&format!("{base}/failing"))).await;
    let one = format!("{BASE}{failing}");

    push(&server, "v1").await;
    eventually("three failures", async || {
        server.get(&one).await.1["number_of_failures"] == 3
    })
    .await;
    let failed = events_of(&server, "repository_notification.failed.v1").await;
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert_eq!(
        failed
            .iter()
            .map(|f| f["number_of_failures"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(failed[2]["disabled"], true);
    assert_eq!(failed[1]["disabled"], false);
    assert!(
        failed[0]["error"].as_str().unwrap().contains("500"),
        "{failed:?}"
    );

    // Disabled: the next push passes it by (a healthy notification shows the push was handled).
    create(&server, webhook(&format!("{base}/ok"))).await;
    push(&server, "v2").await;
    eventually("the healthy delivery", async || {
        tags_of(&received.at("/ok"), "v2") == 1
    })
    .await;
    assert_eq!(
        received.at("/failing").len(),
        3,
        "no attempt while disabled"
    );

    // Reset: enabled again, and the next push is delivered.
    let (s, b) = server.post(&one, json!({})).await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(server.get(&one).await.1["number_of_failures"], 0);
    received.failing.store(false, Ordering::SeqCst);
    push(&server, "v3").await;
    eventually("the delivery after the reset", async || {
        tags_of(&received.at("/failing"), "v3") == 1 && tags_of(&received.at("/ok"), "v3") == 1
    })
    .await;
    assert_eq!(tags_of(&received.at("/failing"), "v2"), 0);
    assert_eq!(server.get(&one).await.1["number_of_failures"], 0);
    let (_, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"reset_repo_notification"), "{kinds:?}");
    assert!(kinds.contains(&"repo_notification_failed"), "{kinds:?}");
}

async fn the_test_route_delivers_once_and_quay_notifications_are_recorded(backend: Backend) {
    let server = Server::start_with(backend, &[OPEN]).await;
    setup(&server).await;
    let received = Received::default();
    let base = receiver(received.clone()).await;
    let uuid = create(&server, webhook(&format!("{base}/hook"))).await;
    let (s, b) = server.post(&format!("{BASE}{uuid}/test"), json!({})).await;
    assert_eq!((s, &b), (StatusCode::OK, &json!({})));
    eventually("the test delivery", async || {
        received.at("/hook").len() == 1
    })
    .await;
    let sample = &received.at("/hook")[0];
    assert_eq!(sample["updated_tags"], json!(["latest", "foo"]));
    assert_eq!(sample["pruned_image_count"], 3);
    assert_eq!(sample["repository"], "acme/web");

    let note = create(
        &server,
        json!({"event": "repo_push", "method": "quay_notification", "config": {"target": {"kind": "user", "name": "admin"}}, "eventConfig": {}}),
    )
    .await;
    push(&server, "v1").await;
    eventually("the push deliveries", async || {
        tags_of(&received.at("/hook"), "v1") == 1
            && events_of(&server, "repository_notification.delivered.v1")
                .await
                .iter()
                .any(|d| d["notification_id"] == note.as_str())
    })
    .await;
    assert_eq!(received.at("/hook").len(), 2, "the test went out once");
    assert_eq!(
        events_of(&server, "repository_notification.test_queued.v1")
            .await
            .len(),
        1
    );
    let to_admin = events_of(&server, "repository_notification.delivered.v1")
        .await
        .into_iter()
        .find(|d| d["notification_id"] == note.as_str())
        .unwrap();
    assert_eq!(to_admin["recipients"], json!(["admin"]));
    assert_eq!(to_admin["method"], "quay_notification");
}

async fn an_email_notification_arrives_once(backend: Backend) {
    let Some(smtp) = Smtp::start().await else {
        eprintln!("aiosmtpd is not installed (pip install aiosmtpd): skipping the e-mail test");
        return;
    };
    let url = smtp.url();
    let server = Server::start_with(
        backend,
        &[
            OPEN,
            ("ANNALS_SMTP_URL", url.as_str()),
            ("ANNALS_SMTP_FROM", "Annals <annals@example.com>"),
        ],
    )
    .await;
    setup(&server).await;
    let uuid = create(
        &server,
        json!({"event": "repo_push", "method": "email", "config": {"email": "ops@acme.io"}, "eventConfig": {}}),
    )
    .await;
    push(&server, "v1").await;
    eventually("the first mail", async || smtp.mails().len() == 1).await;
    let mail = &smtp.mails()[0];
    assert!(mail.contains("To: ops@acme.io"), "{mail}");
    assert!(mail.contains("annals@example.com"), "{mail}");
    assert!(
        mail.contains("Subject: Repository acme/web updated"),
        "{mail}"
    );
    assert!(mail.contains("v1"), "{mail}");
    push(&server, "v2").await;
    eventually("the second mail", async || smtp.mails().len() == 2).await;
    eventually("both outcomes", async || {
        events_of(&server, "repository_notification.delivered.v1")
            .await
            .iter()
            .filter(|d| d["notification_id"] == uuid.as_str())
            .count()
            == 2
    })
    .await;
    assert_eq!(smtp.mails().len(), 2, "each push once");
}

/// A push that takes the namespace's usage to a quota's `Warning` limit notifies the
/// repository's `quota_warning` notifications once, with the quota's figures; the pushes
/// below and above the line notify nothing more.
async fn a_quota_warning_notifies_the_repository_pushed_to(backend: Backend) {
    let server = Server::start_with(backend, &[OPEN]).await;
    setup(&server).await;
    let received = Received::default();
    let url = receiver(received.clone()).await;
    create(
        &server,
        json!({"event": "quota_warning", "method": "webhook",
               "config": {"url": format!("{url}/quota")}, "eventConfig": {}, "title": "quota"}),
    )
    .await;
    let (first, second) = (
        Image::new("first", 1, 4_000),
        Image::new("second", 1, 4_000),
    );
    let bytes = |i: &Image| i.blobs().iter().map(|b| b.len() as u64).sum::<u64>();
    let limit = (bytes(&first) + bytes(&second)) * 3 / 2;
    let (s, b) = server
        .post(
            "/api/v1/organization/acme/quota",
            json!({"limit_bytes": limit}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = server
        .post(
            "/api/v1/organization/acme/quota/1/limit",
            json!({"type": "Warning", "threshold_percent": 50}),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    server.push_image("acme/web", "first", &first).await;
    server.push_image("acme/web", "second", &second).await;
    eventually("the quota warning's delivery", async || {
        !events_of(&server, "repository_notification.delivered.v1")
            .await
            .is_empty()
    })
    .await;
    server
        .push_image("acme/web", "third", &Image::new("third", 1, 10))
        .await;
    // The worker goes through the log in order: once the test queued after the third push has
    // arrived, a warning the third push caused would have arrived before it.
    let (s, _) = server
        .post(
            &format!("{BASE}{}/test", {
                let (_, list) = server.get(BASE).await;
                list["notifications"][0]["uuid"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    eventually("the test delivery", async || {
        received.at("/quota").len() >= 2
    })
    .await;
    let bodies = received.at("/quota");
    assert_eq!(bodies.len(), 2, "one warning, one test: {bodies:?}");
    let warning = &bodies[0];
    assert_eq!(warning["namespace"], "acme", "{warning}");
    assert_eq!(warning["threshold_percent"], 50, "{warning}");
    assert_eq!(warning["limit_bytes"], limit, "{warning}");
    assert_eq!(
        warning["usage_bytes"],
        bytes(&first) + bytes(&second),
        "{warning}"
    );
}
