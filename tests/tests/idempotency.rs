//! `Idempotency-Key` names one request of one caller: a repeat answers the first result and
//! appends nothing; the key on a different request is refused (422), and while the first is
//! still running (409).

use std::time::Duration;

use annals_tests::raw;
use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use reqwest::Method;

on_both_backends! {
    a_key_names_one_request => a_key_names_one_request;
    a_key_in_flight_is_refused => a_key_in_flight_is_refused;
}

fn repo(name: &str) -> serde_json::Value {
    json!({"namespace": "acme", "repository": name, "visibility": "private"})
}

async fn a_key_names_one_request(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let key = [("idempotency-key", "create-a")];
    let post = |body, key| server.request_with(Method::POST, "/api/v1/repository", Some(body), key);
    let (status, body) = post(repo("a"), &key).await;
    assert_eq!(status, 201, "{body}");
    let events = server.event_count().await;
    // The same request again: the first answer, nothing appended.
    let (status, again) = post(repo("a"), &key).await;
    assert_eq!((status.as_u16(), &again), (201, &body));
    assert_eq!(server.event_count().await, events);

    // The key on another request: refused, and nothing happens.
    let (status, refused) = post(repo("b"), &key).await;
    assert_quay_error(status, &refused, 422, "invalid_request");
    assert_eq!(server.get("/api/v1/repository/acme/b").await.0, 404);
    let (status, refused) = server
        .request_with(Method::DELETE, "/api/v1/repository/acme/a", None, &key)
        .await;
    assert_quay_error(status, &refused, 422, "invalid_request");
    assert_eq!(server.get("/api/v1/repository/acme/a").await.0, 200);
    // Another route.
    let (status, refused) = server
        .request_with(
            Method::POST,
            "/api/v1/organization/",
            Some(json!({"name": "other"})),
            &key,
        )
        .await;
    assert_quay_error(status, &refused, 422, "invalid_request");
    assert_eq!(server.event_count().await, events);

    // A delete under its own key, repeated: deleted once, answered twice.
    let delete = [("idempotency-key", "delete-a")];
    for _ in 0..2 {
        let (status, body) = server
            .request_with(Method::DELETE, "/api/v1/repository/acme/a", None, &delete)
            .await;
        assert_eq!(status, 204, "{body}");
    }
    assert_eq!(server.get("/api/v1/repository/acme/a").await.0, 404);

    // The DigitalOcean routes take keys too, with their own error shape.
    let create = json!({"name": "reg", "subscription_tier_slug": "basic", "region": "fra1"});
    let do_key = [("idempotency-key", "registry")];
    let (status, body) = server
        .request_with(Method::POST, "/v2/registry", Some(create.clone()), &do_key)
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, again) = server
        .request_with(Method::POST, "/v2/registry", Some(create), &do_key)
        .await;
    assert_eq!(status, 201, "{again}");
    let (status, refused) = server
        .request_with(
            Method::POST,
            "/v2/registry",
            Some(json!({"name": "other", "subscription_tier_slug": "basic", "region": "fra1"})),
            &do_key,
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["id"], "unprocessable_entity", "{refused}");

    // Keys are bounded.
    let long = "k".repeat(300);
    let (status, body) = post(repo("c"), &[("idempotency-key", long.as_str())]).await;
    assert_quay_error(status, &body, 400, "invalid_request");
}

async fn a_key_in_flight_is_refused(backend: Backend) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let body = serde_json::to_vec(&repo("slow")).unwrap();
    // The first request sends half its body and waits.
    let mut first = raw::send_partial(
        &server.base,
        &format!(
            "POST /api/v1/repository HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nIdempotency-Key: slow\r\nContent-Length: {}",
            server.token,
            body.len()
        ),
        &body[..body.len() / 2],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let key = [("idempotency-key", "slow")];
    let (status, refused) = server
        .request_with(Method::POST, "/api/v1/repository", Some(repo("slow")), &key)
        .await;
    assert_quay_error(status, &refused, 409, "invalid_request");
    // The first finishes and wins; then the key answers its result.
    use tokio::io::AsyncWriteExt;
    first.write_all(&body[body.len() / 2..]).await.unwrap();
    assert_eq!(
        raw::status_of(&mut first, Duration::from_secs(10)).await,
        Some(201)
    );
    let (status, _) = server
        .request_with(Method::POST, "/api/v1/repository", Some(repo("slow")), &key)
        .await;
    assert_eq!(status, 201);
    assert_eq!(server.get("/api/v1/repository/acme/slow").await.0, 200);
}
