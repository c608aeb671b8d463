//! The event stream for consumers outside: `GET /events/v1/stream` (NDJSON and Server-Sent
//! Events, CloudEvents 1.0), webhook subscriptions delivered by the server's worker to a
//! receiver started here (signatures checked with the `standardwebhooks` crate, an
//! implementation independent of the server's), and the NATS JetStream relay read back with
//! async-nats.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use annals_tests::{Backend, Server, json, on_both_backends};
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::Value;

on_both_backends! {
    ndjson_catches_up_then_follows => ndjson_catches_up_then_follows;
    filters_and_bad_parameters => filters_and_bad_parameters;
    sse_resumes_after_last_event_id_while_writers_append => sse_resumes_after_last_event_id_while_writers_append;
    a_user_sees_only_the_namespaces_it_administers => a_user_sees_only_the_namespaces_it_administers;
    webhooks_receive_each_matching_event_once_in_order_signed => webhooks_receive_each_matching_event_once_in_order_signed;
    a_failing_webhook_is_retried_paused_and_resumed => a_failing_webhook_is_retried_paused_and_resumed;
    the_nats_relay_publishes_each_event_once_across_restarts => the_nats_relay_publishes_each_event_once_across_restarts;
}

const ALL_SCOPES: &str =
    "repo:read repo:write repo:admin repo:create user:read user:admin org:admin";

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn create_org(server: &Server, name: &str, token: Option<&str>) {
    let (s, b) = server
        .request(
            Method::POST,
            "/api/v1/organization/",
            Some(json!({"name": name})),
            token,
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
}

async fn create_repo(server: &Server, namespace: &str, name: &str, token: Option<&str>) {
    let (s, b) = server
        .request(
            Method::POST,
            "/api/v1/repository",
            Some(json!({"namespace": namespace, "repository": name, "visibility": "private", "description": ""})),
            token,
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
}

/// `GET /events/v1/stream?<query>&follow=false` as `token` (the admin's by default): every
/// line, parsed.
async fn catch_up(server: &Server, query: &str, token: Option<&str>) -> Vec<Value> {
    let response = client()
        .get(server.url(&format!("/events/v1/stream?follow=false&{query}")))
        .bearer_auth(token.unwrap_or(&server.token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-ndjson",
        "NDJSON by default"
    );
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn position(event: &Value) -> u64 {
    event["position"].as_str().unwrap().parse().unwrap()
}

/// Reads a streamed answer chunk by chunk.
struct Lines {
    response: reqwest::Response,
    buffer: String,
}

impl Lines {
    fn new(response: reqwest::Response) -> Self {
        Lines {
            response,
            buffer: String::new(),
        }
    }

    /// The next block ending with `separator` (without it), within `within`.
    async fn next_block(&mut self, separator: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(i) = self.buffer.find(separator) {
                let block = self.buffer[..i].to_owned();
                self.buffer.drain(..i + separator.len());
                return Some(block);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// The next NDJSON event (blank keep-alive lines skipped).
    async fn next_event(&mut self, within: Duration) -> Option<Value> {
        loop {
            let line = self.next_block("\n", within).await?;
            if !line.trim().is_empty() {
                return Some(serde_json::from_str(&line).unwrap());
            }
        }
    }

    /// The next SSE event: its `id` and its data (comments skipped).
    async fn next_sse(&mut self, within: Duration) -> Option<(u64, Value)> {
        loop {
            let block = self.next_block("\n\n", within).await?;
            let mut id = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().parse().unwrap());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Some(id) = id {
                return Some((id, serde_json::from_str(&data).unwrap()));
            }
        }
    }
}

async fn open_stream(server: &Server, query: &str, headers: &[(&str, &str)]) -> Lines {
    let mut req = client()
        .get(server.url(&format!("/events/v1/stream?{query}")))
        .bearer_auth(&server.token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = req.send().await.unwrap();
    assert_eq!(response.status(), 200);
    Lines::new(response)
}

async fn ndjson_catches_up_then_follows(backend: Backend) {
    let server = Server::start(backend).await;
    create_org(&server, "acme", None).await;
    create_repo(&server, "acme", "web", None).await;

    let mut stream = open_stream(&server, "from=0", &[]).await;
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e: &Value| e["type"] == "repository.created.v1")
    {
        let event = stream
            .next_event(Duration::from_secs(10))
            .await
            .expect("the catch-up reaches the repository");
        seen.push(event);
    }
    // Every event of the log so far, in order, each a CloudEvent.
    let stored = server.events().await;
    for (i, event) in seen.iter().enumerate() {
        let s = &stored[i];
        assert_eq!(position(event), s.position as u64);
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["type"], s.event_type.as_str());
        assert_eq!(event["source"], format!("/annals/{}", s.stream));
        assert_eq!(event["stream"], s.stream.as_str());
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(event["data"], s.data);
        assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
        assert!(chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap()).is_ok());
    }
    let created = seen.last().unwrap();
    assert_eq!(created["subject"], "acme/web");
    assert_eq!(created["actor"], "admin");
    assert_eq!(created["actorkind"], "user");

    // Then it follows the log live.
    create_repo(&server, "acme", "api", None).await;
    let mut live = Vec::new();
    while !live.iter().any(|e: &Value| e["subject"] == "acme/api") {
        live.push(
            stream
                .next_event(Duration::from_secs(10))
                .await
                .expect("the new repository's events arrive live"),
        );
    }
    let mut last = position(created);
    for event in &live {
        assert_eq!(position(event), last + 1, "no gap, no repeat: {event}");
        last = position(event);
    }
}

async fn filters_and_bad_parameters(backend: Backend) {
    let server = Server::start(backend).await;
    create_org(&server, "acme", None).await;
    create_org(&server, "other", None).await;
    create_repo(&server, "acme", "web", None).await;
    create_repo(&server, "acme", "api", None).await;
    create_repo(&server, "other", "web", None).await;

    let created = catch_up(&server, "type=repository.created.v1", None).await;
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|e| e["type"] == "repository.created.v1"));

    let in_acme = catch_up(&server, "type=repository.created.v1&namespace=acme", None).await;
    let subjects: Vec<_> = in_acme.iter().map(|e| e["subject"].clone()).collect();
    assert_eq!(subjects, vec![json!("acme/web"), json!("acme/api")]);

    let webs = catch_up(&server, "repository=web", None).await;
    assert!(!webs.is_empty());
    assert!(
        webs.iter()
            .all(|e| e["subject"].as_str().unwrap().ends_with("/web"))
    );

    // Repeated and comma-separated types are one list.
    let both = catch_up(
        &server,
        "type=organization.created.v1,repository.created.v1&namespace=other",
        None,
    )
    .await;
    let repeated = catch_up(
        &server,
        "type=organization.created.v1&type=repository.created.v1&namespace=other",
        None,
    )
    .await;
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both, repeated);

    // `from` starts after a position.
    let all = catch_up(&server, "", None).await;
    let from = position(&all[2]);
    let rest = catch_up(&server, &format!("from={from}"), None).await;
    assert_eq!(rest, all[3..].to_vec());

    // Bad input is a Quay error; nobody is 401.
    for query in [
        "from=-1",
        "from=9223372036854775808",
        "from=abc",
        "from=99999999999999999999999",
        "type=Not%20A%20Type",
        "namespace=NO!",
        "follow=maybe",
        "nosuch=1",
    ] {
        let (s, b) = server.get(&format!("/events/v1/stream?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {b}");
        assert_eq!(b["error_type"], "invalid_request", "{query}: {b}");
        assert_eq!(b["status"], 400);
    }
    let (s, b) = server
        .request_with(
            Method::GET,
            "/events/v1/stream",
            None,
            &[("Last-Event-ID", "12x")],
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = server
        .request(Method::GET, "/events/v1/stream", None, Some(""))
        .await;
    assert_eq!(s, 401, "{b}");
    assert_eq!(b["error_type"], "invalid_token");
    // The largest position is accepted (and there is nothing after it).
    assert!(
        catch_up(&server, "from=9223372036854775807", None)
            .await
            .is_empty()
    );
}

async fn sse_resumes_after_last_event_id_while_writers_append(backend: Backend) {
    let server = Arc::new(Server::start(backend).await);
    create_org(&server, "acme", None).await;

    // Eight writers append while a consumer reads, disconnects and resumes.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let server = server.clone();
            tokio::spawn(async move {
                for i in 0..6 {
                    create_repo(&server, "acme", &format!("w{w}-{i}"), None).await;
                }
            })
        })
        .collect();

    let sse = [("Accept", "text/event-stream")];
    let mut seen: Vec<u64> = Vec::new();
    let mut stream = open_stream(&server, "from=0", &sse).await;
    assert_eq!(
        stream.response.headers()["content-type"],
        "text/event-stream"
    );
    for _ in 0..15 {
        let (id, event) = stream
            .next_sse(Duration::from_secs(20))
            .await
            .expect("event");
        assert_eq!(id, position(&event), "the SSE id is the position");
        seen.push(id);
    }
    drop(stream);
    // A second disconnect, later.
    let last = seen.last().unwrap().to_string();
    let mut stream = open_stream(&server, "", &[sse[0], ("Last-Event-ID", &last)]).await;
    for _ in 0..20 {
        let (id, _) = stream
            .next_sse(Duration::from_secs(20))
            .await
            .expect("event");
        seen.push(id);
    }
    drop(stream);
    for w in writers {
        w.await.unwrap();
    }
    let head = server.events().await.len() as u64;
    let last = seen.last().unwrap().to_string();
    let mut stream = open_stream(&server, "", &[sse[0], ("Last-Event-ID", &last)]).await;
    while *seen.last().unwrap() < head {
        let (id, _) = stream
            .next_sse(Duration::from_secs(20))
            .await
            .expect("every event up to the head");
        seen.push(id);
    }
    // Every event exactly once, in order.
    assert_eq!(seen, (1..=head).collect::<Vec<_>>());
}

async fn a_user_sees_only_the_namespaces_it_administers(backend: Backend) {
    let server = Server::start(backend).await;
    create_org(&server, "acme", None).await;
    create_repo(&server, "acme", "secret", None).await;
    let bob = server.user_token("acme", "bob", ALL_SCOPES).await;
    create_org(&server, "bobcorp", Some(&bob)).await;
    create_repo(&server, "bobcorp", "web", Some(&bob)).await;
    create_repo(&server, "bob", "own", Some(&bob)).await;
    create_repo(&server, "acme", "later", None).await;

    let events = catch_up(&server, "", Some(&bob)).await;
    let subjects: HashSet<String> = events
        .iter()
        .map(|e| {
            e["subject"]
                .as_str()
                .expect("every event has a namespace")
                .to_owned()
        })
        .collect();
    for want in ["bobcorp", "bobcorp/web", "bob/own"] {
        assert!(subjects.contains(want), "{want} missing: {subjects:?}");
    }
    for subject in &subjects {
        assert!(
            subject == "bob" || subject.starts_with("bob/") || subject.starts_with("bobcorp"),
            "bob sees {subject}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "organization.created.v1"),
        "{events:?}"
    );
    // A filter on another namespace finds nothing; the superuser sees everything.
    assert!(
        catch_up(&server, "namespace=acme", Some(&bob))
            .await
            .is_empty()
    );
    let everything = catch_up(&server, "", None).await;
    assert_eq!(everything.len(), server.events().await.len());
    assert!(everything.len() > events.len());

    // A token without `user:read` may not open the stream.
    let narrow = server.user_token("acme", "narrow", "repo:read").await;
    let (s, b) = server
        .request(
            Method::GET,
            "/events/v1/stream?follow=false",
            None,
            Some(&narrow),
        )
        .await;
    assert_eq!(s, 403, "{b}");
}

/// One request a receiver got: its headers and body.
type Delivery = (HeaderMap, Vec<u8>);

/// What a webhook receiver got.
#[derive(Clone, Default)]
struct Received {
    requests: Arc<Mutex<Vec<Delivery>>>,
    /// Answer 500 while set.
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Received {
    fn all(&self) -> Vec<Delivery> {
        self.requests.lock().unwrap().clone()
    }
}

/// A webhook receiver on a loopback port; answers its URL.
async fn receiver(received: Received) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/hook",
        post(
            |axum::extract::State(r): axum::extract::State<Received>,
             headers: HeaderMap,
             body: axum::body::Bytes| async move {
                r.requests.lock().unwrap().push((headers, body.to_vec()));
                if r.failing.load(std::sync::atomic::Ordering::SeqCst) {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            },
        )
        .with_state(received),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

/// Waits until `check` holds, up to `within`.
async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks a delivery as a Standard Webhooks consumer would, and answers its CloudEvent.
fn verified(secret: &str, headers: &HeaderMap, body: &[u8]) -> Value {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(body, headers)
        .expect("a valid Standard Webhooks signature");
    assert_eq!(headers["content-type"], "application/cloudevents+json");
    let event: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(headers["webhook-id"].to_str().unwrap(), event["id"]);
    assert_eq!(event["specversion"], "1.0");
    event
}

const FAST_RETRIES: &[(&str, &str)] = &[
    ("ANNALS_WEBHOOK_BACKOFF_MS", "50"),
    ("ANNALS_WEBHOOK_MAX_FAILURES", "3"),
    ("ANNALS_WEBHOOK_TIMEOUT_S", "5"),
];

async fn webhooks_receive_each_matching_event_once_in_order_signed(backend: Backend) {
    let server = Server::start_with(backend, FAST_RETRIES).await;
    let received = Received::default();
    let url = receiver(received.clone()).await;
    create_org(&server, "acme", None).await;
    create_org(&server, "other", None).await;
    create_repo(&server, "acme", "before", None).await;

    let (s, sub) = server
        .post(
            "/events/v1/subscriptions",
            json!({"url": url, "namespace": "acme", "types": ["repository.created.v1", "repository.deleted.v1"], "from": 0}),
        )
        .await;
    assert_eq!(s, 201, "{sub}");
    let secret = sub["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(sub["status"], "active");
    let id = sub["id"].as_str().unwrap().to_owned();
    // The secret is shown once and never recorded.
    let (_, shown) = server.get(&format!("/events/v1/subscriptions/{id}")).await;
    assert!(shown.get("secret").is_none(), "{shown}");
    assert!(
        !server
            .events()
            .await
            .iter()
            .any(|e| e.data.to_string().contains(&secret[6..])),
        "the secret is in the log"
    );

    create_repo(&server, "other", "elsewhere", None).await;
    for name in ["one", "two"] {
        create_repo(&server, "acme", name, None).await;
    }
    let (s, b) = server.delete("/api/v1/repository/acme/one").await;
    assert!(s.is_success(), "{s} {b}");

    eventually(Duration::from_secs(30), "four deliveries", async || {
        received.all().len() >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deliveries = received.all();
    let events: Vec<Value> = deliveries
        .iter()
        .map(|(h, b)| verified(&secret, h, b))
        .collect();
    let got: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("repository.created.v1", "acme/before"),
        ("repository.created.v1", "acme/one"),
        ("repository.created.v1", "acme/two"),
        ("repository.deleted.v1", "acme/one"),
    ]
    .iter()
    .map(|(t, s)| (t.to_string(), s.to_string()))
    .collect();
    assert_eq!(got, want, "each matching event once, in order");
    let positions: Vec<u64> = events.iter().map(position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));

    // The creation is in the organization's log; a deleted subscription gets nothing more.
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    assert!(
        logs["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "event_subscription_create"),
        "{logs}"
    );
    let before_delete = server.event_count().await;
    let (s, _) = server
        .delete(&format!("/events/v1/subscriptions/{id}"))
        .await;
    assert_eq!(s, 204);
    let (s, _) = server.get(&format!("/events/v1/subscriptions/{id}")).await;
    assert_eq!(s, 404);
    // As it stood before the deletion (time travel).
    let (s, then) = server
        .get(&format!(
            "/events/v1/subscriptions/{id}?as_of=position:{before_delete}"
        ))
        .await;
    assert_eq!(s, 200, "{then}");
    for field in ["id", "url", "types", "status", "from"] {
        assert_eq!(then[field], shown[field], "{field}: {then}");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    create_repo(&server, "acme", "after", None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(received.all().len(), 4, "nothing after the deletion");

    // Bad subscriptions.
    for body in [
        json!({"url": "ftp://x/y", "namespace": "acme"}),
        json!({"url": format!("http://x/{}", "a".repeat(3000)), "namespace": "acme"}),
        json!({"url": "http://x/", "types": ["Bad Type"]}),
        json!({"url": "http://x/", "from": 9223372036854775808u64}),
        json!({"url": "http://x/", "extra": 1}),
    ] {
        let (s, b) = server.post("/events/v1/subscriptions", body.clone()).await;
        assert_eq!(s, 400, "{body}: {b}");
    }
}

async fn a_failing_webhook_is_retried_paused_and_resumed(backend: Backend) {
    let server = Server::start_with(backend, FAST_RETRIES).await;
    let received = Received::default();
    received
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let url = receiver(received.clone()).await;
    create_org(&server, "acme", None).await;
    let bob = server.user_token("acme", "bob", ALL_SCOPES).await;
    create_org(&server, "bobcorp", Some(&bob)).await;

    // An organization's administrator subscribes to its own namespace, not to others.
    let (s, b) = server
        .request(
            Method::POST,
            "/events/v1/subscriptions",
            Some(json!({"url": url, "namespace": "acme"})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 403, "{b}");
    let (s, b) = server
        .request(
            Method::POST,
            "/events/v1/subscriptions",
            Some(json!({"url": url})),
            Some(&bob),
        )
        .await;
    assert_eq!(
        s, 403,
        "only a superuser subscribes to every namespace: {b}"
    );
    let (s, sub) = server
        .request(
            Method::POST,
            "/events/v1/subscriptions",
            Some(json!({"url": url, "namespace": "bobcorp", "types": ["repository.created.v1"]})),
            Some(&bob),
        )
        .await;
    assert_eq!(s, 201, "{sub}");
    let secret = sub["secret"].as_str().unwrap().to_owned();
    let id = sub["id"].as_str().unwrap().to_owned();
    let (_, list) = server
        .request(Method::GET, "/events/v1/subscriptions", None, Some(&bob))
        .await;
    assert_eq!(list["subscriptions"].as_array().unwrap().len(), 1, "{list}");

    create_repo(&server, "bobcorp", "web", Some(&bob)).await;
    // Three failed attempts of the same event, then the subscription is paused.
    let path = format!("/events/v1/subscriptions/{id}");
    eventually(Duration::from_secs(30), "the pause", async || {
        server.get(&path).await.1["status"] == "paused"
    })
    .await;
    let attempts = received.all();
    assert_eq!(attempts.len(), 3, "retried, then paused");
    let ids: HashSet<_> = attempts
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the event's id");
    let (_, got) = server.get(&path).await;
    assert!(
        got["paused_reason"].as_str().unwrap().contains("HTTP 500"),
        "{got}"
    );
    let paused = catch_up(&server, "type=event_subscription.paused.v1", None).await;
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0]["data"]["subscription_id"], id.as_str());
    assert_eq!(paused[0]["actorkind"], "system");
    // bob administers bobcorp, so he sees the pause too.
    assert_eq!(
        catch_up(&server, "type=event_subscription.paused.v1", Some(&bob))
            .await
            .len(),
        1
    );

    // Paused: a new event waits. Resumed: both arrive, once each, in order.
    create_repo(&server, "bobcorp", "api", Some(&bob)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received.all().len(), 3);
    received
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let (s, b) = server
        .request(Method::POST, &format!("{path}/resume"), None, Some(&bob))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "active");
    eventually(
        Duration::from_secs(30),
        "the deliveries after the resume",
        async || received.all().len() >= 5,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = received.all();
    assert_eq!(all.len(), 5);
    let subjects: Vec<Value> = all[3..]
        .iter()
        .map(|(h, b)| verified(&secret, h, b)["subject"].clone())
        .collect();
    assert_eq!(subjects, vec![json!("bobcorp/web"), json!("bobcorp/api")]);
    let (_, got) = server.get(&path).await;
    let last = position(&verified(&secret, &all[4].0, &all[4].1));
    assert!(got["checkpoint"].as_u64().unwrap() >= last, "{got}");
    // A resume of an active subscription changes nothing; another's subscription is not his.
    let (s, _) = server
        .request(Method::POST, &format!("{path}/resume"), None, Some(&bob))
        .await;
    assert_eq!(s, 200);
    let carol = server.user_token("acme", "carol", ALL_SCOPES).await;
    let (s, _) = server.request(Method::GET, &path, None, Some(&carol)).await;
    assert_eq!(s, 403);
}

async fn the_nats_relay_publishes_each_event_once_across_restarts(backend: Backend) {
    use async_nats::jetstream;
    use futures::StreamExt;

    let unique = uuid::Uuid::new_v4().simple().to_string();
    let stream_name = format!("ANNALS_TEST_{unique}");
    let prefix = format!("annals-test.{unique}");
    let mut server = Server::start_with(
        backend,
        &[
            ("ANNALS_NATS_URL", "nats://127.0.0.1:4222"),
            ("ANNALS_NATS_STREAM", &stream_name),
            ("ANNALS_NATS_SUBJECT_PREFIX", &prefix),
        ],
    )
    .await;
    create_org(&server, "acme", None).await;
    create_repo(&server, "acme", "web", None).await;

    let nats = async_nats::connect("nats://127.0.0.1:4222")
        .await
        .expect("NATS with JetStream on 127.0.0.1:4222");
    let js = jetstream::new(nats);
    let count = async || -> u64 {
        match js.get_stream(&stream_name).await {
            Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
            Err(_) => 0,
        }
    };
    let stored = server.events().await.len() as u64;
    eventually(Duration::from_secs(30), "the relay", async || {
        count().await >= stored
    })
    .await;

    // Kill it, and roll its checkpoint back as if it died between publishing and recording:
    // the events are published again after the restart, and JetStream drops them as duplicates.
    server.kill();
    let sql =
        format!("UPDATE projection_checkpoints SET position = 0 WHERE name = 'nats:{stream_name}'");
    match server.database_url() {
        None => {
            let conn = rusqlite::Connection::open(server.data_dir().join("delivery.db")).unwrap();
            assert_eq!(conn.execute(&sql, []).unwrap(), 1);
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let sql = sql.replace(
                "projection_checkpoints",
                "annals_delivery.projection_checkpoints",
            );
            assert_eq!(client.execute(&sql, &[]).await.unwrap(), 1);
        }
    }
    server.restart().await;
    create_repo(&server, "acme", "after", None).await;
    let stored = server.events().await;
    eventually(
        Duration::from_secs(30),
        "the relay after the restart",
        async || count().await >= stored.len() as u64,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        count().await,
        stored.len() as u64,
        "nothing published twice"
    );

    // Every message: the event, on its type's subject, with its id as Nats-Msg-Id.
    let stream = js.get_stream(&stream_name).await.unwrap();
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = consumer
        .fetch()
        .max_messages(stored.len())
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message.unwrap();
        let event: Value = serde_json::from_slice(&message.payload).unwrap();
        let msg_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned());
        assert_eq!(msg_id.as_deref(), event["id"].as_str());
        assert_eq!(
            message.subject.as_str(),
            format!("{prefix}.{}", event["type"].as_str().unwrap())
        );
        got.push(position(&event));
    }
    assert_eq!(got, (1..=stored.len() as u64).collect::<Vec<_>>());
    let _ = js.delete_stream(&stream_name).await;
}
