//! Bodies that lie about their length or break off: a 4xx, never a 500, and nothing of the
//! broken body kept — the upload goes on from where it was.

use std::time::Duration;

use annals_tests::oci::sha256;
use annals_tests::{ADMIN, Backend, Server, basic_auth, on_both_backends, raw};
use reqwest::Method;

on_both_backends! {
    a_body_that_breaks_off_keeps_nothing => a_body_that_breaks_off_keeps_nothing;
}

/// Starts an upload to `admin/app` holding `first`; answers its location.
async fn upload_with(server: &Server, first: &[u8]) -> String {
    let started = server
        .registry_request(Method::POST, &format!("/v2/{ADMIN}/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let patched = server
        .registry_request(Method::PATCH, &location)
        .header("content-type", "application/octet-stream")
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 202);
    location
}

async fn upload_size(server: &Server, location: &str) -> String {
    let status = server
        .registry_request(Method::GET, location)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    status.headers()["range"].to_str().unwrap().to_owned()
}

async fn a_body_that_breaks_off_keeps_nothing(backend: Backend) {
    let server = Server::start_with(backend, &[("ANNALS_BODY_IDLE_TIMEOUT_S", "1")]).await;
    let auth = basic_auth(ADMIN, &server.token);
    let location = upload_with(&server, b"hello").await;
    assert_eq!(upload_size(&server, &location).await, "0-4");

    // A Content-Length of 10^12 with three bytes: refused before anything is read.
    for (method, path) in [
        ("PATCH", location.clone()),
        (
            "POST",
            format!("/v2/{ADMIN}/app/blobs/uploads/?digest={}", sha256(b"abc")),
        ),
    ] {
        let mut stream = raw::send_partial(
            &server.registry,
            &format!(
                "{method} {path} HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Length: 1000000000000"
            ),
            b"abc",
        )
        .await;
        assert_eq!(
            raw::status_of(&mut stream, Duration::from_secs(5)).await,
            Some(413),
            "{method} {path}"
        );
    }
    // A body that stops halfway: 400 once it has been silent too long.
    let mut stalled = raw::send_partial(
        &server.registry,
        &format!("PATCH {location} HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Length: 100"),
        b"0123456789",
    )
    .await;
    assert_eq!(
        raw::status_of(&mut stalled, Duration::from_secs(10)).await,
        Some(400)
    );
    // A client that disconnects mid-body.
    let cut = raw::send_partial(
        &server.registry,
        &format!("PATCH {location} HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Length: 100"),
        b"0123456789",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(cut);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Nothing of either broken body was kept; the upload completes with what it had.
    assert_eq!(upload_size(&server, &location).await, "0-4");
    let done = server
        .registry_request(
            Method::PUT,
            &format!("{location}?digest={}", sha256(b"hello world")),
        )
        .body(b" world".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 201, "{:?}", done.text().await);

    // A manifest whose body breaks off is invalid, not a server error.
    let mut manifest = raw::send_partial(
        &server.registry,
        &format!("PUT /v2/{ADMIN}/app/manifests/v1 HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 500"),
        b"{\"schemaVersion\": 2,",
    )
    .await;
    assert_eq!(
        raw::status_of(&mut manifest, Duration::from_secs(10)).await,
        Some(400)
    );
}
