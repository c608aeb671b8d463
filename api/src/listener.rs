//! Serving one listener so that slow, idle or too many clients cannot take it down:
//!
//! - a **header-read timeout** (hyper's), which also ends keep-alive connections that sit idle
//!   between requests, and a **body-progress timeout** on every request body (see [`app`]);
//! - a **cap on open connections**: at the cap a new connection first makes room by closing the
//!   oldest idle one (no request in flight: a client that never finishes its headers is idle),
//!   and when every connection is busy it is answered `503` with `Retry-After` and closed;
//! - a **graceful shutdown with a deadline**: on stop, idle connections close at once, requests
//!   in flight may finish, and whatever is still open at the deadline is dropped.
//!
//! HTTP/1.1 only: registry and management clients speak it (HTTP/2 comes with TLS, in front).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How a listener protects itself.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may sit idle.
    pub header_read_timeout: Duration,
    /// How long a request body may go without sending a byte.
    pub body_idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// The app with the per-request limits applied (the body-progress timeout).
pub fn app(router: Router, limits: &Limits) -> Router {
    router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_idle_timeout,
    ))
}

/// Raises this process's open-file limit to the most it may have, and answers it.
pub fn raise_open_file_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}

/// The default connection cap of each of the two listeners for a process that may open
/// `open_files` descriptors: half of what remains after files, databases and sockets of its
/// own, at most 4,096.
pub fn default_max_connections(open_files: u64) -> usize {
    (open_files.saturating_sub(256) / 2).clamp(16, 4096) as usize
}

/// Serves `app` on `listener` until `stop` turns true, then shuts down within the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let open = Arc::new(Connections::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let mut tasks = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, say: wait for some to close instead of spinning.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        // Responses are written in several pieces (headers, then streamed bodies); without
        // TCP_NODELAY, Nagle's algorithm meets the client's delayed ACK and each costs ~40 ms.
        let _ = tcp.set_nodelay(true);
        match open.admit() {
            Some(slot) => {
                tasks.spawn(connection(
                    http.clone(),
                    tcp,
                    peer,
                    app.clone(),
                    slot,
                    stop.clone(),
                ));
            }
            None => {
                tasks.spawn(shed(tcp));
            }
        }
        while tasks.try_join_next().is_some() {}
    }
    let drained = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            "closing {} connections still open after {:?}",
            tasks.len(),
            limits.shutdown_grace
        );
        tasks.abort_all();
    }
}

/// Serves one connection until it ends, is evicted, or the server stops.
async fn connection(
    http: Arc<hyper::server::conn::http1::Builder>,
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    slot: Slot,
    mut stop: watch::Receiver<bool>,
) {
    let busy = slot.busy.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let request = Busy::start(busy.clone());
        let app = app.clone();
        async move {
            let response = app
                .oneshot(req.map(Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            // The connection counts as busy until the response body has been written.
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _request: request,
                })
            }))
        }
    });
    let conn = http
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = slot.evicted.notified(), if !closing => {}
            _ = stopped(&mut stop), if !closing => {}
        }
        // Evicted, or the server is stopping. An idle connection (which may hold half a
        // request's headers) is closed now; a busy one finishes its request first.
        if slot.busy.load(Ordering::Acquire) == 0 {
            return;
        }
        closing = true;
        conn.as_mut().graceful_shutdown();
    }
}

/// Resolves once `stop` is true (the watch's guard is not held across an await).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Answers a connection over the cap and closes it.
async fn shed(mut tcp: TcpStream) {
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(answer)).await;
}

/// The open connections of a listener, oldest first.
struct Connections {
    max: usize,
    open: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    slots: BTreeMap<u64, (Arc<AtomicUsize>, Arc<Notify>)>,
}

/// A connection's place among the open ones; freed when dropped.
struct Slot {
    id: u64,
    /// Requests in flight on the connection.
    busy: Arc<AtomicUsize>,
    /// Notified when the connection must close to make room.
    evicted: Arc<Notify>,
    open: Arc<Connections>,
}

impl Connections {
    fn new(max: usize) -> Self {
        Connections {
            max: max.max(1),
            open: Mutex::default(),
        }
    }

    /// A place for a new connection: free, or made by closing the oldest idle connection;
    /// `None` when every open connection is busy.
    fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut open = self.open.lock().expect("connection registry");
        if open.slots.len() >= self.max {
            let idle = open
                .slots
                .iter()
                .find(|(_, (busy, _))| busy.load(Ordering::Acquire) == 0)
                .map(|(id, _)| *id)?;
            if let Some((_, evicted)) = open.slots.remove(&idle) {
                evicted.notify_one();
            }
        }
        let id = open.next;
        open.next += 1;
        let (busy, evicted) = (Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        open.slots.insert(id, (busy.clone(), evicted.clone()));
        Some(Slot {
            id,
            busy,
            evicted,
            open: self.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open
            .open
            .lock()
            .expect("connection registry")
            .slots
            .remove(&self.id);
    }
}

/// One request in flight on a connection, until dropped.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn start(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until it is dropped.
struct Tracked {
    body: Body,
    _request: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let open = Arc::new(Connections::new(2));
        let first = open.admit().unwrap();
        let second = open.admit().unwrap();
        let _working = Busy::start(first.busy.clone());
        // The first is busy, so the second (idle) goes.
        let third = open.admit().unwrap();
        assert_eq!(
            open.open
                .lock()
                .unwrap()
                .slots
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            vec![first.id, third.id]
        );
        let _also_working = Busy::start(third.busy.clone());
        // Every connection is busy: no room.
        assert!(open.admit().is_none());
        drop(second);
        drop(third);
        assert!(open.admit().is_some());
    }

    #[test]
    fn the_default_cap_leaves_descriptors_for_the_rest() {
        assert_eq!(default_max_connections(1024), 384);
        assert_eq!(default_max_connections(1 << 20), 4096);
        assert_eq!(default_max_connections(100), 16);
    }
}
