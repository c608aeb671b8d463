//! Upload sessions are bounded: per repository and per caller, and abandoned ones expire with
//! their bytes after `ANNALS_UPLOAD_TTL`.

use std::time::{Duration, Instant};

use annals_tests::{ADMIN, Backend, Server, on_both_backends};
use reqwest::Method;

on_both_backends! {
    sessions_are_limited_per_repository_and_caller => sessions_are_limited;
    abandoned_sessions_expire => abandoned_sessions_expire;
}

/// Starts an upload in `repository`: the status and the session's location.
async fn start(server: &Server, repository: &str) -> (u16, Option<String>, Option<String>) {
    let response = server
        .registry_request(Method::POST, &format!("/v2/{repository}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let (_, code) = Server::registry_error_code(response).await;
    (status, location, code)
}

async fn sessions_are_limited(backend: Backend) {
    let server = Server::start_with(
        backend,
        &[
            ("ANNALS_UPLOAD_SESSIONS_PER_REPOSITORY", "3"),
            ("ANNALS_UPLOAD_SESSIONS_PER_CALLER", "5"),
        ],
    )
    .await;
    let a = format!("{ADMIN}/a");
    let mut open = Vec::new();
    for _ in 0..3 {
        let (status, location, _) = start(&server, &a).await;
        assert_eq!(status, 202);
        open.push(location.unwrap());
    }
    let (status, _, code) = start(&server, &a).await;
    assert_eq!((status, code.as_deref()), (429, Some("TOOMANYREQUESTS")));
    for _ in 0..2 {
        assert_eq!(start(&server, &format!("{ADMIN}/b")).await.0, 202);
    }
    // Five open: the caller's limit, in any repository.
    let (status, _, code) = start(&server, &format!("{ADMIN}/c")).await;
    assert_eq!((status, code.as_deref()), (429, Some("TOOMANYREQUESTS")));
    // Finishing or cancelling one makes room.
    let cancelled = server
        .registry_request(Method::DELETE, &open[0])
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 204);
    assert_eq!(start(&server, &format!("{ADMIN}/c")).await.0, 202);
}

fn sessions_on_disk(server: &Server) -> usize {
    std::fs::read_dir(server.data_dir().join("blobs/uploads"))
        .unwrap()
        .count()
}

async fn abandoned_sessions_expire(backend: Backend) {
    let server = Server::start_with(backend, &[("ANNALS_UPLOAD_TTL", "3s")]).await;
    let repository = format!("{ADMIN}/app");
    let mut abandoned = Vec::new();
    for _ in 0..3 {
        let (_, location, _) = start(&server, &repository).await;
        let location = location.unwrap();
        let patched = server
            .registry_request(Method::PATCH, &location)
            .body(vec![7u8; 10_000])
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 202);
        abandoned.push(location);
    }
    let (_, active, _) = start(&server, &repository).await;
    let active = active.unwrap();
    assert_eq!(sessions_on_disk(&server), 4);
    // The active session keeps sending; the others are left alone.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        let patched = server
            .registry_request(Method::PATCH, &active)
            .body(vec![1u8; 100])
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 202, "the active session expired");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(sessions_on_disk(&server), 1);
    for location in &abandoned {
        let status = server
            .registry_request(Method::GET, location)
            .send()
            .await
            .unwrap();
        let (status, code) = Server::registry_error_code(status).await;
        assert_eq!(
            (status.as_u16(), code.as_deref()),
            (404, Some("BLOB_UPLOAD_UNKNOWN"))
        );
    }
}
