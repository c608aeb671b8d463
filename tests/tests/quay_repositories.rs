//! Repositories over HTTP: create → get → list → update → visibility/state → delete, paging, and
//! the refusals, each of which appends nothing.

use annals_tests::oci::{Image, OCI_MANIFEST};
use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};

on_both_backends! {
    repository_lifecycle => repository_lifecycle;
    repository_list_pages => repository_list_pages;
    repository_refusals_append_nothing => repository_refusals_append_nothing;
    idempotency_key_answers_the_first_result => idempotency_key_answers_the_first_result;
    a_read_only_repository_takes_no_change => read_only_takes_no_change;
}

async fn repository_lifecycle(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let (status, body) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private", "description": "The site"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body,
        json!({"namespace": "acme", "name": "web", "kind": "image"})
    );

    let (status, repo) = server.get("/api/v1/repository/acme/web").await;
    assert_eq!(status, 200, "{repo}");
    assert_eq!(repo["namespace"], "acme");
    assert_eq!(repo["name"], "web");
    assert_eq!(repo["description"], "The site");
    assert_eq!(repo["is_public"], false);
    assert_eq!(repo["is_organization"], true);
    assert_eq!(repo["state"], "NORMAL");
    assert_eq!(repo["kind"], "image");
    assert_eq!(repo["tags"], json!({}));

    // Without a namespace, the caller's own is used; nested names are allowed.
    let (status, body) = server
        .post(
            "/api/v1/repository",
            json!({"repository": "tools/cli", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["namespace"], "admin");
    assert_eq!(
        server.get("/api/v1/repository/admin/tools/cli").await.1["is_organization"],
        false
    );

    let (status, list) = server.get("/api/v1/repository?namespace=acme").await;
    assert_eq!(status, 200);
    assert_eq!(list["repositories"].as_array().unwrap().len(), 1);
    assert_eq!(list["repositories"][0]["name"], "web");
    assert!(list.get("next_page").is_none());

    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web",
            json!({"description": "New text"}),
        )
        .await;
    assert_eq!((status.as_u16(), body), (200, json!({"success": true})));
    let (status, body) = server
        .post(
            "/api/v1/repository/acme/web/changevisibility",
            json!({"visibility": "public"}),
        )
        .await;
    assert_eq!((status.as_u16(), body), (200, json!({"success": true})));
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web/changestate",
            json!({"state": "READ_ONLY"}),
        )
        .await;
    assert_eq!((status.as_u16(), body), (200, json!({"success": true})));
    let repo = server.get("/api/v1/repository/acme/web").await.1;
    assert_eq!(
        (
            repo["description"].as_str(),
            repo["is_public"].as_bool(),
            repo["state"].as_str()
        ),
        (Some("New text"), Some(true), Some("READ_ONLY"))
    );

    let public = server.get("/api/v1/repository?public=true").await.1;
    let names: Vec<String> = public["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["namespace"].as_str().unwrap(),
                r["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["acme/web", "admin/tools/cli"]);

    assert_eq!(server.delete("/api/v1/repository/acme/web").await.0, 204);
    let (status, body) = server.get("/api/v1/repository/acme/web").await;
    assert_quay_error(status, &body, 404, "not_found");
    assert_eq!(
        server.get("/api/v1/repository?namespace=acme").await.1["repositories"],
        json!([])
    );
    // The name is free again.
    let (status, _) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "public"}),
        )
        .await;
    assert_eq!(status, 201);

    // Deleting the organization takes its repositories with it.
    assert_eq!(server.delete("/api/v1/organization/acme").await.0, 204);
    let (status, body) = server.get("/api/v1/repository/acme/web").await;
    assert_quay_error(status, &body, 404, "not_found");
}

async fn repository_list_pages(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "many"}))
            .await
            .0,
        201
    );
    for i in 0..105 {
        let (status, body) = server
            .post("/api/v1/repository", json!({"namespace": "many", "repository": format!("r{i:03}"), "visibility": "private"}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let first = server.get("/api/v1/repository?namespace=many").await.1;
    assert_eq!(first["repositories"].as_array().unwrap().len(), 100);
    let token = first["next_page"]
        .as_str()
        .expect("next_page on a full page");
    let second = server
        .get(&format!(
            "/api/v1/repository?namespace=many&next_page={token}"
        ))
        .await
        .1;
    let names: Vec<&str> = second["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["r100", "r101", "r102", "r103", "r104"]);
    assert!(second.get("next_page").is_none());
    let (status, body) = server
        .get("/api/v1/repository?namespace=many&next_page=garbage!")
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
}

async fn repository_refusals_append_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    assert_eq!(
        server
            .post(
                "/api/v1/repository",
                json!({"namespace": "acme", "repository": "web", "visibility": "public"})
            )
            .await
            .0,
        201
    );
    let before = server.event_count().await;

    let cases = [
        (
            json!({"namespace": "acme", "repository": "web", "visibility": "public"}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "acme", "repository": "Bad Name", "visibility": "public"}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "acme", "repository": "ok/", "visibility": "public"}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "acme", "repository": "ok", "visibility": "secret"}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "acme", "repository": "ok", "visibility": "public", "repo_kind": "helm"}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "acme", "repository": "ok", "visibility": "public", "description": "x".repeat(70_000)}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "nosuchns", "repository": "ok", "visibility": "public"}),
            404,
            "not_found",
        ),
        (
            json!({"namespace": "acme", "visibility": "public"}),
            400,
            "invalid_request",
        ),
        (
            json!({"namespace": "acme", "repository": 42, "visibility": "public"}),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, error_type) in cases {
        let (got, answer) = server.post("/api/v1/repository", body.clone()).await;
        assert_quay_error(got, &answer, status, error_type);
    }
    let (status, body) = server
        .send_raw(reqwest::Method::POST, "/api/v1/repository", "{not json")
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server.get("/api/v1/repository").await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .post(
            "/api/v1/repository/acme/web/changevisibility",
            json!({"visibility": "open"}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web/changestate",
            json!({"state": "FROZEN"}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/nosuch",
            json!({"description": "x"}),
        )
        .await;
    assert_quay_error(status, &body, 404, "not_found");
    let (status, body) = server.delete("/api/v1/repository/acme/nosuch").await;
    assert_quay_error(status, &body, 404, "not_found");
    let (status, body) = server.delete("/api/v1/repository/nosuchns/web").await;
    assert_quay_error(status, &body, 404, "not_found");

    assert_eq!(
        server.event_count().await,
        before,
        "refused requests appended events"
    );
}

async fn idempotency_key_answers_the_first_result(backend: Backend) {
    let server = Server::start(backend).await;
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(server.url("/api/v1/organization/"))
            .bearer_auth(&server.token)
            .header("Idempotency-Key", "create-acme-once")
            .json(&json!({"name": "acme"}))
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 201);
    let count = server.event_count().await;
    // The retry answers like the first call and appends nothing.
    assert_eq!(send().await.unwrap().status(), 201);
    assert_eq!(server.event_count().await, count);
    // Without the key, the same request is a new command and is refused.
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        400
    );
}

/// A repository set `READ_ONLY` takes no push (the registry's `DENIED`) and no tag change (Quay's
/// 503), with nothing appended; back to `NORMAL` it takes both again.
async fn read_only_takes_no_change(backend: Backend) {
    let server = Server::start(backend).await;
    let (status, body) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let v1 = Image::new("read-only-v1", 1, 256);
    server.push_image("acme/web", "v1", &v1).await;
    let state = |state: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server
                .put(
                    "/api/v1/repository/acme/web/changestate",
                    json!({"state": state}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    state("READ_ONLY").await;
    let before = server.event_count().await;
    let v2 = Image::new("read-only-v2", 1, 256);
    for blob in v2.blobs() {
        let response = server
            .registry_request(
                reqwest::Method::POST,
                &format!(
                    "/v2/acme/web/blobs/uploads/?digest={}",
                    annals_tests::oci::sha256(blob)
                ),
            )
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        let (status, code) = Server::registry_error_code(response).await;
        assert_eq!((status.as_u16(), code.as_deref()), (403, Some("DENIED")));
    }
    let response = server
        .registry_request(reqwest::Method::PUT, "/v2/acme/web/manifests/v1-again")
        .header("content-type", OCI_MANIFEST)
        .body(v1.manifest.clone())
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(response).await;
    assert_eq!((status.as_u16(), code.as_deref()), (403, Some("DENIED")));
    let (status, body) = server.delete("/api/v1/repository/acme/web/tag/v1").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(server.event_count().await, before, "nothing appended");

    state("NORMAL").await;
    server.push_image("acme/web", "v2", &v2).await;
    let (status, body) = server.delete("/api/v1/repository/acme/web/tag/v1").await;
    assert_eq!(status, 204, "{body}");
}
