//! A server-sent-events client over a raw TcpStream (HTTP/1.1, chunked), so tests
//! see exactly what goes over the wire: ids, event names, data, keep-alives.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One message: `id`, `event` and `data` as sent (`data` lines joined by `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl Message {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

pub struct SseClient {
    body: BufReader<Dechunk>,
    pub status: u16,
    pub content_type: String,
}

impl SseClient {
    /// Opens `GET /api/v1/events`, with `Last-Event-ID` if given.
    pub fn connect(addr: SocketAddr, last_event_id: Option<&str>) -> SseClient {
        SseClient::connect_path(addr, "/api/v1/events", last_event_id)
    }

    pub fn connect_path(addr: SocketAddr, path: &str, last_event_id: Option<&str>) -> SseClient {
        SseClient::connect_as(addr, path, last_event_id, None)
    }

    /// With `Authorization: Bearer <token>` when given.
    pub fn connect_as(
        addr: SocketAddr,
        path: &str,
        last_event_id: Option<&str>,
        token: Option<&str>,
    ) -> SseClient {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        s.set_nodelay(true).unwrap();
        let mut head =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        if let Some(id) = last_event_id {
            head.push_str(&format!("Last-Event-ID: {id}\r\n"));
        }
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        let mut r = BufReader::new(s);
        let mut status = 0;
        let mut content_type = String::new();
        let mut chunked = false;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).expect("read header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if status == 0 {
                status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
            } else if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                if k == "content-type" {
                    content_type = v;
                } else if k == "transfer-encoding" && v.contains("chunked") {
                    chunked = true;
                }
            }
        }
        let body = BufReader::new(Dechunk { inner: r, chunked, left: 0, done: false });
        SseClient { body, status, content_type }
    }

    /// The next message within `timeout`; `None` when the stream ends. Panics on a
    /// timeout, naming what was being waited for.
    pub fn next(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        let (mut id, mut event, mut data) = (None, String::from("message"), Vec::<String>::new());
        loop {
            let left =
                deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            self.body.get_ref().inner.get_ref().set_read_timeout(Some(left)).unwrap();
            let mut line = String::new();
            match self.body.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!("no SSE message within {timeout:?}")
                }
                Err(_) => return None,
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if data.is_empty() && id.is_none() {
                    continue; // a keep-alive comment's end, or a stray blank line
                }
                return Some(Message { id, event, data: data.join("\n") });
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.to_string()),
                "event" => event = value.to_string(),
                "data" => data.push(value.to_string()),
                _ => {}
            }
        }
    }

    /// Reads until a message satisfies `want`, returning it and everything before it.
    pub fn until(
        &mut self,
        timeout: Duration,
        mut want: impl FnMut(&Message) -> bool,
    ) -> Vec<Message> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self.next(left).expect("the stream ended early");
            let done = want(&m);
            seen.push(m);
            if done {
                return seen;
            }
        }
    }
}

/// Undoes chunked transfer coding on the fly (or passes a plain body through).
struct Dechunk {
    inner: BufReader<TcpStream>,
    chunked: bool,
    left: usize,
    done: bool,
}

impl Read for Dechunk {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.chunked {
            return self.inner.read(buf);
        }
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            // The CRLF after the previous chunk, then the size line.
            while line.trim().is_empty() {
                line.clear();
                if self.inner.read_line(&mut line)? == 0 {
                    self.done = true;
                    return Ok(0);
                }
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let n = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..n])?;
        if n == 0 {
            self.done = true;
        }
        self.left -= n;
        Ok(n)
    }
}
