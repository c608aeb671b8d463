//! Time travel: `as_of` on single-resource GETs of every family answers the resource as it
//! stood at a position or time — folded from its events, with the position in
//! `Annals-As-Of-Position` — including one deleted since and not one that did not exist yet;
//! and `annals replay --to-position` builds a whole past generation served read-only under a
//! name.

use annals_tests::gerrit::{Auth, Body, jar};
use annals_tests::oci::Image;
use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    a_repository_as_it_stood => a_repository_as_it_stood;
    accounts_and_grants_as_they_stood => accounts_and_grants_as_they_stood;
    every_family_answers_as_of => every_family_answers_as_of;
    past_generations_serve_read_only => past_generations_serve_read_only;
    past_answers_equal_what_the_api_said_then => past_answers_equal_what_the_api_said_then;
}

struct Past {
    status: StatusCode,
    position: Option<u64>,
    body: Value,
}

/// A GET with optional extra headers, as `token` (the admin's when `None`).
async fn fetch(server: &Server, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Past {
    let mut req = reqwest::Client::new()
        .get(server.url(path))
        .bearer_auth(token.unwrap_or(&server.token));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let response = req.send().await.expect("request");
    let status = response.status();
    let position = response
        .headers()
        .get("annals-as-of-position")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let text = response.text().await.unwrap();
    let body = text
        .strip_prefix(")]}'\n")
        .unwrap_or(&text)
        .parse()
        .unwrap_or(Value::Null);
    Past {
        status,
        position,
        body,
    }
}

async fn at(server: &Server, path: &str, position: i64) -> Past {
    let sep = if path.contains('?') { '&' } else { '?' };
    fetch(
        server,
        &format!("{path}{sep}as_of=position:{position}"),
        None,
        &[],
    )
    .await
}

fn tag_digests(repo: &Value) -> Vec<(String, String)> {
    repo["tags"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, t)| {
            (
                name.clone(),
                t["manifest_digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_repository_as_it_stood(backend: Backend) {
    let server = Server::start(backend).await;
    let before = server.event_count().await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (one, two) = (Image::new("one", 1, 500), Image::new("two", 1, 700));
    server.push_image("acme/web", "latest", &one).await;
    let first = server.event_count().await;

    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web",
            json!({"description": "second"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    server.push_image("acme/web", "stable", &two).await;
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/tag/latest",
            json!({"manifest_digest": two.digest}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let second = server.event_count().await;

    let (s, b) = server.delete("/api/v1/repository/acme/web").await;
    assert_eq!(s, 204, "{b}");
    // A new repository of the same name: the past one is still the one named then.
    let (s, b) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private", "description": "third"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    let past = at(&server, "/api/v1/repository/acme/web", first).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.position, Some(first as u64));
    assert_eq!(past.body["description"], "");
    assert_eq!(
        tag_digests(&past.body),
        [("latest".to_owned(), one.digest.clone())]
    );

    let past = at(&server, "/api/v1/repository/acme/web", second).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["description"], "second");
    assert_eq!(
        tag_digests(&past.body),
        [
            ("latest".to_owned(), two.digest.clone()),
            ("stable".to_owned(), two.digest.clone())
        ]
    );
    // The tag history as it stood: latest had pointed at one, then at two.
    let past = at(
        &server,
        "/api/v1/repository/acme/web/tag/?specificTag=latest",
        second,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    let digests: Vec<&str> = past.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["manifest_digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, [two.digest.as_str(), one.digest.as_str()]);
    let past = at(
        &server,
        &format!("/api/v1/repository/acme/web/manifest/{}", one.digest),
        first,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["digest"], one.digest.as_str());

    // The registry listener: the tag list and a pull by tag as they stood.
    let tags: Value = server
        .registry_request(
            Method::GET,
            &format!("/v2/acme/web/tags/list?as_of=position:{first}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["latest"]));
    let pulled = server
        .registry_request(
            Method::GET,
            &format!("/v2/acme/web/manifests/latest?as_of=position:{first}"),
        )
        .header("Accept", annals_tests::oci::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), 200);
    assert_eq!(
        pulled.headers()["annals-as-of-position"].to_str().unwrap(),
        first.to_string()
    );
    assert_eq!(
        pulled.headers()["docker-content-digest"],
        one.digest.as_str()
    );
    let refused = server
        .registry_request(Method::GET, "/v2/acme/web/blobs/sha256:00?as_of=position:1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNSUPPORTED");

    // Now: the new repository, without tags.
    let (s, now) = server.get("/api/v1/repository/acme/web").await;
    assert_eq!(s, 200);
    assert_eq!(now["description"], "third");
    assert!(now["tags"].as_object().unwrap().is_empty());

    // Before it existed: the route's own 404.
    let past = at(&server, "/api/v1/repository/acme/web", before).await;
    assert_quay_error(past.status, &past.body, 404, "not_found");
    assert_eq!(past.position, Some(before as u64));
    let past = fetch(
        &server,
        "/api/v1/repository/acme/web?as_of=2001-01-01T00:00:00Z",
        None,
        &[],
    )
    .await;
    assert_quay_error(past.status, &past.body, 404, "not_found");
    assert_eq!(past.position, Some(0));
    // A time is the last event recorded at or before it: now is the head.
    let now_time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let past = fetch(
        &server,
        &format!(
            "/api/v1/repository/acme/web?as_of={}",
            now_time.replace('+', "%2B")
        ),
        None,
        &[],
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["description"], "third");
    assert_eq!(past.position, Some(server.event_count().await as u64));

    // Bad input: Quay's 400, nothing appended.
    let events = server.event_count().await;
    for path in [
        "/api/v1/repository/acme/web?as_of=yesterday".to_owned(),
        "/api/v1/repository/acme/web?as_of=position:-1".to_owned(),
        format!(
            "/api/v1/repository/acme/web?as_of=position:{}",
            events + 1000
        ),
        "/api/v1/repository/acme/web/logs?as_of=position:1".to_owned(),
        "/api/v1/superuser/users/?as_of=position:1".to_owned(),
    ] {
        let past = fetch(&server, &path, None, &[]).await;
        assert_quay_error(past.status, &past.body, 400, "invalid_request");
    }
    let (s, b) = server
        .request(
            Method::PUT,
            &format!("/api/v1/repository/acme/web?as_of=position:{first}"),
            Some(json!({"description": "x"})),
            None,
        )
        .await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(server.event_count().await, events);

    // Access: anonymous callers are refused; a user of no team sees nothing of acme's past.
    let past = fetch(
        &server,
        &format!("/api/v1/repository/acme/web?as_of=position:{second}"),
        Some(""),
        &[],
    )
    .await;
    assert_eq!(past.status, 401, "{}", past.body);
    let bob = server
        .user_token("acme", "bob", "repo:read user:read")
        .await;
    let past = fetch(
        &server,
        &format!("/api/v1/repository/acme/web?as_of=position:{second}"),
        Some(&bob),
        &[],
    )
    .await;
    assert_quay_error(past.status, &past.body, 403, "unauthorized");
}

async fn accounts_and_grants_as_they_stood(backend: Backend) {
    let server = Server::start(backend).await;
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
    let _bob = server.user_token("acme", "bob", "repo:read").await;
    let (s, b) = server
        .put(
            "/api/v1/organization/acme/robots/ci",
            json!({"description": "builds"}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/permissions/user/bob",
            json!({"role": "read"}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let granted = server.event_count().await;
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/permissions/user/bob",
            json!({"role": "admin"}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let (s, b) = server.delete("/api/v1/organization/acme/robots/ci").await;
    assert!(s.is_success(), "{s} {b}");

    let past = at(
        &server,
        "/api/v1/repository/acme/web/permissions/user/bob",
        granted,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["role"], "read");
    let (_, now) = server
        .get("/api/v1/repository/acme/web/permissions/user/bob")
        .await;
    assert_eq!(now["role"], "admin");
    let past = at(
        &server,
        "/api/v1/repository/acme/web/permissions/user/",
        granted,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(
        past.body["permissions"]["bob"]["role"], "read",
        "{}",
        past.body
    );

    let past = at(&server, "/api/v1/organization/acme/robots/ci", granted).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["name"], "acme+ci");
    assert_eq!(past.body["description"], "builds");
    let (s, _) = server.get("/api/v1/organization/acme/robots/ci").await;
    assert_eq!(s, 404);
    let past = at(&server, "/api/v1/organization/acme", granted).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["name"], "acme");
    let past = at(&server, "/api/v1/users/bob", granted).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["username"], "bob");
    let past = at(&server, "/api/v1/users/bob", 1).await;
    assert_eq!(past.status, 404, "{}", past.body);
}

async fn every_family_answers_as_of(backend: Backend) {
    let server = Server::start(backend).await;
    // DigitalOcean: the registry's subscription as it stood.
    let (s, b) = server
        .post(
            "/v2/registry",
            json!({"name": "acme", "subscription_tier_slug": "basic", "region": "fra1"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    server
        .push_image("acme/web", "v1", &Image::new("a", 1, 100))
        .await;
    let basic = server.event_count().await;
    let (s, b) = server
        .post(
            "/v2/registry/subscription",
            json!({"tier_slug": "professional"}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    server
        .push_image("acme/web", "v2", &Image::new("b", 1, 100))
        .await;
    let past = at(&server, "/v2/registry/subscription", basic).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(
        past.body["subscription"]["tier"]["slug"], "basic",
        "{}",
        past.body
    );
    let past = at(&server, "/v2/registry/acme/repositories/web/tags", basic).await;
    assert_eq!(past.status, 200, "{}", past.body);
    let tags: Vec<&str> = past.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1"]);
    let past = fetch(&server, "/v2/registry/options?as_of=position:1", None, &[]).await;
    assert_eq!(past.status, 400, "{}", past.body);
    assert_eq!(past.body["id"], "bad_request");

    // Gerrit: a plugin's status before it was disabled.
    let installed = server
        .gerrit(
            Method::PUT,
            "/a/plugins/hello.jar",
            Auth::Basic("admin", &server.token),
            Body::Jar(jar(Some("hello"), "1.0", None)),
        )
        .await;
    assert_eq!(installed.status, 201, "{}", installed.body);
    let enabled = server.event_count().await;
    let disabled = server
        .gerrit(
            Method::POST,
            "/a/plugins/hello/gerrit~disable",
            Auth::Basic("admin", &server.token),
            Body::None,
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let past = at(&server, "/plugins/hello/gerrit~status", enabled).await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["id"], "hello");
    assert!(past.body.get("disabled").is_none(), "{}", past.body);
    let now = fetch(&server, "/plugins/hello/gerrit~status", None, &[]).await;
    assert_eq!(now.body["disabled"], true, "{}", now.body);
    let past = at(&server, "/plugins/hello/gerrit~status", basic).await;
    assert_eq!(past.status, 404);
    assert_eq!(past.position, Some(basic as u64));

    // SpaceONE: a plugin's name and versions (its image's tags) as they stood.
    let (s, p) = server
        .post(
            "/repository/v1/plugins",
            json!({"name": "collector", "service_type": "inventory.Collector",
                   "image": "acme/web", "registry_type": "DOCKER_HUB", "domain_id": "acme"}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let id = p["plugin_id"].as_str().unwrap().to_owned();
    let registered = server.event_count().await;
    let (s, p) = server
        .put(
            &format!("/repository/v1/plugin/{id}"),
            json!({"name": "renamed", "domain_id": "acme"}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    server
        .push_image("acme/web", "v3", &Image::new("c", 1, 100))
        .await;
    let past = at(
        &server,
        &format!("/repository/v1/plugins/{id}?domain_id=acme"),
        registered,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["name"], "collector");
    let past = at(
        &server,
        &format!("/repository/v1/plugins/{id}/versions?domain_id=acme"),
        registered,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.body["total_count"], 2, "{}", past.body);
    let past = at(
        &server,
        &format!("/repository/v1/plugins/{id}?domain_id=acme"),
        basic,
    )
    .await;
    assert_eq!(past.status, 404, "{}", past.body);
    assert_eq!(past.body["detail"]["code"], "ERROR_NOT_FOUND");
}

async fn past_generations_serve_read_only(backend: Backend) {
    let server = Server::start(backend).await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    server
        .push_image("acme/web", "v1", &Image::new("one", 1, 300))
        .await;
    let then = server.event_count().await;
    server
        .push_image("acme/web", "v2", &Image::new("two", 1, 300))
        .await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "later"}))
        .await;
    assert_eq!(s, 201, "{b}");

    let out = server
        .command(&[
            "replay",
            "--quiet",
            "--to-position",
            &then.to_string(),
            "--name",
            "audit",
        ])
        .output()
        .expect("annals replay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.command(&["generations", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("audit\tposition {then}")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let generation = [("Annals-Generation", "audit")];
    let past = fetch(
        &server,
        "/api/v1/repository/acme/web/tag/",
        None,
        &generation,
    )
    .await;
    assert_eq!(past.status, 200, "{}", past.body);
    assert_eq!(past.position, Some(then as u64));
    assert_eq!(
        past.body["tags"].as_array().unwrap().len(),
        1,
        "{}",
        past.body
    );
    // Lists too: the whole state stood still.
    let past = fetch(&server, "/api/v1/organization/later", None, &generation).await;
    assert_eq!(past.status, 404, "{}", past.body);
    let (s, now) = server.get("/api/v1/repository/acme/web/tag/").await;
    assert_eq!(s, 200);
    assert_eq!(now["tags"].as_array().unwrap().len(), 2);

    // Read-only, and only what exists.
    let events = server.event_count().await;
    let (s, b) = server
        .request_with(
            Method::POST,
            "/api/v1/organization/",
            Some(json!({"name": "other"})),
            &generation,
        )
        .await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(server.event_count().await, events);
    let past = fetch(
        &server,
        "/api/v1/organization/acme",
        None,
        &[("Annals-Generation", "nope")],
    )
    .await;
    assert_quay_error(past.status, &past.body, 404, "not_found");

    let out = server
        .command(&["generations", "drop", "audit"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let past = fetch(&server, "/api/v1/organization/acme", None, &generation).await;
    assert_quay_error(past.status, &past.body, 404, "not_found");
    let out = server
        .command(&["generations", "drop", "audit"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The routes whose past answers are compared with what they answered at the time.
const WATCHED: [&str; 4] = [
    "/api/v1/repository/acme/web",
    "/api/v1/repository/acme/web/tag/",
    "/api/v1/organization/acme/team/devs/members",
    "/api/v1/organization/acme",
];

/// What every watched route answers now, and the position it answers at.
async fn snapshot(server: &Server) -> (i64, Vec<Value>) {
    let position = server.event_count().await;
    let mut answers = Vec::new();
    for path in WATCHED {
        let (s, body) = server.get(path).await;
        assert_eq!(s, 200, "{path}: {body}");
        answers.push(body);
    }
    (position, answers)
}

async fn past_answers_equal_what_the_api_said_then(backend: Backend) {
    let server = Server::start(backend).await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let _bob = server.user_token("acme", "bob", "repo:read").await;
    let (s, b) = server
        .put(
            "/api/v1/organization/acme/team/devs",
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (one, two, three) = (
        Image::new("one", 1, 100),
        Image::new("two", 1, 200),
        Image::new("three", 2, 300),
    );
    server.push_image("acme/web", "v1", &one).await;
    let first = snapshot(&server).await;

    let (s, b) = server
        .put("/api/v1/organization/acme/team/devs/members/bob", json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    server.push_image("acme/web", "v2", &two).await;
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/tag/v1",
            json!({"manifest_digest": two.digest}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
    let second = snapshot(&server).await;

    let (s, b) = server.delete("/api/v1/repository/acme/web/tag/v2").await;
    assert!(s.is_success(), "{s} {b}");
    let (s, b) = server
        .delete("/api/v1/organization/acme/team/devs/members/bob")
        .await;
    assert!(s.is_success(), "{s} {b}");
    server.push_image("acme/web", "v3", &three).await;
    let third = snapshot(&server).await;

    // Later changes the past answers must not see.
    server
        .push_image("acme/web", "v4", &Image::new("four", 1, 100))
        .await;
    let (s, b) = server
        .put("/api/v1/organization/acme/team/devs/members/bob", json!({}))
        .await;
    assert_eq!(s, 200, "{b}");

    for (position, answers) in [first, second, third] {
        for (path, then) in WATCHED.iter().zip(answers) {
            let past = at(&server, path, position).await;
            assert_eq!(past.status, 200, "{path} at {position}: {}", past.body);
            assert_eq!(past.position, Some(position as u64));
            assert_eq!(past.body, then, "{path} at {position}");
        }
    }
}
