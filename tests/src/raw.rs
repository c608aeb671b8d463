//! Raw HTTP/1.1 over TCP, for what well-behaved clients never do: requests left unfinished,
//! bodies shorter than their `Content-Length`, connections that never send a byte.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `host:port` of an `http://host:port` base URL.
pub fn host_of(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

/// Opens a connection and sends `head` (request line and headers, without the blank line
/// that ends them) and then `body`, and leaves the connection open.
pub async fn send_partial(base: &str, head: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(host_of(base)).await.expect("connect");
    let request = format!("{head}\r\nHost: {}\r\n\r\n", host_of(base));
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send head");
    stream.write_all(body).await.expect("send body");
    stream.flush().await.expect("flush");
    stream
}

/// What the server answers on `stream` within `wait`: the status code of the first response,
/// or `None` if it closed the connection or sent nothing.
pub async fn status_of(stream: &mut TcpStream, wait: Duration) -> Option<u16> {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    let _ = read;
    let text = String::from_utf8_lossy(&buf);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// Whether the server has closed `stream` (reads end) within `wait`.
pub async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}
