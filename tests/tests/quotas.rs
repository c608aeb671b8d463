//! Namespace quotas: the Quay routes' life cycle with their usage-log kinds, who may read and
//! change them, bad input refused without an event, a push refused at a `Reject` limit before
//! anything is stored, the `Warning` limit's event appended once with the push that crossed
//! it, usage falling after a tag delete and a collection, and the registry size.

use std::path::PathBuf;
use std::time::Duration;

use annals_tests::oci::{Image, OCI_MANIFEST, sha256};
use annals_tests::{Backend, Server, StoredEvent, assert_quay_error, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    quota_routes_life_cycle => quota_routes_life_cycle;
    bad_input_is_refused_without_an_event => bad_input_is_refused_without_an_event;
    members_read_and_superusers_change => members_read_and_superusers_change;
    pushes_meet_reject_and_warning_limits => pushes_meet_reject_and_warning_limits;
    usage_falls_after_a_tag_delete_and_a_collection => usage_falls_after_a_tag_delete_and_a_collection;
    concurrent_pushes_never_pass_the_reject_limit_together => concurrent_pushes;
}

const ORG_QUOTA: &str = "/api/v1/organization/acme/quota";

async fn with_org(backend: Backend) -> Server {
    let server = Server::start(backend).await;
    let (status, body) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(status, 201, "{body}");
    server
}

async fn created(server: &Server, path: &str, body: Value) {
    let (status, answer) = server.post(path, body).await;
    assert_eq!(status, 201, "{path}: {answer}");
    assert_eq!(answer, json!("Created"));
}

async fn log_kinds(server: &Server) -> Vec<String> {
    let (status, logs) = server.get("/api/v1/organization/acme/logs").await;
    assert_eq!(status, 200, "{logs}");
    logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn of_type<'a>(events: &'a [StoredEvent], event_type: &str) -> Vec<&'a StoredEvent> {
    events
        .iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

/// The bytes a quota counts for an image: its config and layers.
fn blob_bytes(image: &Image) -> u64 {
    image.blobs().iter().map(|b| b.len() as u64).sum()
}

fn blob_file(server: &Server, bytes: &[u8]) -> PathBuf {
    let digest = sha256(bytes);
    let hex = digest.trim_start_matches("sha256:");
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}

async fn quota_bytes(server: &Server) -> u64 {
    let (status, org) = server.get("/api/v1/organization/acme").await;
    assert_eq!(status, 200, "{org}");
    org["quota_report"]["quota_bytes"].as_u64().unwrap()
}

async fn quota_routes_life_cycle(backend: Backend) {
    let server = with_org(backend).await;
    let (status, list) = server.get(ORG_QUOTA).await;
    assert_eq!((status.as_u16(), list), (200, json!([])));
    created(&server, ORG_QUOTA, json!({"limit_bytes": 10_240})).await;
    let (status, list) = server.get(ORG_QUOTA).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!([{"id": 1, "limit_bytes": 10_240, "limit": "10.0 KiB", "default_config": false,
                "limits": [], "default_config_exists": false}])
    );
    created(
        &server,
        &format!("{ORG_QUOTA}/1/limit"),
        json!({"type": "Warning", "threshold_percent": 50}),
    )
    .await;
    created(
        &server,
        &format!("{ORG_QUOTA}/1/limit"),
        json!({"type": "reject", "threshold_percent": 100}),
    )
    .await;
    let (_, limits) = server.get(&format!("{ORG_QUOTA}/1/limit")).await;
    assert_eq!(
        limits,
        json!([{"id": 1, "type": "Warning", "limit_percent": 50},
               {"id": 2, "type": "Reject", "limit_percent": 100}])
    );
    let (status, limit) = server.get(&format!("{ORG_QUOTA}/1/limit/2")).await;
    assert_eq!(
        (status.as_u16(), limit),
        (
            200,
            json!({"id": 2, "type": "Reject", "limit_percent": 100})
        )
    );
    let (status, quota) = server
        .put(
            &format!("{ORG_QUOTA}/1/limit/1"),
            json!({"threshold_percent": 80}),
        )
        .await;
    assert_eq!(status, 200, "{quota}");
    assert_eq!(quota["limits"][0]["limit_percent"], 80);
    let (status, quota) = server
        .put(&format!("{ORG_QUOTA}/1"), json!({"limit": "2 GiB"}))
        .await;
    assert_eq!(status, 200, "{quota}");
    assert_eq!(
        (quota["limit_bytes"].clone(), quota["limit"].clone()),
        (json!(2u64 << 30), json!("2.0 GiB"))
    );
    let (_, quota) = server.get(&format!("{ORG_QUOTA}/1")).await;
    assert_eq!(quota["limit_bytes"], 2u64 << 30);

    let (_, org) = server.get("/api/v1/organization/acme").await;
    assert_eq!(org["quotas"][0]["id"], 1, "{org}");
    assert_eq!(
        org["quota_report"],
        json!({"quota_bytes": 0, "configured_quota": 2u64 << 30,
               "running_backfill": "complete", "backfill_status": "complete"})
    );

    for missing in [
        format!("{ORG_QUOTA}/2"),
        format!("{ORG_QUOTA}/abc"),
        format!("{ORG_QUOTA}/1/limit/9"),
    ] {
        let (status, body) = server.get(&missing).await;
        assert_quay_error(status, &body, 404, "not_found");
    }
    let (status, _) = server.delete(&format!("{ORG_QUOTA}/1/limit/1")).await;
    assert_eq!(status, 204);
    let (status, _) = server.delete(&format!("{ORG_QUOTA}/1")).await;
    assert_eq!(status, 204);
    let (_, list) = server.get(ORG_QUOTA).await;
    assert_eq!(list, json!([]));
    // A new quota gets a new id; the old one names nothing.
    created(&server, ORG_QUOTA, json!({"limit": "1 GiB"})).await;
    let (_, list) = server.get(ORG_QUOTA).await;
    assert_eq!(list[0]["id"], 2, "{list}");
    assert_eq!(list[0]["limits"], json!([]));

    let kinds = log_kinds(&server).await;
    for kind in [
        "org_create_quota",
        "org_change_quota",
        "org_delete_quota",
        "org_create_quota_limit",
        "org_change_quota_limit",
        "org_delete_quota_limit",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    let changed = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "org_change_quota")
        .unwrap();
    assert_eq!(changed["metadata"]["limit"], "2.0 GiB", "{changed}");
    assert_eq!(changed["metadata"]["previous_limit_bytes"], 10_240);
    let events = server.events().await;
    assert_eq!(of_type(&events, "quota.created.v1").len(), 2);
    assert!(
        of_type(&events, "quota.created.v1")
            .iter()
            .all(|e| e.stream.starts_with("quota-"))
    );
}

async fn bad_input_is_refused_without_an_event(backend: Backend) {
    let server = with_org(backend).await;
    created(&server, ORG_QUOTA, json!({"limit_bytes": 1000})).await;
    created(
        &server,
        &format!("{ORG_QUOTA}/1/limit"),
        json!({"type": "Reject", "threshold_percent": 90}),
    )
    .await;
    let before = server.event_count().await;
    let limit = format!("{ORG_QUOTA}/1/limit");
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            ORG_QUOTA.into(),
            json!({"limit_bytes": 5}),
            "already exists",
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            json!({"limit_bytes": -5}),
            "Invalid quota size limit value",
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            json!({"limit_bytes": 10_000_000_000_000_000_000u64}),
            "Unsupported quota size limit",
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            json!({"limit_bytes": 1.5}),
            "Invalid quota size limit value",
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            json!({"limit": "ten"}),
            "Invalid limit format",
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            json!({"limit": "9 YiB"}),
            "Unsupported quota size limit",
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            json!({"bytes": 5}),
            "unknown field",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Info", "threshold_percent": 50}),
            "Quota type must be one of",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Warning", "threshold_percent": 0}),
            "between 1 and 100",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Warning", "threshold_percent": 101}),
            "between 1 and 100",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Warning", "threshold_percent": 1_000_000_000_000i64}),
            "between 1 and 100",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Warning"}),
            "threshold_percent",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Reject", "threshold_percent": 90}),
            "already exists",
        ),
        (
            Method::POST,
            limit.clone(),
            json!({"type": "Reject", "threshold_percent": 95}),
            "Only one quota limit of type 'Reject'",
        ),
        (
            Method::PUT,
            format!("{limit}/1"),
            json!({"threshold_percent": -1}),
            "between 1 and 100",
        ),
        (
            Method::PUT,
            format!("{limit}/1"),
            json!({"type": "Soft"}),
            "Quota type must be one of",
        ),
        (
            Method::POST,
            "/api/v1/superuser/users/admin/quota".into(),
            json!({"limit_bytes": 0}),
            "Invalid quota size limit value",
        ),
        (
            Method::POST,
            "/api/v1/superuser/organization/acme/quota".into(),
            json!({"limit": "1 GiB"}),
            "Quota for 'acme' already exists",
        ),
        (
            Method::POST,
            "/api/v1/superuser/users/admin/quota".into(),
            json!({"limit": "1.5GiB"}),
            "Invalid limit format",
        ),
    ];
    for (method, path, body, message) in cases {
        let (status, answer) = server
            .request(method.clone(), &path, Some(body.clone()), None)
            .await;
        assert_quay_error(status, &answer, 400, "invalid_request");
        assert!(
            answer["error_message"].as_str().unwrap().contains(message),
            "{method} {path} {body}: {answer}"
        );
    }
    let (status, answer) = server
        .send_raw(Method::POST, ORG_QUOTA, "{\"limit_bytes\": ")
        .await;
    assert_quay_error(status, &answer, 400, "invalid_request");
    assert_eq!(server.event_count().await, before, "no event appended");
    let (_, quota) = server.get(&format!("{ORG_QUOTA}/1")).await;
    assert_eq!(quota["limit_bytes"], 1000);
}

async fn members_read_and_superusers_change(backend: Backend) {
    let server = with_org(backend).await;
    let scopes = "org:admin user:admin user:read repo:admin";
    let bob = server.user_token("acme", "bob", scopes).await;
    let carol = server.user_token("acme", "carol", scopes).await;
    let (status, body) = server
        .put(
            "/api/v1/organization/acme/team/owners/members/carol",
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    created(&server, ORG_QUOTA, json!({"limit_bytes": 1 << 20})).await;
    let as_ = |token: &str, method: Method, path: &str, body: Option<Value>| {
        let (token, path) = (token.to_owned(), path.to_owned());
        let server = &server;
        async move { server.request(method, &path, body, Some(&token)).await }
    };
    // bob is no member: he reads nothing.
    let (status, body) = as_(&bob, Method::GET, ORG_QUOTA, None).await;
    assert_quay_error(status, &body, 403, "unauthorized");
    // carol administers acme: she reads, but only a superuser changes a quota (as in Quay).
    let (status, list) = as_(&carol, Method::GET, ORG_QUOTA, None).await;
    assert_eq!(
        (status.as_u16(), list[0]["limit_bytes"].clone()),
        (200, json!(1 << 20))
    );
    let (status, _) = as_(&carol, Method::GET, &format!("{ORG_QUOTA}/1/limit"), None).await;
    assert_eq!(status, 200);
    let before = server.event_count().await;
    for (method, path, body) in [
        (
            Method::POST,
            ORG_QUOTA.to_owned(),
            Some(json!({"limit_bytes": 5})),
        ),
        (
            Method::PUT,
            format!("{ORG_QUOTA}/1"),
            Some(json!({"limit_bytes": 5})),
        ),
        (Method::DELETE, format!("{ORG_QUOTA}/1"), None),
        (
            Method::POST,
            format!("{ORG_QUOTA}/1/limit"),
            Some(json!({"type": "Reject", "threshold_percent": 90})),
        ),
        (
            Method::GET,
            "/api/v1/superuser/organization/acme/quota".into(),
            None,
        ),
        (
            Method::POST,
            "/api/v1/superuser/users/bob/quota".into(),
            Some(json!({"limit_bytes": 5})),
        ),
        (Method::GET, "/api/v1/superuser/registrysize/".into(), None),
        (Method::POST, "/api/v1/superuser/registrysize/".into(), None),
    ] {
        let (status, answer) = as_(&carol, method.clone(), &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
    }
    // Each refusal is recorded (`access_denied`), and nothing else is appended.
    let after: Vec<String> = server
        .events()
        .await
        .into_iter()
        .filter(|e| e.position > before)
        .map(|e| e.event_type)
        .collect();
    assert_eq!(after, vec!["audit.access_denied.v1".to_owned(); 8]);

    // The user routes: one's own quota, set by a superuser.
    let (status, list) = as_(&bob, Method::GET, "/api/v1/user/quota", None).await;
    assert_eq!((status.as_u16(), list), (200, json!([])));
    created(
        &server,
        "/api/v1/superuser/users/bob/quota",
        json!({"limit": "1 GiB"}),
    )
    .await;
    let (_, list) = server.get("/api/v1/superuser/users/bob/quota").await;
    assert_eq!(list[0]["limit"], "1.0 GiB", "{list}");
    let (status, list) = as_(&bob, Method::GET, "/api/v1/user/quota", None).await;
    assert_eq!(
        (status.as_u16(), list[0]["limit_bytes"].clone()),
        (200, json!(1u64 << 30))
    );
    let (status, quota) = as_(&bob, Method::GET, "/api/v1/user/quota/1", None).await;
    assert_eq!((status.as_u16(), quota["id"].clone()), (200, json!(1)));
    let (status, limits) = as_(&bob, Method::GET, "/api/v1/user/quota/1/limit", None).await;
    assert_eq!((status.as_u16(), limits), (200, json!([])));
    let (status, body) = as_(&bob, Method::GET, "/api/v1/user/quota/1/limit/1", None).await;
    assert_quay_error(status, &body, 404, "not_found");
    // Reading one's quotas takes `user:admin`, as Quay's `require_user_admin`.
    let read_only = server.user_token("acme", "dave", "user:read").await;
    let (status, body) = as_(&read_only, Method::GET, "/api/v1/user/quota", None).await;
    assert_quay_error(status, &body, 403, "insufficient_scope");

    let (status, quota) = server
        .put(
            "/api/v1/superuser/users/bob/quota/1",
            json!({"limit_bytes": 4096}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), quota["limit"].clone()),
        (200, json!("4.0 KiB"))
    );
    let (status, _) = server.delete("/api/v1/superuser/users/bob/quota/1").await;
    assert_eq!(status, 204);
    let (_, list) = as_(&bob, Method::GET, "/api/v1/user/quota", None).await;
    assert_eq!(list, json!([]));
    let (status, quota) = server
        .put(
            "/api/v1/superuser/organization/acme/quota/1",
            json!({"limit": "3 KiB"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), quota["limit_bytes"].clone()),
        (200, json!(3072))
    );
    let (status, body) = server
        .get("/api/v1/superuser/organization/nope/quota")
        .await;
    assert_quay_error(status, &body, 404, "not_found");
    let (status, _) = server
        .delete("/api/v1/superuser/organization/acme/quota/1")
        .await;
    assert_eq!(status, 204);

    // The registry's size: what its manifests reference, computed when asked.
    let (status, size) = server.get("/api/v1/superuser/registrysize/").await;
    assert_eq!(
        (status.as_u16(), size),
        (
            200,
            json!({"size_bytes": 0, "last_ran": null, "queued": false, "running": false})
        )
    );
    let image = Image::new("size", 2, 2_000);
    server.push_image("acme/web", "v1", &image).await;
    let (status, _) = server
        .request(Method::POST, "/api/v1/superuser/registrysize/", None, None)
        .await;
    assert_eq!(status, 201);
    let (_, size) = server.get("/api/v1/superuser/registrysize/").await;
    assert_eq!(size["size_bytes"], blob_bytes(&image), "{size}");
    assert!(size["last_ran"].as_i64().is_some(), "{size}");
    assert_eq!(
        of_type(&server.events().await, "registry_size.queued.v1").len(),
        1
    );
}

async fn pushes_meet_reject_and_warning_limits(backend: Backend) {
    let server = with_org(backend).await;
    let a = Image::new("quota-a", 1, 4_000);
    let b = Image::new("quota-b", 1, 4_000);
    let small = Image::new("quota-small", 1, 10);
    let c = Image::new("quota-c", 2, 3_000);
    let (ua, ub, us) = (blob_bytes(&a), blob_bytes(&b), blob_bytes(&small));
    let layers_c: Vec<u64> = c.layers.iter().map(|l| l.len() as u64).collect();
    // After a, b and small, each of c's blobs fits on its own; all of them do not.
    let limit = ua + ub + us + c.config.len() as u64 + layers_c.iter().max().unwrap() + 10;
    assert!(ua + ub + us + blob_bytes(&c) > limit);
    let warning = limit / 2;
    assert!(
        ua < warning && warning <= ua + ub,
        "the warning falls within b's push"
    );
    created(&server, ORG_QUOTA, json!({"limit_bytes": limit})).await;
    for (kind, percent) in [("Warning", 50), ("Reject", 100)] {
        created(
            &server,
            &format!("{ORG_QUOTA}/1/limit"),
            json!({"type": kind, "threshold_percent": percent}),
        )
        .await;
    }

    server.push_image("acme/web", "a", &a).await;
    assert!(of_type(&server.events().await, "quota.warning_reached.v1").is_empty());
    assert_eq!(quota_bytes(&server).await, ua);
    server.push_image("acme/web", "b", &b).await;
    assert_eq!(quota_bytes(&server).await, ua + ub);
    let events = server.events().await;
    let warnings = of_type(&events, "quota.warning_reached.v1");
    assert_eq!(warnings.len(), 1, "one warning");
    let warning_event = warnings[0];
    let repository_id = warning_event.data["repository_id"].clone();
    assert_eq!(
        warning_event.data,
        json!({"namespace_id": warning_event.data["namespace_id"], "namespace": "acme",
               "repository_id": repository_id, "repository": "web", "quota_id": 1,
               "limit_bytes": limit, "threshold_percent": 50, "usage_bytes": ua + ub})
    );
    // In the batch of the push that crossed it.
    let pushed = events
        .iter()
        .rev()
        .find(|e| e.event_type == "repository.manifest_pushed.v1")
        .unwrap();
    assert_eq!(pushed.data["digest"], b.digest.as_str());
    assert_eq!(
        pushed.metadata["command_id"], warning_event.metadata["command_id"],
        "same command"
    );
    // Above the line, a push that fits crosses nothing again; a re-tag adds nothing.
    server.push_image("acme/web", "small", &small).await;
    server
        .push_manifest("acme/web", "a-again", OCI_MANIFEST, &a.manifest)
        .await;
    assert_eq!(
        of_type(&server.events().await, "quota.warning_reached.v1").len(),
        1
    );

    // c's blobs fit one by one; its manifest would pass the limit: refused, nothing stored.
    for blob in c.blobs() {
        server.push_blob("acme/web", blob).await;
    }
    let before = server.event_count().await;
    let response = server
        .registry_request(Method::PUT, "/v2/acme/web/manifests/c")
        .header("content-type", OCI_MANIFEST)
        .body(c.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED", "{body}");
    assert_eq!(
        body["errors"][0]["message"], "Quota has been exceeded on namespace",
        "{body}"
    );
    assert_eq!(server.event_count().await, before, "no event appended");
    assert!(
        !blob_file(&server, &c.manifest).exists(),
        "manifest not stored"
    );
    let (status, _, _) = server.pull_manifest("acme/web", "c").await;
    assert_eq!(status, 404);
    let (_, tags) = server.get("/api/v1/repository/acme/web/tag/").await;
    let names: Vec<&str> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"c"), "{names:?}");

    // A blob that alone would pass the limit is refused before its bytes are stored.
    let big = Image::new("quota-big", 1, 8_000);
    let response = server
        .registry_request(
            Method::POST,
            &format!(
                "/v2/acme/web/blobs/uploads/?digest={}",
                sha256(&big.layers[0])
            ),
        )
        .header("content-type", "application/octet-stream")
        .body(big.layers[0].clone())
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(response).await;
    assert_eq!((status.as_u16(), code.as_deref()), (403, Some("DENIED")));
    assert!(
        !blob_file(&server, &big.layers[0]).exists(),
        "blob not stored"
    );
    assert_eq!(server.event_count().await, before, "no event appended");
    assert_eq!(quota_bytes(&server).await, ua + ub + us);

    // Without the Reject limit the same manifest goes through.
    let (status, _) = server.delete(&format!("{ORG_QUOTA}/1/limit/2")).await;
    assert_eq!(status, 204);
    server
        .push_manifest("acme/web", "c", OCI_MANIFEST, &c.manifest)
        .await;
}

/// Manifests pushed at once, each of which fits alone but no two together: exactly one is
/// taken, however the pushes interleave (the quota's charge serializes them), and usage never
/// passes the limit.
async fn concurrent_pushes(backend: Backend) {
    const PUSHES: usize = 6;
    let server = with_org(backend).await;
    let images: Vec<Image> = (0..PUSHES)
        .map(|i| Image::new(&format!("race-{i}"), 1, 6_000))
        .collect();
    let largest = images.iter().map(blob_bytes).max().unwrap();
    let smallest = images.iter().map(blob_bytes).min().unwrap();
    let limit = largest + smallest / 2;
    created(&server, ORG_QUOTA, json!({"limit_bytes": limit})).await;
    created(
        &server,
        &format!("{ORG_QUOTA}/1/limit"),
        json!({"type": "Reject", "threshold_percent": 100}),
    )
    .await;
    // Every blob fits on its own, so each upload goes through.
    for (i, image) in images.iter().enumerate() {
        for blob in image.blobs() {
            server.push_blob(&format!("acme/r{i}"), blob).await;
        }
    }
    let statuses = futures::future::join_all(images.iter().enumerate().map(|(i, image)| {
        server
            .registry_request(Method::PUT, &format!("/v2/acme/r{i}/manifests/v1"))
            .header("content-type", OCI_MANIFEST)
            .body(image.manifest.clone())
            .send()
    }))
    .await
    .into_iter()
    .map(|r| r.unwrap().status().as_u16())
    .collect::<Vec<_>>();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "exactly one push fits: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 403].contains(s)),
        "{statuses:?}"
    );
    assert!(quota_bytes(&server).await <= limit);
    let charges = of_type(&server.events().await, "quota.charged.v1").len();
    assert_eq!(charges, 1);
}

async fn usage_falls_after_a_tag_delete_and_a_collection(backend: Backend) {
    let server = Server::start(backend).await;
    // A DigitalOcean registry over `acme`: its collections free what deleted tags left.
    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "acme", "subscription_tier_slug": "professional", "region": "ams3"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    created(&server, ORG_QUOTA, json!({"limit": "1 GiB"})).await;
    let kept = Image::new("usage-kept", 1, 3_000);
    let gone = Image::new("usage-gone", 2, 3_000);
    server.push_image("acme/web", "kept", &kept).await;
    server.push_image("acme/web", "gone", &gone).await;
    let both = blob_bytes(&kept) + blob_bytes(&gone);
    assert_eq!(quota_bytes(&server).await, both);
    let (status, _) = server.get(ORG_QUOTA).await;
    assert_eq!(status, 200);

    let (status, body) = server.delete("/api/v1/repository/acme/web/tag/gone").await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server
        .post(
            "/v2/registry/acme/garbage-collection",
            json!({"type": "untagged manifests and unreferenced blobs"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let uuid = body["garbage_collection"]["uuid"].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let (_, list) = server
            .get("/v2/registry/acme/garbage-collections?per_page=200")
            .await;
        let gc = list["garbage_collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["uuid"] == uuid)
            .cloned()
            .unwrap();
        if gc["status"] == "succeeded" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{gc}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(quota_bytes(&server).await, blob_bytes(&kept));
    let (_, org) = server.get("/api/v1/organization/acme").await;
    assert_eq!(org["quota_report"]["configured_quota"], 1u64 << 30);
    // The repository list reports each repository's own bytes, as Quay's does.
    let (status, list) = server.get("/api/v1/repository?namespace=acme").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["repositories"][0]["quota_report"],
        json!({"quota_bytes": blob_bytes(&kept), "configured_quota": 1u64 << 30})
    );
}
