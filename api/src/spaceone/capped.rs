//! The gRPC listener's connection cap: at most `max` connections are open at once (the same
//! `ANNALS_MAX_CONNECTIONS` as the HTTP listeners); a connection past the cap is closed at once
//! rather than queued, so a flood of idle connections cannot exhaust descriptors.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An accepted connection holding its place under the cap until it is dropped.
pub struct Capped {
    io: TcpStream,
    _place: OwnedSemaphorePermit,
}

/// The connections `listener` accepts, at most `max` open at once; the others are closed.
pub fn incoming(listener: TcpListener, max: usize) -> impl Stream<Item = io::Result<Capped>> {
    let places = Arc::new(Semaphore::new(max.max(1)));
    tokio_stream::wrappers::TcpListenerStream::new(listener).filter_map(move |accepted| {
        let places = places.clone();
        async move {
            match accepted {
                Ok(io) => match places.try_acquire_owned() {
                    Ok(place) => {
                        let _ = io.set_nodelay(true);
                        Some(Ok(Capped { io, _place: place }))
                    }
                    Err(_) => {
                        tracing::warn!("gRPC listener full: closing a new connection");
                        None
                    }
                },
                // An accept error (out of descriptors, say) ends nothing: skip it.
                Err(e) => {
                    tracing::warn!("accepting a gRPC connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    None
                }
            }
        }
    })
}

impl Connected for Capped {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
