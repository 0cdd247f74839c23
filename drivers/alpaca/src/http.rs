//! HTTP/1.1 to one Alpaca server: keep-alive connections in a small pool, and
//! timeouts on every wait — connect, the answer's head, and each gap between body
//! chunks — so a frozen server is found out while a long image download that keeps
//! moving is not mistaken for one.
//!
//! Written on hyper (already in teld's tree through axum) rather than pulling a
//! general HTTP client: Alpaca needs GET with a query and PUT with a form body, on
//! loopback or a LAN, nothing more.

use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest answer accepted: a 16k × 16k frame of 32-bit pixels.
const MAX_BODY: usize = 1 << 30;
/// hyper's read buffer limit per connection.
const READ_BUF: usize = 4 << 20;
/// Idle connections kept per server.
const POOL: usize = 4;

/// How long to wait, per request.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    /// For the connection and the answer's head.
    pub answer: Duration,
    /// Longest silence between two parts of the body.
    pub idle: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "cannot connect to the Alpaca server at {addr}: {message}; check that it runs and that the address is right"
    )]
    Connect { addr: String, message: String },
    #[error(
        "the Alpaca server at {addr} did not answer {what} within {after_s} s: the device is hung or overloaded"
    )]
    Timeout { addr: String, what: String, after_s: f64 },
    #[error(
        "the connection to the Alpaca server at {addr} broke during {what}: {message}; teld reconnects on the next call"
    )]
    Broken { addr: String, what: String, message: String },
    #[error("the answer from {addr} to {what} exceeds {MAX_BODY} bytes; refusing to buffer it")]
    TooLarge { addr: String, what: String },
}

/// An answer: status, content type and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

pub struct Server {
    /// `host:port`, as configured.
    addr: String,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Server {
    pub fn new(addr: impl Into<String>) -> Self {
        Server { addr: addr.into(), idle: Mutex::new(Vec::new()) }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one request. `form` is the PUT body (form-encoded already), `None` for GET.
    /// A GET that fails on a reused connection (the server closed it while idle) is
    /// retried once on a fresh one; a PUT never is, so no command is carried out twice.
    pub async fn send(
        &self,
        path: &str,
        form: Option<String>,
        accept: &str,
        wait: Wait,
    ) -> Result<Reply, HttpError> {
        let idempotent = form.is_none();
        if let Some(conn) = self.take_idle() {
            match self.exchange(conn, path, form.clone(), accept, wait).await {
                Err(HttpError::Broken { .. }) if idempotent => {}
                other => return other,
            }
        }
        let conn = self.connect(wait.answer).await?;
        self.exchange(conn, path, form, accept, wait).await
    }

    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(conn) = idle.pop() {
            if !conn.is_closed() && conn.is_ready() {
                return Some(conn);
            }
        }
        None
    }

    fn give_back(&self, conn: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < POOL {
            idle.push(conn);
        }
    }

    async fn connect(&self, limit: Duration) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        let fail = |message: String| HttpError::Connect { addr: self.addr.clone(), message };
        let stream = match tokio::time::timeout(limit, TcpStream::connect(&self.addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(fail(e.to_string())),
            Err(_) => return Err(fail(format!("no connection within {} s", limit.as_secs_f64()))),
        };
        let _ = stream.set_nodelay(true);
        // A large read buffer: image bodies arrive in far fewer, larger pieces.
        let (sender, conn) = http1::Builder::new()
            .max_buf_size(READ_BUF)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| fail(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("Alpaca connection ended: {e}");
            }
        });
        Ok(sender)
    }

    async fn exchange(
        &self,
        mut conn: SendRequest<Full<Bytes>>,
        path: &str,
        form: Option<String>,
        accept: &str,
        wait: Wait,
    ) -> Result<Reply, HttpError> {
        let what = || path.split('?').next().unwrap_or(path).to_string();
        let broken = |e: hyper::Error| HttpError::Broken {
            addr: self.addr.clone(),
            what: what(),
            message: e.to_string(),
        };
        let timeout = |after: Duration| HttpError::Timeout {
            addr: self.addr.clone(),
            what: what(),
            after_s: after.as_secs_f64(),
        };
        let builder = Request::builder()
            .uri(path)
            .header(header::HOST, &self.addr)
            .header(header::ACCEPT, accept);
        let request = match form {
            Some(body) => builder
                .method(Method::PUT)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(body))),
            None => builder.method(Method::GET).body(Full::new(Bytes::new())),
        }
        .map_err(|e| HttpError::Broken {
            addr: self.addr.clone(),
            what: what(),
            message: format!("request could not be built: {e}"),
        })?;
        // On a timeout the connection is dropped, never pooled: a late answer on it
        // would be read as the next request's.
        let response = match tokio::time::timeout(wait.answer, conn.send_request(request)).await {
            Ok(r) => r.map_err(broken)?,
            Err(_) => return Err(timeout(wait.answer)),
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let expected = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = response.into_body();
        // Chunks are kept and joined once: growing one buffer re-copies a large image
        // several times over.
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        loop {
            let frame = match tokio::time::timeout(wait.idle, body.frame()).await {
                Err(_) => return Err(timeout(wait.idle)),
                Ok(None) => break,
                Ok(Some(f)) => f.map_err(broken)?,
            };
            if let Ok(data) = frame.into_data() {
                total += data.len();
                if total > MAX_BODY {
                    return Err(HttpError::TooLarge { addr: self.addr.clone(), what: what() });
                }
                chunks.push(data);
            }
        }
        self.give_back(conn);
        let body = match chunks.len() {
            0 => Bytes::new(),
            1 => chunks.pop().unwrap_or_default(),
            _ => {
                let mut buf = BytesMut::with_capacity(total.max(expected));
                for c in &chunks {
                    buf.extend_from_slice(c);
                }
                buf.freeze()
            }
        };
        Ok(Reply { status, content_type, body })
    }
}

/// `key=value&…`, percent-encoded.
pub fn form(pairs: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}
