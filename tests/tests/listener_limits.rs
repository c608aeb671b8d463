//! What slow, idle and too many clients can do to a listener: nothing that stops real requests
//! or a shutdown. Headers must arrive within a timeout (idle keep-alive connections close too),
//! connections are capped with the oldest idle one closed to make room, and SIGTERM finishes
//! within its grace period whatever sockets are open.

use std::time::{Duration, Instant};

use annals_tests::raw;
use annals_tests::{Backend, Server, on_both_backends};
use tokio::net::TcpStream;

on_both_backends! {
    slow_clients_do_not_crowd_out_real_ones => slow_clients_do_not_crowd_out_real_ones;
    idle_and_slow_connections_are_closed => idle_and_slow_connections_are_closed;
    a_shutdown_finishes_within_its_grace => a_shutdown_finishes_within_its_grace;
    grpc_connections_are_capped => grpc_connections_are_capped;
}

const CAP: usize = 32;

/// Connections that never finish their headers.
async fn slowloris(base: &str, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = TcpStream::connect(raw::host_of(base)).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    held
}

/// Descriptors the server may open in the first test: fewer than the slow clients it meets.
const OPEN_FILES: usize = 256;

async fn slow_clients_do_not_crowd_out_real_ones(backend: Backend) {
    let server = Server::start_with(backend, &[("ANNALS_MAX_CONNECTIONS", &CAP.to_string())]).await;
    // As on a host with a small descriptor limit: more slow clients than the server could
    // hold open at once.
    let limited = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", server.pid().unwrap()))
        .arg(format!("--nofile={OPEN_FILES}:{OPEN_FILES}"))
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(limited.success());
    let _management = slowloris(&server.base, OPEN_FILES).await;
    let _registry = slowloris(&server.registry, CAP * 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..CAP {
        // A fresh client each time: a new connection that has to find room.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let answer = client
            .post(server.url("/api/v1/organization/"))
            .bearer_auth(&server.token)
            .json(&serde_json::json!({"name": format!("org{i}")}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} was not served: {e}"));
        assert_eq!(answer.status(), 201, "request {i}");
        let pulled = client
            .get(format!("{}/v2/", server.registry))
            .basic_auth("admin", Some(&server.token))
            .send()
            .await
            .unwrap_or_else(|e| panic!("registry request {i} was not served: {e}"));
        assert_eq!(pulled.status(), 200, "registry request {i}");
    }
}

async fn idle_and_slow_connections_are_closed(backend: Backend) {
    let server = Server::start_with(backend, &[("ANNALS_HEADER_READ_TIMEOUT_S", "1")]).await;
    // Nothing sent at all; half a request line; a finished request left open (keep-alive).
    let mut silent = TcpStream::connect(raw::host_of(&server.base))
        .await
        .unwrap();
    let mut partial = slowloris(&server.registry, 1).await.remove(0);
    let mut kept = raw::send_partial(&server.base, "GET /api/v1/discovery HTTP/1.1", b"").await;
    assert_eq!(
        raw::status_of(&mut kept, Duration::from_secs(5)).await,
        Some(200)
    );
    let started = Instant::now();
    for (name, stream) in [
        ("silent", &mut silent),
        ("partial", &mut partial),
        ("idle keep-alive", &mut kept),
    ] {
        assert!(
            raw::closed_within(stream, Duration::from_secs(5)).await,
            "the {name} connection stayed open"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

async fn a_shutdown_finishes_within_its_grace(backend: Backend) {
    let mut server = Server::start_with(backend, &[("ANNALS_SHUTDOWN_GRACE_S", "2")]).await;
    // An idle socket, a slow client, and an upload whose body stops halfway.
    let _idle = TcpStream::connect(raw::host_of(&server.base))
        .await
        .unwrap();
    let _slow = slowloris(&server.registry, 3).await;
    let auth = annals_tests::basic_auth(annals_tests::ADMIN, &server.token);
    let _upload = raw::send_partial(
        &server.registry,
        &format!(
            "POST /v2/admin/held/blobs/uploads/?digest=sha256:{} HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Length: 1000",
            "0".repeat(64)
        ),
        b"only part of it",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert!(
        server.terminate(Duration::from_secs(8)),
        "annals serve did not stop within 8 s of SIGTERM"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

/// An HTTP/2 client preface with an empty SETTINGS frame: what a gRPC client sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Opens an HTTP/2 connection to `addr` and answers how many bytes the server sent back before
/// it closed the connection or 5 seconds passed (a server that took it sends its SETTINGS).
async fn h2_greeting(addr: &str) -> (TcpStream, usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(H2_PREFACE).await;
    let mut buf = [0u8; 256];
    let n = match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(n)) => n,
        Ok(Err(_)) => 0,
        Err(_) => panic!("the server neither answered nor closed the connection"),
    };
    (stream, n)
}

/// The gRPC listener holds at most `ANNALS_MAX_CONNECTIONS` connections: one more is closed at
/// once, and a place freed takes a new one.
async fn grpc_connections_are_capped(backend: Backend) {
    const GRPC_CAP: usize = 4;
    let server = Server::start_with(
        backend,
        &[("ANNALS_MAX_CONNECTIONS", &GRPC_CAP.to_string())],
    )
    .await;
    let addr = server.grpc.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..GRPC_CAP {
        let (stream, n) = h2_greeting(&addr).await;
        assert!(n > 0, "a connection under the cap is served");
        held.push(stream);
    }
    let (_, n) = h2_greeting(&addr).await;
    assert_eq!(n, 0, "a connection past the cap is closed");
    drop(held.pop());
    // The freed place is released when the server notices the close.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (stream, n) = h2_greeting(&addr).await;
        if n > 0 {
            held.push(stream);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a freed place never took a new connection"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
