//! Quay's proxy cache: the configuration routes as events with Quay's log kinds, bad input
//! refused with Quay's 400 and no event, members reading and administrators changing, the
//! upstream password never answered nor in the log; validation and pulls through the cache
//! against a real upstream (`docker-registry` on loopback): a miss fetched and recorded, a hit
//! served with the upstream stopped, a moved tag fetched again after `expiration_s`, an
//! unreachable upstream an OCI error, and pushes into the organization refused.

use annals_tests::oci::{Image, sha256};
use annals_tests::upstream_registry::UpstreamRegistry;
use annals_tests::{Backend, Server, assert_quay_error, basic_auth, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    configuration_life_cycle => configuration_life_cycle;
    bad_input_is_refused_without_an_event => bad_input_is_refused_without_an_event;
    members_read_and_administrators_change => members_read_and_administrators_change;
    validation_logs_in_to_the_upstream => validation_logs_in_to_the_upstream;
    a_miss_is_fetched_and_a_hit_is_local => a_miss_is_fetched_and_a_hit_is_local;
    an_expired_tag_is_checked_again => an_expired_tag_is_checked_again;
    an_unreachable_upstream_is_an_oci_error => an_unreachable_upstream_is_an_oci_error;
    a_fetch_meets_the_quota => a_fetch_meets_the_quota;
}

const PASSWORD: &str = "upstream-s3cret-passw0rd";
const CONFIG: &str = "/api/v1/organization/cache/proxycache";
const VALIDATE: &str = "/api/v1/organization/cache/validateproxycache";
/// Loopback upstreams are blocked by default; these tests run their own.
const OPEN: (&str, &str) = ("ANNALS_UPSTREAM_BLOCKED_HOSTS", "");

async fn start(backend: Backend) -> Server {
    let server = Server::start_with(backend, &[OPEN]).await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "cache"}))
        .await;
    assert_eq!(s, 201, "{b}");
    server
}

fn kinds(body: &Value) -> Vec<String> {
    body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn empty() -> Value {
    json!({"upstream_registry": "", "expiration_s": "", "insecure": ""})
}

async fn configuration_life_cycle(backend: Backend) {
    let server = start(backend).await;
    let (s, b) = server.get(CONFIG).await;
    assert_eq!((s.as_u16(), &b), (200, &empty()));

    let body = json!({
        "org_name": "cache",
        "upstream_registry": "registry.example.com:5000/library",
        "upstream_registry_username": "puller",
        "upstream_registry_password": PASSWORD,
        "expiration_s": 3600,
        "insecure": true,
    });
    let (s, b) = server.post(CONFIG, body.clone()).await;
    assert_eq!((s.as_u16(), &b), (201, &json!("Created")));
    let before = server.event_count().await;
    let (s, b) = server.post(CONFIG, body).await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(b["detail"], "Proxy Cache Configuration already exists");
    assert_eq!(server.event_count().await, before);

    let (s, b) = server.get(CONFIG).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b,
        json!({"upstream_registry": "registry.example.com:5000/library", "expiration_s": 3600, "insecure": true})
    );

    let (s, b) = server.delete(CONFIG).await;
    assert_eq!((s.as_u16(), &b), (201, &json!("Deleted")));
    let (s, b) = server.delete(CONFIG).await;
    assert_quay_error(s, &b, 404, "not_found");
    let (_, b) = server.get(CONFIG).await;
    assert_eq!(b, empty());

    // Defaults: a day, verified TLS.
    let (s, b) = server
        .post(CONFIG, json!({"upstream_registry": "quay.io"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = server.get(CONFIG).await;
    assert_eq!(
        b,
        json!({"upstream_registry": "quay.io", "expiration_s": 86400, "insecure": false})
    );

    let (s, logs) = server.get("/api/v1/organization/cache/logs").await;
    assert_eq!(s, 200, "{logs}");
    let kinds = kinds(&logs);
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(
        (
            count("create_proxy_cache_config"),
            count("delete_proxy_cache_config")
        ),
        (2, 1),
        "{kinds:?}"
    );
    let entry = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["kind"] == "create_proxy_cache_config"
                && e["metadata"]["upstream_registry"] == "registry.example.com:5000/library"
        })
        .expect("the first creation's entry");
    assert_eq!(entry["metadata"]["namespace"], "cache", "{entry}");

    // The password is kept under an id; never in an event, an answer or the log.
    let events = server.events().await;
    let created = events
        .iter()
        .find(|e| e.event_type == "organization.proxy_cache_created.v1")
        .expect("created event");
    assert!(
        created.data["config"]["credential_id"].is_string(),
        "{created:?}"
    );
    assert!(
        events
            .iter()
            .all(|e| !e.data.to_string().contains(PASSWORD))
    );
    assert!(!logs.to_string().contains(PASSWORD));
}

async fn bad_input_is_refused_without_an_event(backend: Backend) {
    let server = start(backend).await;
    let before = server.event_count().await;
    let ok = || json!({"upstream_registry": "quay.io/team", "expiration_s": 60});
    let with = |key: &str, value: Value| {
        let mut b = ok();
        b[key] = value;
        b
    };
    let cases = [
        ("no upstream", json!({"expiration_s": 60})),
        ("empty upstream", with("upstream_registry", json!(""))),
        (
            "scheme",
            with("upstream_registry", json!("https://quay.io")),
        ),
        ("space", with("upstream_registry", json!("quay io"))),
        (
            "bad port",
            with("upstream_registry", json!("quay.io:99999")),
        ),
        ("bad path", with("upstream_registry", json!("quay.io/A//b"))),
        ("long", with("upstream_registry", json!("a".repeat(400)))),
        ("upstream number", with("upstream_registry", json!(5))),
        ("negative", with("expiration_s", json!(-1))),
        ("zero", with("expiration_s", json!(0))),
        ("huge", with("expiration_s", json!(100_000_000_000i64))),
        ("beyond i64", with("expiration_s", json!(1e30))),
        ("text", with("expiration_s", json!("1d"))),
        ("insecure text", with("insecure", json!("yes"))),
        (
            "username number",
            with("upstream_registry_username", json!(7)),
        ),
        (
            "long username",
            with("upstream_registry_username", json!("u".repeat(2000))),
        ),
        ("unknown field", with("staleness_period_s", json!(5))),
        ("not an object", json!(["quay.io"])),
    ];
    for (why, body) in cases {
        let (s, b) = server.post(CONFIG, body.clone()).await;
        assert_quay_error(s, &b, 400, "invalid_request");
        assert_eq!(server.event_count().await, before, "{why}: {b}");
        let (s, b) = server.post(VALIDATE, body).await;
        assert_quay_error(s, &b, 400, "invalid_request");
    }
    let (s, b) = server
        .send_raw(Method::POST, CONFIG, "{\"upstream_registry\":")
        .await;
    assert_eq!(s, 400, "{b}");
    // A user's namespace is no organization.
    let (s, b) = server
        .post("/api/v1/organization/admin/proxycache", ok())
        .await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(server.event_count().await, before);
    let (_, b) = server.get(CONFIG).await;
    assert_eq!(b, empty());
}

async fn members_read_and_administrators_change(backend: Backend) {
    let server = start(backend).await;
    let eve = member(&server, "eve", "repo:read user:read org:admin").await;
    let mallory = server
        .user_token("cache", "mallory", "repo:read user:read org:admin")
        .await;
    let (s, b) = server
        .post(
            CONFIG,
            json!({"upstream_registry": "quay.io", "expiration_s": 120}),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    let (s, b) = server.request(Method::GET, CONFIG, None, Some(&eve)).await;
    assert_eq!((s.as_u16(), &b["expiration_s"]), (200, &json!(120)), "{b}");
    let (s, b) = server
        .request(Method::GET, CONFIG, None, Some(&mallory))
        .await;
    assert_eq!(s, 403, "{b}");

    let before = server.event_count().await;
    let body = json!({"upstream_registry": "ghcr.io"});
    for token in [&eve, &mallory] {
        for (method, path, body) in [
            (Method::POST, CONFIG, Some(body.clone())),
            (Method::DELETE, CONFIG, None),
            (Method::POST, VALIDATE, Some(body.clone())),
        ] {
            let (s, b) = server
                .request(method.clone(), path, body, Some(token))
                .await;
            assert_eq!(s, 403, "{method} {path}: {b}");
        }
    }
    // Refusals are audit events; the configuration is as it was.
    assert!(only_audits_since(&server, before).await);
    let (_, b) = server.get(CONFIG).await;
    assert_eq!(b["upstream_registry"], "quay.io");
}

async fn validation_logs_in_to_the_upstream(backend: Backend) {
    let server = start(backend).await;
    let Some(locked) = UpstreamRegistry::start_with_auth("puller", PASSWORD).await else {
        return;
    };
    let Some(open) = UpstreamRegistry::start().await else {
        return;
    };
    let before = server.event_count().await;
    let body = |host: String, password: Option<&str>| {
        let mut b = json!({"upstream_registry": format!("{host}/library"), "insecure": true});
        if let Some(p) = password {
            b["upstream_registry_username"] = json!("puller");
            b["upstream_registry_password"] = json!(p);
        }
        b
    };
    let (s, b) = server
        .post(VALIDATE, body(locked.host(), Some("wrong-password")))
        .await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(
        b["detail"],
        "Failed login to remote registry. Please verify entered details and try again."
    );
    let (s, b) = server
        .post(VALIDATE, body(locked.host(), Some(PASSWORD)))
        .await;
    assert_eq!((s.as_u16(), &b), (202, &json!("Valid")));
    let (s, b) = server.post(VALIDATE, body(open.host(), None)).await;
    assert_eq!((s.as_u16(), &b), (202, &json!("Anonymous")));
    // Validating changes nothing.
    assert_eq!(server.event_count().await, before);
}

async fn get_blob(server: &Server, auth: &str, repository: &str, digest: &str) -> Vec<u8> {
    let response = reqwest::Client::new()
        .get(format!(
            "{}/v2/{repository}/blobs/{digest}",
            server.registry
        ))
        .header("Authorization", auth)
        .send()
        .await
        .expect("blob get");
    assert_eq!(response.status(), StatusCode::OK, "{digest}");
    response.bytes().await.unwrap().to_vec()
}

/// Whether every event after position `before` records a refusal.
async fn only_audits_since(server: &Server, before: i64) -> bool {
    server
        .events()
        .await
        .iter()
        .filter(|e| e.position > before)
        .all(|e| e.event_type.starts_with("audit."))
}

fn fetches(events: &[annals_tests::StoredEvent]) -> Vec<&annals_tests::StoredEvent> {
    events
        .iter()
        .filter(|e| e.event_type == "repository.proxy_cache_fetched.v1")
        .collect()
}

/// Makes `name` a member of `cache` (team `readers`); answers a token of its with `scope`.
async fn member(server: &Server, name: &str, scope: &str) -> String {
    let token = server.user_token("cache", name, scope).await;
    let (s, b) = server
        .put(
            "/api/v1/organization/cache/team/readers",
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = server
        .put(
            &format!("/api/v1/organization/cache/team/readers/members/{name}"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    token
}

/// A member's basic auth for the registry.
async fn puller(server: &Server, name: &str) -> String {
    basic_auth(name, &member(server, name, "repo:read user:read").await)
}

async fn configure(server: &Server, upstream: &UpstreamRegistry, expiration_s: u64) {
    let (s, b) = server
        .post(
            CONFIG,
            json!({"upstream_registry": format!("{}/library", upstream.host()),
                   "expiration_s": expiration_s, "insecure": true}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

async fn a_miss_is_fetched_and_a_hit_is_local(backend: Backend) {
    let server = start(backend).await;
    let Some(mut upstream) = UpstreamRegistry::start().await else {
        return;
    };
    let image = Image::new("proxied", 2, 20_000);
    let digest = upstream.push_image("library/web", "v1", &image).await;
    configure(&server, &upstream, 3600).await;
    let eve = puller(&server, "eve").await;
    let mallory = basic_auth(
        "mallory",
        &server.user_token("cache", "mallory", "repo:read").await,
    );

    // Neither anonymous callers nor outsiders make the cache fetch anything.
    let before = server.event_count().await;
    let anonymous = reqwest::Client::new()
        .get(format!("{}/v2/cache/web/manifests/v1", server.registry))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (s, _, _) = server.pull_manifest_as(&mallory, "cache/web", "v1").await;
    assert!(s.is_client_error(), "{s}");
    assert!(fetches(&server.events().await).is_empty());
    assert!(only_audits_since(&server, before).await);

    // Members' pulls on a miss, all at once: fetched once, recorded, served to each.
    let pulls =
        futures::future::join_all((0..3).map(|_| server.pull_manifest_as(&eve, "cache/web", "v1")))
            .await;
    for (s, got, bytes) in pulls {
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (got.as_deref(), bytes.as_slice()),
            (Some(digest.as_str()), image.manifest.as_slice())
        );
    }
    let events = server.events().await;
    let fetched = fetches(&events);
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    let data = &fetched[0].data;
    assert_eq!(data["upstream"], format!("{}/library/web", upstream.host()));
    assert_eq!(data["reference"], "v1");
    assert_eq!(data["digest"], digest.as_str());
    assert_eq!(data["copied"], true);
    assert_eq!(data["blobs_fetched"], 3);
    assert_eq!(
        data["bytes_fetched"],
        image.blobs().iter().map(|b| b.len() as u64).sum::<u64>()
    );
    assert_eq!(data["triggered_by"], "eve");
    // The copy went through the ordinary pushes: the repository belongs to the organization.
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "repository.manifest_pushed.v1"
                && e.metadata["actor"]["name"] == "proxy cache")
    );
    let (s, repo) = server.get("/api/v1/repository/cache/web").await;
    assert_eq!(
        (s.as_u16(), &repo["namespace"]),
        (200, &json!("cache")),
        "{repo}"
    );
    let (_, logs) = server.get("/api/v1/repository/cache/web/logs").await;
    assert!(
        kinds(&logs).iter().any(|k| k == "proxy_cache_fetch"),
        "{logs}"
    );

    // A hit: served with the upstream stopped, and recorded as no fetch.
    upstream.stop();
    let (s, got, bytes) = server.pull_manifest_as(&eve, "cache/web", "v1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got.as_deref(), Some(digest.as_str()));
    assert_eq!(bytes, image.manifest);
    let (s, got, _) = server.pull_manifest_as(&eve, "cache/web", &digest).await;
    assert_eq!((s, got.as_deref()), (StatusCode::OK, Some(digest.as_str())));
    for blob in image.blobs() {
        assert_eq!(
            get_blob(&server, &eve, "cache/web", &sha256(blob)).await,
            blob
        );
    }
    assert_eq!(fetches(&server.events().await).len(), 1);

    // Nobody pushes into a proxy cache: not even its administrator.
    let admin = basic_auth(annals_tests::ADMIN, &server.token);
    let before = server.event_count().await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v2/cache/web/blobs/uploads/?digest={}",
            server.registry,
            sha256(b"mine")
        ))
        .header("Authorization", &admin)
        .body(b"mine".to_vec())
        .send()
        .await
        .unwrap();
    let (s, code) = Server::registry_error_code(response).await;
    assert_eq!(
        (s, code.as_deref()),
        (StatusCode::FORBIDDEN, Some("DENIED"))
    );
    assert!(only_audits_since(&server, before).await);
}

async fn an_expired_tag_is_checked_again(backend: Backend) {
    let server = start(backend).await;
    let Some(mut upstream) = UpstreamRegistry::start().await else {
        return;
    };
    let first = Image::new("first", 1, 4_000);
    let second = Image::new("second", 1, 4_000);
    upstream.push_image("library/app", "latest", &first).await;
    configure(&server, &upstream, 1).await;
    let eve = puller(&server, "eve").await;

    let (s, got, body) = server.pull_manifest_as(&eve, "cache/app", "latest").await;
    assert_eq!(
        (s, got),
        (StatusCode::OK, Some(first.digest.clone())),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // The tag moves upstream; once the copy expired, the next pull fetches it again.
    upstream.push_image("library/app", "latest", &second).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (s, got, body) = server.pull_manifest_as(&eve, "cache/app", "latest").await;
    assert_eq!(
        (s, got),
        (StatusCode::OK, Some(second.digest.clone())),
        "{}",
        String::from_utf8_lossy(&body)
    );
    // Expired but unchanged: asked again, nothing copied.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (s, got, _) = server.pull_manifest_as(&eve, "cache/app", "latest").await;
    assert_eq!((s, got), (StatusCode::OK, Some(second.digest.clone())));
    let events = server.events().await;
    let copied: Vec<(Value, Value)> = fetches(&events)
        .iter()
        .map(|e| (e.data["digest"].clone(), e.data["copied"].clone()))
        .collect();
    assert_eq!(
        copied,
        vec![
            (json!(first.digest), json!(true)),
            (json!(second.digest), json!(true)),
            (json!(second.digest), json!(false)),
        ]
    );
    // Expired and the upstream gone: the cached copy is served.
    upstream.stop();
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let (s, got, _) = server.pull_manifest_as(&eve, "cache/app", "latest").await;
    assert_eq!((s, got), (StatusCode::OK, Some(second.digest.clone())));
    assert_eq!(fetches(&server.events().await).len(), 3);
}

async fn an_unreachable_upstream_is_an_oci_error(backend: Backend) {
    let server = start(backend).await;
    let Some(mut upstream) = UpstreamRegistry::start().await else {
        return;
    };
    configure(&server, &upstream, 3600).await;
    let eve = puller(&server, "eve").await;
    // Not upstream: unknown.
    let (s, _, body) = server.pull_manifest_as(&eve, "cache/absent", "v1").await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["errors"][0]["code"], "MANIFEST_UNKNOWN", "{body}");
    // Unreachable: an OCI error, and the server goes on.
    upstream.stop();
    let before = server.event_count().await;
    let (s, _, body) = server.pull_manifest_as(&eve, "cache/web", "v1").await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(
        (s, body["errors"][0]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("UNAVAILABLE")),
        "{body}"
    );
    assert!(fetches(&server.events().await).is_empty());
    assert!(only_audits_since(&server, before).await);
    let (s, _) = server.get(CONFIG).await;
    assert_eq!(s, 200);
}

async fn a_fetch_meets_the_quota(backend: Backend) {
    let server = start(backend).await;
    let Some(upstream) = UpstreamRegistry::start().await else {
        return;
    };
    let image = Image::new("large", 1, 20_000);
    upstream.push_image("library/big", "v1", &image).await;
    configure(&server, &upstream, 3600).await;
    for (path, body) in [
        (
            "/api/v1/organization/cache/quota",
            json!({"limit_bytes": 10_240}),
        ),
        (
            "/api/v1/organization/cache/quota/1/limit",
            json!({"type": "Reject", "threshold_percent": 100}),
        ),
    ] {
        let (s, b) = server.post(path, body).await;
        assert_eq!(s, 201, "{path}: {b}");
    }
    let eve = puller(&server, "eve").await;
    // The copy is a push like any other: past the Reject limit it is refused, and nothing
    // of it is recorded as fetched.
    let (s, _, body) = server.pull_manifest_as(&eve, "cache/big", "v1").await;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(
        (s, body["errors"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("DENIED")),
        "{body}"
    );
    let events = server.events().await;
    assert!(fetches(&events).is_empty());
    assert!(
        !events
            .iter()
            .any(|e| e.event_type == "repository.manifest_pushed.v1")
    );
}
