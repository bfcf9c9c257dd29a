//! Connections the server can kill: what makes [`Fault::DropConnection`]
//! look like a reset to the client, and what ends lingering streams when the
//! server shuts down.
//!
//! [`Fault::DropConnection`]: crate::Fault::DropConnection

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP connections wrapped in [`KillableIo`].
#[derive(Debug)]
pub(crate) struct KillableListener {
    inner: TcpListener,
    /// Set when the server gives up on a graceful shutdown: kills every connection.
    server_killed: Arc<AtomicBool>,
}

impl KillableListener {
    pub(crate) fn new(inner: TcpListener, server_killed: Arc<AtomicBool>) -> Self {
        Self { inner, server_killed }
    }
}

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (KillableIo, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    // Small JSON answers and one-byte drips must not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let io = KillableIo {
                        stream,
                        connection: Connection(Arc::new(Switch {
                            killed: AtomicBool::new(false),
                            server_killed: self.server_killed.clone(),
                        })),
                        reset: false,
                    };
                    return (io, peer);
                }
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    log::warn!("maximus-mock: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

#[derive(Debug)]
struct Switch {
    killed: AtomicBool,
    server_killed: Arc<AtomicBool>,
}

/// A handle on one connection, reachable from handlers as
/// `ConnectInfo<Connection>`.
#[derive(Debug, Clone)]
pub(crate) struct Connection(Arc<Switch>);

impl Connection {
    /// Every read and write on the connection fails from now on, and it
    /// closes with a reset.
    pub(crate) fn kill(&self) {
        self.0.killed.store(true, Ordering::Release);
    }

    fn is_killed(&self) -> bool {
        self.0.killed.load(Ordering::Acquire) || self.0.server_killed.load(Ordering::Acquire)
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.io().connection.clone()
    }
}

/// A TCP stream that fails every operation once its [`Connection`] is killed.
#[derive(Debug)]
pub(crate) struct KillableIo {
    stream: TcpStream,
    connection: Connection,
    reset: bool,
}

impl KillableIo {
    /// `Some(error)` once killed; the first call arranges for the close to be
    /// a reset (`SO_LINGER` 0) rather than an orderly FIN.
    fn check(&mut self) -> Option<io::Error> {
        if !self.connection.is_killed() {
            return None;
        }
        if !self.reset {
            self.reset = true;
            let _ = self.stream.set_zero_linger();
        }
        Some(io::ErrorKind::ConnectionReset.into())
    }
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A killed connection must not send a FIN before its reset.
        if let Some(error) = self.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
