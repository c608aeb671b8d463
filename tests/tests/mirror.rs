//! Repository mirroring's configuration routes: create, read, change, sync-now and cancel as
//! events with Quay's log kinds, bad input refused with Quay's 400 and no event, the password
//! never answered nor in the log, administrators only, and a repository in the `MIRROR` state
//! that takes pushes from its mirror's robot alone.

use annals_tests::oci::{Image, OCI_MANIFEST, sha256};
use annals_tests::{Backend, Server, assert_quay_error, basic_auth, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    configuration_is_events_and_never_the_password => configuration_is_events_and_never_the_password;
    bad_input_is_refused_without_an_event => bad_input_is_refused_without_an_event;
    only_administrators_configure_mirrors => only_administrators_configure_mirrors;
    a_mirroring_repository_takes_pushes_from_its_robot_alone => a_mirroring_repository_takes_pushes_from_its_robot_alone;
}

const PASSWORD: &str = "upstream-s3cret-passw0rd";
const MIRROR: &str = "/api/v1/repository/acme/web/mirror";

/// `acme`, its repository `acme/web` and its robot `acme+mirror`; answers the robot's token.
async fn setup(server: &Server) -> String {
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
    let (s, robot) = server
        .put("/api/v1/organization/acme/robots/mirror", json!({}))
        .await;
    assert_eq!(s, 201, "{robot}");
    robot["token"].as_str().expect("token").to_owned()
}

fn config() -> Value {
    json!({
        "is_enabled": true,
        "external_reference": "127.0.0.1:5999/library/web",
        "external_registry_username": "puller",
        "external_registry_password": PASSWORD,
        "external_registry_config": {
            "verify_tls": false,
            "unsigned_images": true,
            "proxy": {"http_proxy": null, "https_proxy": null, "no_proxy": "localhost"}
        },
        "sync_interval": 3600,
        "sync_start_date": "2099-01-01T00:00:00Z",
        "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["v1.*", "latest"]},
        "robot_username": "acme+mirror"
    })
}

fn kinds(body: &Value) -> Vec<String> {
    body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn configuration_is_events_and_never_the_password(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let (s, b) = server.get(MIRROR).await;
    assert_quay_error(s, &b, 404, "not_found");

    let (s, b) = server.post(MIRROR, config()).await;
    assert_eq!(s, 201, "{b}");
    let (s, again) = server.post(MIRROR, config()).await;
    assert_eq!(s, 409, "{again}");

    let (s, m) = server.get(MIRROR).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["is_enabled"], true);
    assert_eq!(m["mirror_type"], "PULL");
    assert_eq!(m["external_reference"], "127.0.0.1:5999/library/web");
    assert_eq!(m["external_registry_username"], "puller");
    assert_eq!(m["external_registry_config"]["verify_tls"], false);
    assert_eq!(m["external_registry_config"]["unsigned_images"], true);
    assert_eq!(
        m["external_registry_config"]["proxy"]["no_proxy"],
        "localhost"
    );
    assert_eq!(m["sync_interval"], 3600);
    assert_eq!(m["sync_start_date"], "2099-01-01T00:00:00Z");
    assert_eq!(m["sync_expiration_date"], Value::Null);
    assert_eq!(m["sync_status"], "NEVER_RUN");
    assert_eq!(m["sync_retries_remaining"], 3);
    assert_eq!(
        m["root_rule"],
        json!({"rule_kind": "tag_glob_csv", "rule_value": ["v1.*", "latest"]})
    );
    assert_eq!(m["robot_username"], "acme+mirror");
    assert_eq!(m["skopeo_timeout_interval"], 300);
    assert!(!m.to_string().contains(PASSWORD), "{m}");

    // The repository mirrors, and its robot may write.
    let (_, repo) = server.get("/api/v1/repository/acme/web").await;
    assert_eq!(repo["state"], "MIRROR", "{repo}");
    let (s, perm) = server
        .get("/api/v1/repository/acme/web/permissions/user/acme+mirror")
        .await;
    assert_eq!((s.as_u16(), perm["role"].as_str()), (200, Some("write")));

    // Changes: only what the body names.
    let (s, b) = server
        .put(
            MIRROR,
            json!({"is_enabled": false, "sync_interval": 7200,
                   "root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["v2.*"]}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, m) = server.get(MIRROR).await;
    assert_eq!(
        (
            &m["is_enabled"],
            &m["sync_interval"],
            &m["root_rule"]["rule_value"],
            &m["external_registry_username"]
        ),
        (
            &json!(false),
            &json!(7200),
            &json!(["v2.*"]),
            &json!("puller")
        )
    );
    // New credentials: the username alone would keep the password; both replace it.
    let (s, b) = server
        .put(
            MIRROR,
            json!({"external_registry_username": "other", "external_registry_password": "n3w-secret-value"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, m) = server.get(MIRROR).await;
    assert_eq!(m["external_registry_username"], "other");

    // Sync now, then cancel; nothing to cancel after that.
    let (s, b) = server
        .request(Method::POST, &format!("{MIRROR}/sync-now"), None, None)
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, m) = server.get(MIRROR).await;
    assert_eq!(m["sync_status"], "SYNC_NOW");
    let (s, b) = server
        .request(Method::POST, &format!("{MIRROR}/sync-cancel"), None, None)
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, m) = server.get(MIRROR).await;
    assert_eq!(
        (&m["sync_status"], &m["sync_retries_remaining"]),
        (&json!("CANCEL"), &json!(0))
    );
    let (s, b) = server
        .request(Method::POST, &format!("{MIRROR}/sync-cancel"), None, None)
        .await;
    assert_quay_error(s, &b, 404, "not_found");

    // Quay's log kinds, and neither password anywhere in the log.
    let (s, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    assert_eq!(s, 200, "{logs}");
    let kinds = kinds(&logs);
    for kind in [
        "repo_mirror_enabled",
        "repo_mirror_disabled",
        "repo_mirror_config_changed",
        "repo_mirror_sync_now_requested",
        "change_repo_state",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let events = server.events().await;
    let created = events
        .iter()
        .find(|e| e.event_type == "repository.mirror_created.v1")
        .expect("created event");
    assert!(created.data["config"]["credential_id"].is_string());
    for e in &events {
        let text = e.data.to_string();
        assert!(
            !text.contains(PASSWORD) && !text.contains("n3w-secret-value"),
            "{text}"
        );
    }
    assert!(!logs.to_string().contains(PASSWORD));
}

async fn bad_input_is_refused_without_an_event(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let (s, b) = server
        .put("/api/v1/organization/acme/robots/other", json!({}))
        .await;
    assert_eq!(s, 201, "{b}");
    let before = server.event_count().await;
    let with = |key: &str, value: Value| {
        let mut c = config();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = config();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let cases = [
        ("no external_reference", without("external_reference")),
        ("no root_rule", without("root_rule")),
        ("no robot", without("robot_username")),
        ("no interval", without("sync_interval")),
        ("no start date", without("sync_start_date")),
        (
            "bad reference",
            with("external_reference", json!("not a reference")),
        ),
        (
            "bad glob",
            with(
                "root_rule",
                json!({"rule_kind": "tag_glob_csv", "rule_value": ["[v1"]}),
            ),
        ),
        (
            "empty rule",
            with(
                "root_rule",
                json!({"rule_kind": "tag_glob_csv", "rule_value": []}),
            ),
        ),
        (
            "unknown rule kind",
            with(
                "root_rule",
                json!({"rule_kind": "regex", "rule_value": ["v1"]}),
            ),
        ),
        ("negative interval", with("sync_interval", json!(-5))),
        ("zero interval", with("sync_interval", json!(0))),
        (
            "huge interval",
            with("sync_interval", json!(100_000_000_000i64)),
        ),
        ("interval text", with("sync_interval", json!("hourly"))),
        ("bad date", with("sync_start_date", json!("tomorrow"))),
        (
            "unknown robot",
            with("robot_username", json!("acme+nobody")),
        ),
        ("not a robot", with("robot_username", json!("admin"))),
        ("short timeout", with("skopeo_timeout_interval", json!(10))),
        (
            "architectures",
            with("architecture_filter", json!(["arm64"])),
        ),
    ];
    for (why, body) in cases {
        let (s, b) = server.post(MIRROR, body).await;
        assert_quay_error(s, &b, 400, "invalid_request");
        assert_eq!(server.event_count().await, before, "{why}: {b}");
    }
    let (s, b) = server
        .send_raw(Method::POST, MIRROR, "{\"external_reference\":")
        .await;
    assert_eq!(s, 400, "{b}");
    // No mirror yet: changes and syncs answer 404.
    let (s, b) = server.put(MIRROR, json!({"sync_interval": 60})).await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, b) = server
        .request(Method::POST, &format!("{MIRROR}/sync-now"), None, None)
        .await;
    assert_quay_error(s, &b, 404, "not_found");
    assert_eq!(server.event_count().await, before);

    // Bad changes of an existing mirror.
    let (s, b) = server.post(MIRROR, config()).await;
    assert_eq!(s, 201, "{b}");
    let before = server.event_count().await;
    for (why, body) in [
        ("interval", json!({"sync_interval": -1})),
        (
            "glob",
            json!({"root_rule": {"rule_kind": "tag_glob_csv", "rule_value": ["a b"]}}),
        ),
        ("robot", json!({"robot_username": "acme+nobody"})),
        ("password alone", json!({"external_registry_password": "x"})),
        (
            "password without username",
            json!({"external_registry_username": null, "external_registry_password": "x"}),
        ),
        ("date", json!({"sync_start_date": "2026-13-01"})),
    ] {
        let (s, b) = server.put(MIRROR, body).await;
        assert_quay_error(s, &b, 400, "invalid_request");
        assert_eq!(server.event_count().await, before, "{why}: {b}");
    }
    // A change that changes nothing appends nothing.
    let (s, b) = server.put(MIRROR, json!({"sync_interval": 3600})).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(server.event_count().await, before);
}

async fn only_administrators_configure_mirrors(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let eve = server
        .user_token("acme", "eve", "repo:read repo:write repo:admin")
        .await;
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/permissions/user/eve",
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let before = server.event_count().await;
    for (method, path, body) in [
        (Method::GET, MIRROR.to_owned(), None),
        (Method::POST, MIRROR.to_owned(), Some(config())),
        (
            Method::PUT,
            MIRROR.to_owned(),
            Some(json!({"sync_interval": 60})),
        ),
        (Method::POST, format!("{MIRROR}/sync-now"), None),
        (Method::POST, format!("{MIRROR}/sync-cancel"), None),
    ] {
        let (s, b) = server
            .request(method.clone(), &path, body, Some(&eve))
            .await;
        assert_eq!(s, 403, "{method} {path}: {b}");
    }
    // Refusals are recorded as audit events; no mirror was made.
    let (s, _) = server.get(MIRROR).await;
    assert_eq!(s, 404);
    assert!(
        server
            .events()
            .await
            .iter()
            .skip_while(|e| e.position <= before)
            .all(|e| !e.event_type.starts_with("repository.mirror"))
    );
}

async fn a_mirroring_repository_takes_pushes_from_its_robot_alone(backend: Backend) {
    let server = Server::start(backend).await;
    let robot_token = setup(&server).await;
    // Another writer: a robot with write on the repository.
    let (s, other) = server
        .put("/api/v1/organization/acme/robots/ci", json!({}))
        .await;
    assert_eq!(s, 201, "{other}");
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/permissions/user/acme+ci",
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = server.post(MIRROR, config()).await;
    assert_eq!(s, 201, "{b}");

    let image = Image::new("mirrored", 1, 5_000);
    let robot = basic_auth("acme+mirror", &robot_token);
    let ci = basic_auth("acme+ci", other["token"].as_str().unwrap());
    let admin = basic_auth(annals_tests::ADMIN, &server.token);

    // The admin and the other robot are refused, and nothing of theirs is recorded.
    let before = server.event_count().await;
    for auth in [&admin, &ci] {
        let (status, code) = push_blob(&server, auth, &image.config).await;
        assert_eq!(
            (status, code.as_deref()),
            (StatusCode::FORBIDDEN, Some("DENIED"))
        );
    }
    assert_eq!(server.event_count().await, before);

    // The mirror's robot pushes.
    for blob in image.blobs() {
        let (status, _) = push_blob(&server, &robot, blob).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let r = reqwest::Client::new()
        .put(format!("{}/v2/acme/web/manifests/v1", server.registry))
        .header("Authorization", &robot)
        .header("content-type", OCI_MANIFEST)
        .body(image.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, digest, bytes) = server.pull_manifest("acme/web", "v1").await;
    assert_eq!(status, 200);
    assert_eq!(digest.as_deref(), Some(image.digest.as_str()));
    assert_eq!(bytes, image.manifest);

    // Quay's tag and label routes answer 503 while the repository mirrors, recording nothing.
    let before = server.event_count().await;
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/tag/other",
            json!({"manifest_digest": image.digest}),
        )
        .await;
    assert_quay_error(s, &b, 503, "unavailable");
    let (s, b) = server.delete("/api/v1/repository/acme/web/tag/v1").await;
    assert_quay_error(s, &b, 503, "unavailable");
    // The registry's manifest DELETE is denied outright.
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/v2/acme/web/manifests/{}",
            server.registry, image.digest
        ))
        .header("Authorization", &admin)
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(r).await;
    assert_eq!(
        (status, code.as_deref()),
        (StatusCode::FORBIDDEN, Some("DENIED"))
    );
    assert_eq!(server.event_count().await, before);

    // Back to NORMAL: anyone who may write pushes again.
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/web/changestate",
            json!({"state": "NORMAL"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (status, _) = push_blob(&server, &ci, &image.config).await;
    assert_eq!(status, StatusCode::CREATED);
    let (s, b) = server.delete("/api/v1/repository/acme/web/tag/v1").await;
    assert_eq!(s, 204, "{b}");
}

/// Uploads one blob monolithically as `auth`; answers the status and the error code.
async fn push_blob(server: &Server, auth: &str, bytes: &[u8]) -> (StatusCode, Option<String>) {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/v2/acme/web/blobs/uploads/?digest={}",
            server.registry,
            sha256(bytes)
        ))
        .header("Authorization", auth)
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    Server::registry_error_code(r).await
}
