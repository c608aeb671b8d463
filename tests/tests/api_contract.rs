//! The API contract as a hostile or generated client meets it (issue 10, items 10 and 11):
//! numbers out of bounds answer the family's error (never a panic, never an echo), optional body
//! fields are optional, single-segment and `%2F` repository paths route, the log routes take
//! back the times they answer with, and the OpenAPI document declares what the server does.

use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    docker_credentials_refuse_absurd_expiry => docker_credentials_refuse_absurd_expiry;
    paging_parameters_are_bounded => paging_parameters_are_bounded;
    put_tag_with_empty_body_is_accepted => put_tag_with_empty_body_is_accepted;
    single_segment_repository_paths_answer_404 => single_segment_repository_paths_answer_404;
    percent_encoded_repository_reaches_it => percent_encoded_repository_reaches_it;
    log_routes_take_back_their_own_times => log_routes_take_back_their_own_times;
    discovery_declares_what_the_server_does => discovery_declares_what_the_server_does;
}

fn assert_do_error(status: StatusCode, body: &Value, expected: u16, id: &str) {
    assert_eq!(status.as_u16(), expected, "status of {body}");
    assert_eq!(body["id"], id, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// An organization `acme` with an empty repository `acme/web`.
async fn with_repository(backend: Backend) -> Server {
    let server = Server::start(backend).await;
    let (status, body) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    server
}

async fn docker_credentials_refuse_absurd_expiry(backend: Backend) {
    let server = Server::start(backend).await;
    let before = server.event_count().await;
    for expiry in ["9000000000000", "2147483648", "9223372036854775807"] {
        let (status, body) = server
            .get(&format!(
                "/v2/registry/docker-credentials?expiry_seconds={expiry}"
            ))
            .await;
        assert_do_error(status, &body, 422, "unprocessable_entity");
        assert!(!body.to_string().contains(expiry), "echoed: {body}");
    }
    assert_eq!(server.event_count().await, before);
    // The server is still up, and the longest lifetime DigitalOcean allows is served.
    let (status, body) = server
        .get("/v2/registry/docker-credentials?expiry_seconds=2147483647")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["auths"].is_object(), "{body}");
}

async fn paging_parameters_are_bounded(backend: Backend) {
    let server = with_repository(backend).await;
    let huge = "9223372036854775808";
    for query in [
        format!("page={huge}"),
        "page=0".into(),
        "page=100001".into(),
        "limit=0".into(),
        "limit=101".into(),
    ] {
        let (status, body) = server
            .get(&format!("/api/v1/repository/acme/web/tag/?{query}"))
            .await;
        assert_quay_error(status, &body, 400, "invalid_request");
        assert!(!body.to_string().contains(huge), "echoed: {body}");
    }
    let (status, body) = server
        .get("/api/v1/repository/acme/web/tag/?page=100000&limit=100")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["page"], 100000);
    // An expiration no datetime can show is refused, not stored.
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web/tag/latest",
            json!({"expiration": 9_000_000_000_000_000_i64}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");

    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "reg", "subscription_tier_slug": "basic"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    for path in [
        "/v2/registry/reg/repositories",
        "/v2/registry/reg/repositoriesV2",
        "/v2/registry/reg/garbage-collections",
    ] {
        for query in [
            format!("page={huge}"),
            "page=0".into(),
            "per_page=0".into(),
            "per_page=201".into(),
        ] {
            let (status, body) = server.get(&format!("{path}?{query}")).await;
            assert_do_error(status, &body, 422, "unprocessable_entity");
            assert!(!body.to_string().contains(huge), "echoed: {body}");
        }
        let (status, body) = server
            .get(&format!("{path}?page=100000&per_page=200"))
            .await;
        assert_eq!(status, 200, "{path}: {body}");
    }
}

async fn put_tag_with_empty_body_is_accepted(backend: Backend) {
    let server = with_repository(backend).await;
    let before = server.event_count().await;
    let (status, body) = server
        .put("/api/v1/repository/acme/web/tag/latest", json!({}))
        .await;
    assert_eq!((status.as_u16(), body), (201, json!("Updated")));
    assert_eq!(server.event_count().await, before, "nothing to change");
    let (status, body) = server
        .put("/api/v1/repository/acme/nosuch/tag/latest", json!({}))
        .await;
    assert_quay_error(status, &body, 404, "not_found");
}

async fn single_segment_repository_paths_answer_404(backend: Backend) {
    let server = with_repository(backend).await;
    let digest = format!("sha256:{}", "0".repeat(64));
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/repository/0/changevisibility",
            Some(json!({"visibility": "public"})),
        ),
        (
            Method::PUT,
            "/api/v1/repository/0/changestate",
            Some(json!({"state": "NORMAL"})),
        ),
        (Method::GET, "/api/v1/repository/0", None),
        (Method::DELETE, "/api/v1/repository/acme", None),
        (Method::GET, "/api/v1/repository/0/logs", None),
        (Method::GET, "/api/v1/repository/0/tag/", None),
        (
            Method::POST,
            "/api/v1/repository/0/tag/latest/restore",
            Some(json!({"manifest_digest": digest})),
        ),
        (
            Method::POST,
            "/api/v1/repository/0/manifest/x/labels",
            Some(json!({"key": "k", "value": "v"})),
        ),
    ] {
        let (status, answer) = server.request(method.clone(), path, body, None).await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
        assert_quay_error(status, &answer, 404, "not_found");
    }
}

async fn percent_encoded_repository_reaches_it(backend: Backend) {
    let server = with_repository(backend).await;
    let (status, body) = server.get("/api/v1/repository/acme%2Fweb").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["namespace"], &body["name"]),
        (&json!("acme"), &json!("web"))
    );
    let (status, body) = server.get("/api/v1/repository/acme%2fweb/tag/").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .post(
            "/api/v1/repository/acme%2Fweb/changevisibility",
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = server.get("/api/v1/repository/acme/web").await;
    assert_eq!(body["is_public"], true, "{body}");
    let (status, body) = server.get("/api/v1/repository/acme%2Fweb/logs").await;
    assert_eq!(status, 200, "{body}");
    assert!(!body["logs"].as_array().unwrap().is_empty(), "{body}");
}

fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn log_routes_take_back_their_own_times(backend: Backend) {
    let server = with_repository(backend).await;
    for base in [
        "/api/v1/repository/acme/web/logs",
        "/api/v1/organization/acme/logs",
        "/api/v1/user/logs",
    ] {
        let (status, first) = server.get(base).await;
        assert_eq!(status, 200, "{first}");
        let (start, end) = (
            first["start_time"].as_str().unwrap(),
            first["end_time"].as_str().unwrap(),
        );
        for (s, e) in [("starttime", "endtime"), ("start_time", "end_time")] {
            let path = format!("{base}?{s}={}&{e}={}", query_value(start), query_value(end));
            let (status, again) = server.get(&path).await;
            assert_eq!(status, 200, "{path}: {again}");
            assert_eq!(again["start_time"], start, "{again}");
            assert_eq!(again["end_time"], end, "{again}");
            assert_eq!(again["logs"], first["logs"], "{again}");
        }
        let aggregate = base.replace("/logs", "/aggregatelogs");
        let path = format!(
            "{aggregate}?starttime={}&endtime={}",
            query_value(start),
            query_value(end)
        );
        let (status, body) = server.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body["aggregated"].as_array().unwrap().is_empty(), "{body}");
    }
    // A crafted page token with a position past any BIGINT is refused, not overflowed.
    // base64url of `[0,4611686018427387903,9223372036854775808]`.
    let token = "WzAsNDYxMTY4NjAxODQyNzM4NzkwMyw5MjIzMzcyMDM2ODU0Nzc1ODA4XQ";
    let (status, body) = server
        .get(&format!("/api/v1/user/logs?next_page={token}"))
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    // The day format still works; nonsense in either format is Quay's 400.
    let (status, body) = server
        .get("/api/v1/user/logs?starttime=06/18/2024&endtime=06/18/2024")
        .await;
    assert_eq!(status, 200, "{body}");
    for bad in ["Tue, 99 Jun 2024 18:59:13 -0000", "12/31/999999"] {
        let (status, body) = server
            .get(&format!("/api/v1/user/logs?endtime={}", query_value(bad)))
            .await;
        assert_quay_error(status, &body, 400, "invalid_request");
    }
}

async fn discovery_declares_what_the_server_does(backend: Backend) {
    let server = Server::start(backend).await;
    let (status, doc) = server.get("/api/v1/discovery").await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/v2/registry",
        "/v2/registry/docker-credentials",
        "/v2/registry/{registry_name}/repositoriesV2",
        "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}",
        "/v2/registry/{registry_name}/garbage-collection/{garbage_collection_uuid}",
        "/plugins/",
        "/a/plugins/{plugin_id}/gerrit~reload",
    ] {
        assert!(paths.contains_key(expected), "{expected} missing");
    }
    let mut operations = 0;
    let mut ids = std::collections::BTreeSet::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            if !["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(ids.insert(id.to_owned()), "operationId {id:?} twice");
            let responses = op["responses"].as_object().unwrap();
            // The document itself and the operator's routes need no credentials.
            // So do the ledger's (an auditor needs no account).
            let public = ["/api/v1/discovery", "/healthz", "/readyz", "/metrics"]
                .contains(&path.as_str())
                || (path.starts_with("/ledger/") && !path.starts_with("/ledger/verify"));
            let needed: &[&str] = if public { &[] } else { &["401", "403", "404"] };
            for status in needed {
                assert!(
                    responses.contains_key(*status),
                    "{method} {path} does not declare {status}"
                );
            }
            for (status, response) in responses {
                let gerrit = path.starts_with("/plugins/") || path.starts_with("/a/plugins/");
                let media = if path == "/metrics" {
                    "application/openmetrics-text"
                } else if gerrit && status.starts_with('4') {
                    // Gerrit's errors are plain text.
                    "text/plain"
                } else if path == "/ledger/checkpoint" && status == "200" {
                    "text/plain"
                } else if path.starts_with("/ledger/tile/") && status == "200" {
                    "application/octet-stream"
                } else if path == "/events/v1/stream" && status == "200" {
                    // One CloudEvent per line (or per SSE event).
                    "application/x-ndjson"
                } else {
                    "application/json"
                };
                // No content, and a redirect, carry no body.
                if status != "204" && status != "302" {
                    assert!(
                        response["content"][media]["schema"].is_object(),
                        "{method} {path} {status} has no schema"
                    );
                }
            }
        }
    }
    assert!(operations > 40, "{operations} operations");
    // Paging parameters carry their bounds.
    let bounds = |path: &str, name: &str| {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let p = params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has no {name}"));
        (
            p["schema"]["minimum"].clone(),
            p["schema"]["maximum"].clone(),
        )
    };
    assert_eq!(
        bounds("/api/v1/repository/{repository}/tag/", "limit"),
        (json!(1), json!(100))
    );
    assert_eq!(
        bounds("/api/v1/repository/{repository}/tag/", "page"),
        (json!(1), json!(100000))
    );
    assert_eq!(
        bounds("/v2/registry/{registry_name}/repositories", "per_page"),
        (json!(1), json!(200))
    );
    assert_eq!(bounds("/a/plugins/", "n"), (json!(0), json!(1000000)));
    assert_eq!(bounds("/plugins/", "S"), (json!(0), json!(1000000)));
    assert_eq!(
        bounds("/v2/registry/docker-credentials", "expiry_seconds"),
        (json!(0), json!(2147483647))
    );
    // Creating a repository links to reading it, in OpenAPI's own (camelCase) keys.
    let link = &doc["paths"]["/api/v1/repository"]["post"]["responses"]["201"]["links"]["getRepo"];
    assert_eq!(link["operationId"], "getRepo", "{link}");
    assert_eq!(
        link["parameters"]["repository"],
        "{$response.body#/namespace}/{$response.body#/name}"
    );
    // Each family keeps its own schemas (one name each: a clash would silently replace one).
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["RepositoryList"]["properties"]["next_page"].is_object());
    assert!(schemas["RegistryRepositoryList"]["properties"]["meta"].is_object());
    assert!(schemas["QuayErrorBody"]["properties"]["error_type"].is_object());
    assert!(schemas["DoErrorBody"]["properties"]["id"].is_object());
    // The body of PUT .../tag/{tag} requires nothing.
    let body = &doc["paths"]["/api/v1/repository/{repository}/tag/{tag}"]["put"]["requestBody"];
    let schema = &body["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    };
    assert!(
        schema["required"].as_array().is_none_or(|r| r.is_empty()),
        "{schema}"
    );
}
