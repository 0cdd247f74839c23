//! A minimal blocking HTTP/1.1 client for loopback: the campaign polls teld many times
//! a second from plain threads, and a hung (SIGSTOPped) teld must cost only a timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("{addr} did not answer: {source}")]
    Io { addr: SocketAddr, source: std::io::Error },
    #[error("{addr} sent an unreadable reply")]
    Malformed { addr: SocketAddr },
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    exchange(addr, (method, path), body.map(|b| ("application/json", b)), timeout)
}

/// A PUT with a form body, as ASCOM Alpaca devices take their settings.
pub fn put_form(
    addr: SocketAddr,
    path: &str,
    form: &str,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    exchange(addr, ("PUT", path), Some(("application/x-www-form-urlencoded", form)), timeout)
}

fn exchange(
    addr: SocketAddr,
    (method, path): (&str, &str),
    body: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    let io = |source| HttpError::Io { addr, source };
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    s.set_write_timeout(Some(timeout)).map_err(io)?;
    let (content_type, body) = body.unwrap_or(("application/json", ""));
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(io)?;
    s.write_all(body.as_bytes()).map_err(io)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(io)?;
    parse(&raw).ok_or(HttpError::Malformed { addr })
}

pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Reply, HttpError> {
    request(addr, "GET", path, None, timeout)
}

fn parse(raw: &[u8]) -> Option<Reply> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let rest = &raw[split + 4..];
    let body = if chunked { dechunk(rest)? } else { rest.to_vec() };
    Some(Reply { status, body })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_plain_and_chunked_replies() {
        let r = super::parse(b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"{}"[..]));
        let r = super::parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(r.json()["a"], 1);
    }
}
