//! The SpaceONE repository Plugin API over REST, both forms: the repository API document's
//! routes and today's `POST /repository/v1/plugin/<method>`. A plugin's image is a repository
//! of this registry; its versions are the image's tags; a domain is an organization and bounds
//! who sees and changes what; bad input gets SpaceONE's error and appends nothing.

use annals_tests::oci::Image;
use annals_tests::skopeo::{skopeo_available, write_layout};
use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    plugins_live_through_both_rest_forms => plugins_live_through_both_rest_forms;
    bad_input_is_refused_and_leaves_nothing => bad_input_is_refused_and_leaves_nothing;
    domains_bound_who_sees_and_changes_what => domains_bound_who_sees_and_changes_what;
    queries_and_statistics => queries_and_statistics;
    skopeo_pushed_tags_are_versions => skopeo_pushed_tags_are_versions;
}

/// `acme` with the repository `acme/collector`, tagged `tags`.
async fn setup(server: &Server, tags: &[&str]) {
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    for tag in tags {
        let image = Image::new(&format!("collector-{tag}"), 1, 200);
        server.push_image("acme/collector", tag, &image).await;
    }
}

fn assert_space_error(status: StatusCode, body: &Value, expected: u16, code: &str) {
    assert_eq!(status.as_u16(), expected, "{body}");
    assert_eq!(body["detail"]["code"], code, "{body}");
    assert!(
        body["detail"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn register_body(name: &str) -> Value {
    json!({
        "name": name,
        "service_type": "inventory.Collector",
        "image": "acme/collector",
        "provider": "aws",
        "registry_type": "DOCKER_HUB",
        "capability": {"supported_schema": ["aws_access_key"]},
        "template": {"options": {}},
        "labels": ["aws", "ec2"],
        "tags": {"team": "infra"},
        "domain_id": "acme",
    })
}

async fn plugins_live_through_both_rest_forms(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server, &["1.0.0", "1.10.0", "latest", "1.2.0"]).await;

    // The document's form.
    let (s, p) = server
        .post("/repository/v1/plugins", register_body("aws-ec2"))
        .await;
    assert_eq!(s, 200, "{p}");
    let id = p["plugin_id"].as_str().unwrap().to_owned();
    assert!(
        id.len() == 19 && id.starts_with("plugin-"),
        "a generated id: {id}"
    );
    assert_eq!(p["state"], "ENABLED");
    assert_eq!(p["service_type"], "inventory.Collector");
    assert_eq!(p["resource_type"], "inventory.Collector");
    assert_eq!(p["domain_id"], "acme");
    assert_eq!(p["image"], "acme/collector");
    assert_eq!(p["labels"], json!(["aws", "ec2"]));
    assert_eq!(
        p["registry_url"],
        server.registry.trim_start_matches("http://")
    );
    assert_eq!(p["repository_info"]["repository_id"], "repo-annals");

    let (s, got) = server
        .get(&format!(
            "/repository/v1/plugins/{id}?domain_id=acme&only=name,tags.team"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(got, json!({"name": "aws-ec2", "tags": {"team": "infra"}}));

    let (s, v) = server
        .get(&format!(
            "/repository/v1/plugins/{id}/versions?domain_id=acme"
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"], json!(["1.10.0", "1.2.0", "1.0.0", "latest"]));
    assert_eq!(v["version"], v["results"]);
    assert_eq!(v["total_count"], 4);
    // A tag pushed afterwards is a new version.
    server
        .push_image(
            "acme/collector",
            "2.0.0",
            &Image::new("collector-2", 1, 200),
        )
        .await;
    let (_, v) = server
        .get(&format!(
            "/repository/v1/plugins/{id}/versions?domain_id=acme"
        ))
        .await;
    assert_eq!(v["results"][0], "2.0.0");

    let (s, p) = server
        .put(
            &format!("/repository/v1/plugin/{id}"),
            json!({"name": "aws-ec2-collector", "tags": {"team": "cloud"}, "domain_id": "acme"}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "aws-ec2-collector");
    assert_eq!(p["tags"], json!({"team": "cloud"}));
    assert_eq!(p["labels"], json!(["aws", "ec2"]), "untouched fields stay");

    let (s, p) = server
        .put(
            &format!("/repository/v1/plugin/{id}/disable"),
            json!({"domain_id": "acme"}),
        )
        .await;
    assert_eq!((s.as_u16(), p["state"].as_str()), (200, Some("DISABLED")));
    let (s, p) = server
        .put(&format!("/repository/v1/plugin/{id}/enable"), json!({}))
        .await;
    assert_eq!((s.as_u16(), p["state"].as_str()), (200, Some("ENABLED")));

    // Today's form, with a plugin id of the client's choosing.
    let mut body = register_body("gcp-vm");
    body.as_object_mut().unwrap().remove("service_type");
    body["resource_type"] = json!("inventory.Collector");
    body["plugin_id"] = json!("plugin-gcp-vm");
    body["docs"] = json!({"readme": "hi"});
    let (s, p) = server.post("/repository/v1/plugin/register", body).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["plugin_id"], "plugin-gcp-vm");
    assert_eq!(p["docs"], json!({"readme": "hi"}));
    let ask = json!({"plugin_id": "plugin-gcp-vm", "domain_id": "acme"});
    for (method, check) in [
        ("get", "plugin_id"),
        ("disable", "state"),
        ("enable", "state"),
        ("get-versions", "results"),
    ] {
        let (s, b) = server
            .post(&format!("/repository/v1/plugin/{method}"), ask.clone())
            .await;
        assert_eq!(s, 200, "{method}: {b}");
        assert!(!b[check].is_null(), "{method}: {b}");
    }
    let (s, b) = server
        .post(
            "/repository/v1/plugin/update",
            json!({"plugin_id": "plugin-gcp-vm", "name": "gcp", "domain_id": "acme"}),
        )
        .await;
    assert_eq!((s.as_u16(), b["name"].as_str()), (200, Some("gcp")));
    let (s, b) = server
        .post("/repository/v1/plugin/list", json!({"domain_id": "acme"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["total_count"], 2);
    let (s, b) = server
        .post("/repository/v1/plugin/deregister", ask.clone())
        .await;
    assert_eq!((s.as_u16(), &b), (200, &json!({})));
    let (s, b) = server.post("/repository/v1/plugin/get", ask).await;
    assert_space_error(s, &b, 404, "ERROR_NOT_FOUND");

    let (s, b) = server
        .delete(&format!("/repository/v1/plugin/{id}?domain_id=acme"))
        .await;
    assert_eq!((s.as_u16(), &b), (200, &json!({})));
    let (s, b) = server.get(&format!("/repository/v1/plugins/{id}")).await;
    assert_space_error(s, &b, 404, "ERROR_NOT_FOUND");

    // Every step is in the domain's usage log, by its actor.
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    let steps: Vec<(String, String)> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"].as_str().unwrap().starts_with("plugin_"))
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["performer"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let kinds: Vec<&str> = steps.iter().map(|(k, _)| k.as_str()).rev().collect();
    assert_eq!(
        kinds,
        [
            "plugin_register",
            "plugin_update",
            "plugin_disable",
            "plugin_enable",
            "plugin_register",
            "plugin_disable",
            "plugin_enable",
            "plugin_update",
            "plugin_deregister",
            "plugin_deregister",
        ]
    );
    assert!(steps.iter().all(|(_, who)| who == ADMIN), "{steps:?}");
}

async fn bad_input_is_refused_and_leaves_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server, &["1.0.0"]).await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "other"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, p) = server
        .post("/repository/v1/plugins", register_body("keep"))
        .await;
    assert_eq!(s, 200, "{p}");
    let id = p["plugin_id"].as_str().unwrap().to_owned();
    let before = server.event_count().await;

    let without = |field: &str| {
        let mut b = register_body("x");
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let with = |field: &str, v: Value| {
        let mut b = register_body("x");
        b[field] = v;
        b
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (without("image"), 400, "ERROR_REQUIRED_PARAMETER"),
        (without("name"), 400, "ERROR_REQUIRED_PARAMETER"),
        (without("service_type"), 400, "ERROR_REQUIRED_PARAMETER"),
        (without("domain_id"), 400, "ERROR_REQUIRED_PARAMETER"),
        (with("image", json!("acme/missing")), 404, "ERROR_NOT_FOUND"),
        (
            with("image", json!("no-namespace")),
            400,
            "ERROR_INVALID_ARGUMENT",
        ),
        (with("domain_id", json!("nowhere")), 404, "ERROR_NOT_FOUND"),
        (
            with("registry_type", json!("FTP")),
            400,
            "ERROR_INVALID_ARGUMENT",
        ),
        (
            with("capability", json!([1, 2])),
            400,
            "ERROR_INVALID_ARGUMENT",
        ),
        (with("name", json!(5)), 400, "ERROR_INVALID_ARGUMENT"),
        (
            with("plugin_id", json!("Bad Id")),
            400,
            "ERROR_INVALID_ARGUMENT",
        ),
        (
            with("plugin_id", json!("stat")),
            400,
            "ERROR_INVALID_ARGUMENT",
        ),
        (with("plugin_id", json!(id)), 409, "ERROR_NOT_UNIQUE"),
        (
            with("tags", json!({"big": "x".repeat(70_000)})),
            400,
            "ERROR_INVALID_ARGUMENT",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = server
            .post("/repository/v1/plugin/register", body.clone())
            .await;
        assert_space_error(s, &b, status, code);
    }
    let (s, b) = server
        .send_raw(Method::POST, "/repository/v1/plugins", "{\"name\": ")
        .await;
    assert_space_error(s, &b, 400, "ERROR_INVALID_ARGUMENT");
    for (method, path, body) in [
        (
            "PUT",
            "/repository/v1/plugin/plugin-000000000000",
            json!({"name": "n"}),
        ),
        (
            "PUT",
            &format!("/repository/v1/plugin/{id}"),
            json!({"name": "n", "domain_id": "other"}),
        ),
        (
            "PUT",
            &format!("/repository/v1/plugin/{id}"),
            json!({"labels": "not a list"}),
        ),
        (
            "PUT",
            &format!("/repository/v1/plugin/{id}/disable"),
            json!({"domain_id": "other"}),
        ),
        (
            "POST",
            "/repository/v1/plugin/get",
            json!({"plugin_id": id, "repository_id": "repo-elsewhere"}),
        ),
        ("POST", "/repository/v1/plugin/enable", json!({})),
        (
            "POST",
            "/repository/v1/plugins/search",
            json!({"query": {"filter": [{"k": "name", "v": "x", "o": "in"}]}}),
        ),
        (
            "POST",
            "/repository/v1/plugins/search",
            json!({"query": {"page": {"limit": -5}}}),
        ),
        (
            "POST",
            "/repository/v1/plugins/search",
            json!({"state": "BROKEN"}),
        ),
        (
            "POST",
            "/repository/v1/plugins/stat",
            json!({"domain_id": "acme"}),
        ),
        (
            "POST",
            "/repository/v1/plugins/stat",
            json!({"query": {"aggregate": [{"lookup": {}}]}}),
        ),
    ] {
        let (s, b) = server
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                path,
                Some(body),
                None,
            )
            .await;
        assert!(
            [400, 404].contains(&s.as_u16()) && b["detail"]["code"].is_string(),
            "{method} {path}: {s} {b}"
        );
    }
    let (s, b) = server
        .request(
            Method::GET,
            "/repository/v1/plugins",
            None,
            Some("no-such-token"),
        )
        .await;
    assert_space_error(s, &b, 401, "ERROR_AUTHENTICATE_FAILURE");
    assert_eq!(
        server.event_count().await,
        before,
        "refusals append nothing"
    );
}

async fn domains_bound_who_sees_and_changes_what(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server, &["1.0.0"]).await;
    let (s, p) = server
        .post("/repository/v1/plugins", register_body("aws-ec2"))
        .await;
    assert_eq!(s, 200, "{p}");
    let id = p["plugin_id"].as_str().unwrap().to_owned();
    let scopes = "repo:read repo:write repo:admin repo:create user:read user:admin org:admin";
    let carol = server.user_token("acme", "carol", scopes).await;
    let bob = server.user_token("acme", "bob", scopes).await;
    let (s, b) = server
        .put(
            "/api/v1/organization/acme/team/readers",
            json!({"role": "member"}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, b) = server
        .put(
            "/api/v1/organization/acme/team/readers/members/carol",
            json!({}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let as_ = |token: &str, method: Method, path: String, body: Option<Value>| {
        let token = token.to_owned();
        let server = &server;
        async move { server.request(method, &path, body, Some(&token)).await }
    };

    // A member reads the domain's plugins but may not change them.
    let (s, b) = as_(
        &carol,
        Method::GET,
        format!("/repository/v1/plugins/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = as_(&carol, Method::GET, "/repository/v1/plugins".into(), None).await;
    assert_eq!(
        (s.as_u16(), b["total_count"].as_i64()),
        (200, Some(1)),
        "{b}"
    );
    let (s, b) = as_(
        &carol,
        Method::PUT,
        format!("/repository/v1/plugin/{id}/disable"),
        Some(json!({})),
    )
    .await;
    assert_space_error(s, &b, 403, "ERROR_PERMISSION_DENIED");
    let (s, b) = as_(
        &carol,
        Method::POST,
        "/repository/v1/plugins".into(),
        Some(register_body("mine")),
    )
    .await;
    assert_space_error(s, &b, 403, "ERROR_PERMISSION_DENIED");

    // A stranger sees nothing of it.
    let (s, b) = as_(
        &bob,
        Method::GET,
        format!("/repository/v1/plugins/{id}"),
        None,
    )
    .await;
    assert_space_error(s, &b, 404, "ERROR_NOT_FOUND");
    let (s, b) = as_(
        &bob,
        Method::DELETE,
        format!("/repository/v1/plugin/{id}"),
        None,
    )
    .await;
    assert_space_error(s, &b, 404, "ERROR_NOT_FOUND");
    let (s, b) = as_(&bob, Method::GET, "/repository/v1/plugins".into(), None).await;
    assert_eq!(
        (s.as_u16(), b["total_count"].as_i64()),
        (200, Some(0)),
        "{b}"
    );
    assert!(!b.to_string().contains("aws-ec2"));
    let (s, b) = as_(
        &bob,
        Method::GET,
        "/repository/v1/plugins?domain_id=acme".into(),
        None,
    )
    .await;
    assert_space_error(s, &b, 403, "ERROR_PERMISSION_DENIED");
    let (s, b) = as_(
        &bob,
        Method::POST,
        "/repository/v1/plugins/stat".into(),
        Some(json!({"query": {"distinct": "name"}})),
    )
    .await;
    assert_eq!((s.as_u16(), &b["results"]), (200, &json!([])), "{b}");
    // Nobody at all: 401.
    let (s, b) = server
        .request(Method::GET, "/repository/v1/plugins", None, Some(""))
        .await;
    assert_space_error(s, &b, 401, "ERROR_AUTHENTICATE_FAILURE");
    // The refusal of an authenticated caller is on the record.
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    assert!(
        logs["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "access_denied" && l["performer"]["name"] == "carol"),
        "{logs}"
    );
}

async fn queries_and_statistics(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server, &["1.0.0"]).await;
    for (name, provider, service) in [
        ("aws-ec2", "aws", "inventory.Collector"),
        ("aws-s3", "aws", "inventory.Collector"),
        ("gcp-vm", "google", "monitoring.DataSource"),
    ] {
        let mut body = register_body(name);
        body["provider"] = json!(provider);
        body["service_type"] = json!(service);
        let (s, b) = server.post("/repository/v1/plugins", body).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = server
        .get("/repository/v1/plugins?domain_id=acme&provider=aws")
        .await;
    assert_eq!((s.as_u16(), b["total_count"].as_i64()), (200, Some(2)));
    let (_, b) = server
        .post(
            "/repository/v1/plugins/search",
            json!({"domain_id": "acme", "query": {
                "filter": [{"k": "name", "v": "aws", "o": "contain"}],
                "sort": [{"key": "name", "desc": true}],
                "page": {"start": 1, "limit": 1},
                "only": ["name", "provider"],
            }}),
        )
        .await;
    assert_eq!(b["total_count"], 2);
    assert_eq!(b["results"], json!([{"name": "aws-s3", "provider": "aws"}]));
    // The GET form takes the query as JSON text.
    let query =
        r#"{"filter":[{"key":"resource_type","value":["monitoring.DataSource"],"operator":"in"}]}"#;
    let (_, b) = server
        .get(&format!(
            "/repository/v1/plugins?query={}",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        ))
        .await;
    assert_eq!(b["total_count"], 1, "{b}");
    assert_eq!(b["results"][0]["name"], "gcp-vm");

    let (s, b) = server
        .post(
            "/repository/v1/plugins/stat",
            json!({"domain_id": "acme", "query": {"aggregate": [
                {"group": {"keys": [{"key": "provider", "name": "provider"}],
                           "fields": [{"operator": "count", "name": "plugins"}]}},
                {"sort": {"key": "provider"}},
            ]}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["results"],
        json!([{"provider": "aws", "plugins": 2}, {"provider": "google", "plugins": 1}])
    );
    let (_, b) = server
        .post(
            "/repository/v1/plugin/stat",
            json!({"query": {"distinct": "service_type"}}),
        )
        .await;
    assert_eq!(
        b["results"],
        json!(["inventory.Collector", "monitoring.DataSource"])
    );
    assert_eq!(b["total_count"], 2);
}

async fn skopeo_pushed_tags_are_versions(backend: Backend) {
    if !skopeo_available() {
        return;
    }
    let server = Server::start(backend).await;
    setup(&server, &[]).await;
    let host = server.registry.trim_start_matches("http://").to_owned();
    let creds = format!("{ADMIN}:{}", server.token);
    let push = |tag: &str| {
        let work = tempfile::tempdir().unwrap();
        let image = Image::new(&format!("plugin-{tag}"), 2, 10_000);
        write_layout(work.path(), &image, tag);
        let out = std::process::Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
            ])
            .arg(&creds)
            .arg(format!("oci:{}:{tag}", work.path().display()))
            .arg(format!("docker://{host}/acme/collector:{tag}"))
            .output()
            .expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    push("1.0.0");
    let (s, p) = server
        .post("/repository/v1/plugin/register", register_body("skopeo"))
        .await;
    assert_eq!(s, 200, "{p}");
    let ask = json!({"plugin_id": p["plugin_id"], "domain_id": "acme"});
    let (_, v) = server
        .post("/repository/v1/plugin/get-versions", ask.clone())
        .await;
    assert_eq!(v["results"], json!(["1.0.0"]));
    push("1.1.0");
    let (_, v) = server.post("/repository/v1/plugin/get-versions", ask).await;
    assert_eq!(v["results"], json!(["1.1.0", "1.0.0"]));
}
