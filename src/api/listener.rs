//! The API's listener: accepts TCP in a task of its own, does TLS handshakes in
//! tasks of their own (a slow or silent client never holds up the next accept), and
//! bounds open connections with `http.max_connections`. Plain HTTP goes through the
//! same path, so both modes share the bound.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections waiting for the server loop.
const QUEUE: usize = 64;

/// The remote address, as handlers and the audit log see it (`ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, ApiListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, ApiListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// One connection; its slot under `max_connections` is freed when it is dropped.
pub struct Conn {
    stream: Stream,
    _slot: OwnedSemaphorePermit,
}

pub struct ApiListener {
    accepted: mpsc::Receiver<(Conn, SocketAddr)>,
    local: SocketAddr,
}

impl ApiListener {
    /// Starts accepting on `tcp`: TLS when `tls` is given, else plain HTTP.
    pub fn start(
        tcp: TcpListener,
        tls: Option<TlsAcceptor>,
        max_connections: usize,
    ) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, accepted) = mpsc::channel(QUEUE);
        tokio::spawn(accept_loop(tcp, tls, Arc::new(Semaphore::new(max_connections)), tx));
        Ok(ApiListener { accepted, local })
    }
}

impl Listener for ApiListener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.accepted.recv().await {
            Some(c) => c,
            // The accept task only ends once this listener is gone; axum's accept
            // cannot fail, so wait for the shutdown that is coming.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Ends when the listener is dropped (the server stopped), closing the socket.
async fn accept_loop(
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    slots: Arc<Semaphore>,
    tx: mpsc::Sender<(Conn, SocketAddr)>,
) {
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s { Ok(s) => s, Err(_) => return },
            _ = tx.closed() => return,
        };
        let (stream, addr) = tokio::select! {
            r = tcp.accept() => match r {
                Ok(x) => x,
                Err(e) => { accept_error(e).await; continue; }
            },
            _ = tx.closed() => return,
        };
        // Small JSON answers: do not let Nagle hold them back.
        let _ = stream.set_nodelay(true);
        match &tls {
            None => {
                let conn = Conn { stream: Stream::Plain(stream), _slot: slot };
                if tx.send((conn, addr)).await.is_err() {
                    return;
                }
            }
            Some(acceptor) => {
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => {
                            let conn = Conn { stream: Stream::Tls(Box::new(s)), _slot: slot };
                            let _ = tx.send((conn, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(peer = %addr, "TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!(peer = %addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

/// Like axum's own listener: a failed connection is that client's problem; running
/// out of file descriptors is ours, and retrying at once would spin.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}
