//! How metadata and targets reach `tough`: a folder (a bundle copied from a stick) or a
//! plain-HTTP mirror. Both are untrusted — `tough` verifies every byte — so these only
//! have to make sure that fetching cannot hurt the site: no link followed out of the
//! bundle, no device or FIFO read, no mirror able to hold a cycle open forever or feed
//! it endless data.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tough::{Transport, TransportError, TransportErrorKind, TransportStream};
use url::Url;

/// Reads files below one folder, refusing anything that is not a regular file reached
/// without a symbolic link: a bundle is brought by hand and may carry a link to
/// `/etc/shadow` or a FIFO that blocks the reader.
#[derive(Debug, Clone)]
pub struct FolderTransport {
    root: PathBuf,
}

impl FolderTransport {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn open(&self, url: &Url) -> Result<std::fs::File, TransportError> {
        let other = |why: String| {
            TransportError::new_with_cause(TransportErrorKind::Other, url.as_str(), why)
        };
        let path = url.to_file_path().map_err(|()| other("not a file path".into()))?;
        let rel = path
            .strip_prefix(&self.root)
            .map_err(|_| other(format!("{} is outside the bundle", path.display())))?;
        // Walk component by component so a link anywhere on the way is seen, not only
        // at the end (O_NOFOLLOW guards only the last component).
        let mut at = self.root.clone();
        for c in rel.components() {
            let Component::Normal(part) = c else {
                return Err(other(format!("{} is not a plain path in the bundle", rel.display())));
            };
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(other(format!("{} is a symbolic link", at.display())));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(TransportError::new_with_cause(
                        TransportErrorKind::FileNotFound,
                        url.as_str(),
                        e,
                    ));
                }
                Err(e) => return Err(other(e.to_string())),
            }
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            // O_NONBLOCK: opening a FIFO must not hang the cycle before we can refuse it.
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| other(e.to_string()))?;
        let meta = file.metadata().map_err(|e| other(e.to_string()))?;
        if !meta.is_file() {
            return Err(other(format!("{} is not a regular file", path.display())));
        }
        Ok(file)
    }
}

#[tough::async_trait]
impl Transport for FolderTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        if url.scheme() != "file" {
            return Err(TransportError::new(TransportErrorKind::UnsupportedUrlScheme, url));
        }
        let file = self.open(&url)?;
        let reader = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
        let url = url.to_string();
        Ok(Box::pin(futures_util::StreamExt::map(reader, move |r| {
            r.map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, &url, e))
        })))
    }
}

/// Bounds on one HTTP mirror conversation. A mirror is untrusted: it may stall, trickle
/// one byte a minute (slow-loris) or never stop sending.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connect, send the request and receive the response head.
    pub request_timeout: Duration,
    /// Longest wait for the next piece of a body.
    pub idle_timeout: Duration,
    /// Whole body of one file, however steadily it arrives.
    pub transfer_timeout: Duration,
    /// Every byte fetched through one transport (one update cycle, metadata and targets).
    pub max_total_bytes: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(30),
            transfer_timeout: Duration::from_secs(300),
            max_total_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Plain HTTP/1.1 on hyper, one connection per file. Only `http://` for now: TLS adds
/// nothing to integrity (TUF signs everything) and comes later for privacy.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    limits: HttpLimits,
    /// Bytes left in this transport's budget, shared by its clones.
    budget: Arc<AtomicU64>,
}

impl HttpTransport {
    pub fn new(limits: HttpLimits) -> Self {
        Self { limits, budget: Arc::new(AtomicU64::new(limits.max_total_bytes)) }
    }

    async fn head(&self, url: &Url) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        let host = url.host_str().ok_or("no host in the URL")?;
        let port = url.port_or_known_default().ok_or("no port in the URL")?;
        let tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| e.to_string())?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        // The connection task ends when the response body is dropped or finished.
        tokio::spawn(conn);
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::USER_AGENT, concat!("teld/", env!("CARGO_PKG_VERSION")))
            .body(http_body_util::Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        send.send_request(req).await.map_err(|e| e.to_string())
    }
}

#[tough::async_trait]
impl Transport for HttpTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        if url.scheme() != "http" {
            return Err(TransportError::new_with_cause(
                TransportErrorKind::UnsupportedUrlScheme,
                url,
                "only http:// mirrors are supported for now (TUF signs every byte; TLS comes later)",
            ));
        }
        let other = |why: String| {
            TransportError::new_with_cause(TransportErrorKind::Other, url.as_str(), why)
        };
        let resp = tokio::time::timeout(self.limits.request_timeout, self.head(&url))
            .await
            .map_err(|_| other(format!("no response within {:?}", self.limits.request_timeout)))?
            .map_err(other)?;
        match resp.status() {
            s if s.is_success() => {}
            // TUF asks "is N+1.root.json there?": only a 404/410 means "no".
            hyper::StatusCode::NOT_FOUND | hyper::StatusCode::GONE => {
                return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
            }
            s => return Err(other(format!("HTTP status {s}"))),
        }
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(pump(resp.into_body(), tx, self.limits, self.budget.clone(), url.to_string()));
        Ok(Box::pin(Body { rx }))
    }
}

/// Moves a response body into the channel under the time and byte limits; stops as soon
/// as the reader is gone.
async fn pump(
    mut body: hyper::body::Incoming,
    tx: mpsc::Sender<Result<Bytes, TransportError>>,
    limits: HttpLimits,
    budget: Arc<AtomicU64>,
    url: String,
) {
    let fail =
        |why: String| Err(TransportError::new_with_cause(TransportErrorKind::Other, &url, why));
    let deadline = tokio::time::Instant::now() + limits.transfer_timeout;
    loop {
        let next = deadline.min(tokio::time::Instant::now() + limits.idle_timeout);
        let item = match tokio::time::timeout_at(next, body.frame()).await {
            Err(_) if next == deadline => fail(format!(
                "transfer not finished within {:?} (a stalled or trickling mirror)",
                limits.transfer_timeout
            )),
            Err(_) => fail(format!("no data for {:?} (a stalled mirror)", limits.idle_timeout)),
            Ok(None) => return,
            Ok(Some(Err(e))) => fail(format!("connection broke mid-transfer: {e}")),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    let n = data.len() as u64;
                    let within = budget
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                            left.checked_sub(n)
                        })
                        .is_ok();
                    if !within {
                        fail(format!(
                            "more than {} bytes fetched in one update cycle",
                            limits.max_total_bytes
                        ))
                    } else {
                        Ok(data)
                    }
                }
                // Trailers carry nothing we use.
                Err(_) => continue,
            },
        };
        let stop = item.is_err();
        if tx.send(item).await.is_err() || stop {
            return;
        }
    }
}

/// The receiving end as a `Stream`; `Sync` because `tough` requires it of transports.
struct Body {
    rx: mpsc::Receiver<Result<Bytes, TransportError>>,
}

impl Stream for Body {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// `file://` URL of a folder, with the trailing slash `tough` joins names onto.
pub fn folder_url(dir: &Path) -> Result<Url, String> {
    Url::from_directory_path(dir).map_err(|()| format!("{} is not an absolute path", dir.display()))
}

/// The transport of one source, concrete because `tough` takes its transport by value.
#[derive(Debug, Clone)]
pub enum SourceTransport {
    Folder(FolderTransport),
    Http(HttpTransport),
}

#[tough::async_trait]
impl Transport for SourceTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        match self {
            SourceTransport::Folder(t) => t.fetch(url).await,
            SourceTransport::Http(t) => t.fetch(url).await,
        }
    }
}
