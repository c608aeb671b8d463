//! What an operator watches: liveness, readiness, Prometheus metrics, and a request id on every
//! request that reaches the events it caused.

use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};
use reqwest::Method;

on_both_backends! {
    health_readiness_and_metrics => health_readiness_and_metrics;
    request_ids_reach_the_events => request_ids_reach_the_events;
}

/// The value of the first sample of `metric` whose labels include all of `labels`.
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(metric) && labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .next()
}

async fn health_readiness_and_metrics(backend: Backend) {
    let server = Server::start(backend).await;
    let http = reqwest::Client::new();
    // No credentials needed for the operator's routes.
    let health = http.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    server
        .push_blob(&format!("{ADMIN}/app"), b"some layer bytes")
        .await;
    let ready = http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert!(ready["head"].as_u64().unwrap() >= 2, "{ready}");
    let projections = ready["projections"].as_array().unwrap();
    assert!(projections.len() >= 3, "{ready}");
    assert!(projections.iter().all(|p| p["lag"] == 0), "{ready}");

    let metrics = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = metrics.text().await.unwrap();
    let created = sample(
        &text,
        "annals_http_requests_total",
        &[
            "family=\"quay\"",
            "route=\"/api/v1/organization/\"",
            "method=\"POST\"",
            "status=\"201\"",
        ],
    );
    assert_eq!(created, Some(1.0), "{text}");
    assert!(
        sample(
            &text,
            "annals_http_requests_total",
            &["family=\"oci\"", "route=\"uploads\""]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "annals_http_request_duration_seconds_count",
            &["family=\"quay\""]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(sample(&text, "annals_append_duration_seconds_count", &[]).is_some_and(|n| n >= 2.0));
    assert!(sample(&text, "annals_store_commit_groups_total", &[]).is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "annals_log_head_position", &[]).is_some_and(|n| n >= 2.0));
    assert_eq!(
        sample(
            &text,
            "annals_projection_lag_events",
            &["projector=\"catalog\""]
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "annals_upload_sessions_open", &[]), Some(0.0));
    assert!(
        sample(&text, "annals_blob_store_bytes", &[]).is_some_and(|n| n >= 16.0),
        "{text}"
    );
}

async fn request_ids_reach_the_events(backend: Backend) {
    let server = Server::start(backend).await;
    let response = reqwest::Client::new()
        .post(server.url("/api/v1/organization/"))
        .bearer_auth(&server.token)
        .header("x-request-id", "ops-ticket-4711")
        .json(&json!({"name": "acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-request-id"], "ops-ticket-4711");
    let events = server.events().await;
    let created = events
        .iter()
        .find(|e| e.event_type == "organization.created.v1")
        .unwrap();
    assert_eq!(created.metadata["request_id"], "ops-ticket-4711");

    // Without one, or with one no log should carry, the server makes one.
    for given in [None, Some("x".repeat(500))] {
        let mut req = reqwest::Client::new()
            .request(Method::GET, server.url("/api/v1/organization/acme"))
            .bearer_auth(&server.token);
        if let Some(id) = &given {
            req = req.header("x-request-id", id);
        }
        let response = req.send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
    // The registry listener too.
    let registry = server
        .registry_request(Method::GET, "/v2/")
        .send()
        .await
        .unwrap();
    assert!(registry.headers().contains_key("x-request-id"));
}
