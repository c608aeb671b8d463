//! `GET /api/v1/discovery` documents exactly the routes served.

use annals_tests::{Backend, Server};

#[tokio::test]
async fn discovery_lists_served_routes_and_each_is_served() {
    let server = Server::start(Backend::Embedded).await;
    let (status, doc) = server.get("/api/v1/discovery").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/organization/",
        "/api/v1/organization/{orgname}",
        "/api/v1/repository",
        "/api/v1/repository/{repository}",
        "/api/v1/repository/{repository}/changevisibility",
        "/api/v1/repository/{repository}/changestate",
        "/api/v1/repository/{repository}/logs",
        "/api/v1/repository/{repository}/aggregatelogs",
        "/api/v1/organization/{orgname}/logs",
        "/api/v1/organization/{orgname}/aggregatelogs",
        "/api/v1/user/logs",
        "/api/v1/user/aggregatelogs",
        "/api/v1/discovery",
    ] {
        assert!(
            paths.contains_key(expected),
            "{expected} missing from discovery"
        );
    }
    // Every documented operation is routed: none falls through to the "no such route" answer.
    for (path, ops) in paths {
        let mut concrete = path
            .replace("{orgname}", "nosuchorg")
            .replace("{repository}", "nosuchns/nosuchrepo");
        // The event stream follows the log until the client leaves: ask for its end at the head.
        if path == "/events/v1/stream" {
            concrete.push_str("?follow=false");
        }
        for method in ops.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = server
                .request(method.clone(), &concrete, Some(serde_json::json!({})), None)
                .await;
            assert_ne!(status, 405, "{method} {path} not routed");
            assert_ne!(
                body["error_message"], "No such API route",
                "{method} {path} not routed"
            );
        }
    }
}
