//! Registry bearer tokens never outlive the credential they were made from, a refresh re-checks
//! it, and the key that signs them is a private file outside the blob tree.

use std::time::Duration;

use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends! {
    a_token_dies_with_its_credential => a_token_dies_with_its_credential;
    the_signing_key_is_private => the_signing_key_is_private;
}

/// `username:secret` of a docker-credentials answer.
async fn credential(server: &Server, query: &str) -> (String, String) {
    let (status, body) = server
        .get(&format!("/v2/registry/docker-credentials{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let host = server.registry.trim_start_matches("http://");
    let auth = body["auths"][host]["auth"].as_str().expect("auth");
    let decoded = String::from_utf8(STANDARD.decode(auth).unwrap()).unwrap();
    let (user, secret) = decoded.split_once(':').unwrap();
    (user.to_owned(), secret.to_owned())
}

/// `GET /token` with the given `Authorization`: status and body.
async fn token(server: &Server, authorization: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!(
            "{}/token?service=annals&scope=repository:acme/app:pull",
            server.registry
        ))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn base_with(server: &Server, authorization: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/v2/", server.registry))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_token_dies_with_its_credential(backend: Backend) {
    let server = Server::start(backend).await;
    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "acme", "subscription_tier_slug": "basic", "region": "fra1"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (user, secret) = credential(&server, "?expiry_seconds=3").await;
    let basic = format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")));
    let (status, body) = token(&server, &basic).await;
    assert_eq!(status, 200, "{body}");
    // The token is valid no longer than the credential.
    let expires_in = body["expires_in"].as_i64().unwrap();
    assert!((0..=3).contains(&expires_in), "{body}");
    let bearer = format!("Bearer {}", body["token"].as_str().unwrap());
    assert_eq!(base_with(&server, &bearer).await, 200);
    // A refresh with the bearer is bounded by the credential too.
    let (status, refreshed) = token(&server, &bearer).await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(
        refreshed["expires_in"].as_i64().unwrap() <= expires_in,
        "{refreshed}"
    );
    let refreshed = format!("Bearer {}", refreshed["token"].as_str().unwrap());

    tokio::time::sleep(Duration::from_secs(4)).await;
    // The credential has expired: neither it nor any token made from it opens the registry,
    // and no refresh gives a new one.
    assert_eq!(base_with(&server, &basic).await, 401);
    assert_eq!(base_with(&server, &bearer).await, 401);
    assert_eq!(base_with(&server, &refreshed).await, 401);
    assert_eq!(token(&server, &bearer).await.0, 401);
    assert_eq!(token(&server, &refreshed).await.0, 401);

    // An API token's bearer keeps working, and a token forged with another key does not.
    let api = format!(
        "Basic {}",
        STANDARD.encode(format!("{ADMIN}:{}", server.token))
    );
    let (status, body) = token(&server, &api).await;
    assert_eq!(status, 200, "{body}");
    let good = body["token"].as_str().unwrap().to_owned();
    assert_eq!(base_with(&server, &format!("Bearer {good}")).await, 200);
    let (payload, _) = good.split_once('.').unwrap();
    assert_eq!(
        base_with(&server, &format!("Bearer {payload}.bm90LWEtc2lnbmF0dXJl")).await,
        401
    );
}

async fn the_signing_key_is_private(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let mut server = Server::start(backend).await;
    // The key is made when the server starts, not on first use.
    let key = server.data_dir().join("secrets/token-signing.key");
    let mode = std::fs::metadata(&key)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let dir_mode = std::fs::metadata(key.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0, "{dir_mode:o}");
    assert!(!server.data_dir().join("blobs/token-signing.key").exists());

    // A key others may read is refused at start.
    server.kill();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = server
        .command(&["serve"])
        .env("ANNALS_LISTEN", "127.0.0.1:0")
        .env("ANNALS_REGISTRY_LISTEN", "127.0.0.1:0")
        .env("ANNALS_GRPC_LISTEN", "127.0.0.1:0")
        .output()
        .expect("run annals serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("readable by other users"), "{stderr}");

    // A key left world-readable by an earlier release is removed.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(server.data_dir().join("blobs/token-signing.key"), [7u8; 32]).unwrap();
    server.restart().await;
    assert!(!server.data_dir().join("blobs/token-signing.key").exists());
    assert_eq!(base_with(&server, "Bearer nonsense.token").await, 401);
}
