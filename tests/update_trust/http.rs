//! A loopback mirror serving a published folder, well or badly.

use std::net::SocketAddr;
use std::path::Path;

use axum::body::Body;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use teld::update::source::Source;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Normal,
    /// `timestamp.json` is 2 MiB.
    HugeTimestamp,
    /// Every response sends its head and one byte, then nothing.
    Stall,
    /// Every response is an HTML error page with status 200.
    Html,
}

pub struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub fn source(&self) -> Source {
        Source::Http(format!("http://{}/", self.addr).parse().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve(dir: &Path, mode: Mode) -> Server {
    let dir = dir.to_path_buf();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let dir = dir.clone();
        async move { respond(&dir, mode, &uri) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { addr, task }
}

fn respond(dir: &Path, mode: Mode, uri: &Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    match mode {
        Mode::Html => {
            return Response::new(Body::from("<html><body>502 upstream unavailable</body></html>"));
        }
        Mode::Stall => {
            let once =
                futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"{"))]);
            return Response::new(Body::from_stream(once.chain(futures_util::stream::pending())));
        }
        Mode::HugeTimestamp if path == "metadata/timestamp.json" => {
            return Response::new(Body::from(vec![b' '; 2 * 1024 * 1024]));
        }
        _ => {}
    }
    if path.split('/').any(|c| c == "..") {
        return status(StatusCode::BAD_REQUEST);
    }
    match std::fs::read(dir.join(path)) {
        Ok(bytes) => Response::new(Body::from(bytes)),
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}

fn status(code: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}
