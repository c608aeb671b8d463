//! Organizations over HTTP: create → get → update → delete, and the refusals.

use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};

on_both_backends! {
    organization_lifecycle => organization_lifecycle;
    organization_refusals_append_nothing => organization_refusals_append_nothing;
}

async fn organization_lifecycle(backend: Backend) {
    let server = Server::start(backend).await;
    let (status, body) = server
        .post(
            "/api/v1/organization/",
            json!({"name": "acme", "email": "ops@acme.io"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!("Created"));

    // Read-your-writes: the org is there as soon as the create answered.
    let (status, org) = server.get("/api/v1/organization/acme").await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "acme");
    assert_eq!(org["email"], "ops@acme.io");
    assert_eq!(org["tag_expiration_s"], 1_209_600);
    assert_eq!(org["invoice_email"], false);

    let (status, updated) = server
        .put(
            "/api/v1/organization/acme",
            json!({"email": "sec@acme.io", "tag_expiration_s": 3600, "invoice_email": true, "invoice_email_address": "bills@acme.io"}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["email"], "sec@acme.io");
    assert_eq!(updated["tag_expiration_s"], 3600);
    assert_eq!(updated["invoice_email"], true);
    assert_eq!(updated["invoice_email_address"], "bills@acme.io");
    assert_eq!(server.get("/api/v1/organization/acme").await.1, updated);

    let (status, _) = server.delete("/api/v1/organization/acme").await;
    assert_eq!(status, 204);
    let (status, body) = server.get("/api/v1/organization/acme").await;
    assert_quay_error(status, &body, 404, "not_found");

    // The name is free again.
    let (status, _) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(status, 201);
}

async fn organization_refusals_append_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let before = server.event_count().await;

    let (status, body) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    // The bootstrap user's namespace is taken too.
    let (status, body) = server
        .post("/api/v1/organization/", json!({"name": "admin"}))
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    for bad in ["Has Spaces", "UPPER", "a", "-leading", &"x".repeat(300)] {
        let (status, body) = server
            .post("/api/v1/organization/", json!({"name": bad}))
            .await;
        assert_quay_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = server
        .post(
            "/api/v1/organization/",
            json!({"name": "okname", "email": "not-an-email"}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .post("/api/v1/organization/", json!({"email": "a@b.io"}))
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/organization/",
            "{\"name\": ",
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .put("/api/v1/organization/acme", json!({"tag_expiration_s": -5}))
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .put("/api/v1/organization/nosuch", json!({"email": "a@b.io"}))
        .await;
    assert_quay_error(status, &body, 404, "not_found");
    let (status, body) = server.delete("/api/v1/organization/nosuch").await;
    assert_quay_error(status, &body, 404, "not_found");
    // A user's namespace is not an organization.
    let (status, body) = server.get("/api/v1/organization/admin").await;
    assert_quay_error(status, &body, 404, "not_found");

    assert_eq!(
        server.event_count().await,
        before,
        "refused requests appended events"
    );
}
