//! Authentication: bearer tokens; everything but discovery needs one.

use annals_tests::{Backend, Server, assert_quay_error, json};
use reqwest::Method;

#[tokio::test]
async fn unauthenticated_and_bad_tokens_get_401() {
    let server = Server::start(Backend::Embedded).await;
    for token in ["", "wrong-token"] {
        let (status, body) = server
            .request(Method::GET, "/api/v1/organization/admin", None, Some(token))
            .await;
        assert_quay_error(status, &body, 401, "invalid_token");
        let (status, body) = server
            .request(
                Method::POST,
                "/api/v1/repository",
                Some(json!({"repository": "x", "visibility": "public"})),
                Some(token),
            )
            .await;
        assert_quay_error(status, &body, 401, "invalid_token");
    }
    assert_eq!(
        server.event_count().await,
        3,
        "only the bootstrap events (reservation, user, token)"
    );
    let (status, _) = server
        .request(Method::GET, "/api/v1/discovery", None, Some(""))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_generated_bootstrap_token_is_printed_once_and_works() {
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(annals_tests::binary())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ANNALS_REGISTRY_LISTEN", "127.0.0.1:0")
        .env("ANNALS_GRPC_LISTEN", "127.0.0.1:0")
        .env("ANNALS_DATA_DIR", data.path())
        .env_remove("ANNALS_DATABASE_URL")
        .env_remove("ANNALS_BOOTSTRAP_TOKEN")
        .env_remove("ANNALS_BOOTSTRAP_USER")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut token = None;
    let mut base = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("(shown only this once): ").nth(1) {
            token = Some(rest.trim().to_owned());
        }
        if let Some(addr) = line.strip_prefix("listening on ") {
            base = Some(addr.to_owned());
            break;
        }
    }
    let (token, base) = (token.expect("token printed"), base.expect("listening"));
    let response = reqwest::Client::new()
        .get(format!("{base}/api/v1/user/logs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let logs: serde_json::Value = response.json().await.unwrap();
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["create_app_specific_token", "user_create"]);
    child.kill().unwrap();
    child.wait().unwrap();
}
