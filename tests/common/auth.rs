//! Tokens in end-to-end tests: made with the real CLI, sent as bearer headers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::daemon::{TestSite, teld_bin};
use super::http::{self, Reply};

/// The [`TestSite`] replacement that turns authentication on.
pub const AUTH_ON: (&str, &str) = ("[http]", "[http]\nauth = true");

/// `teld token create` on the site's store; returns the secret it printed.
pub fn create_token(site: &TestSite, role: &str, name: &str) -> String {
    let out = Command::new(teld_bin())
        .args(["token", "create", "--config"])
        .arg(&site.config)
        .args(["--role", role, "--name", name])
        .output()
        .expect("run teld token create");
    assert!(out.status.success(), "token create: {}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("teld_"), "{token}");
    token
}

pub fn revoke_token(config: &Path, name: &str) {
    let out = Command::new(teld_bin())
        .args(["token", "revoke", "--config"])
        .arg(config)
        .args(["--name", name])
        .output()
        .expect("run teld token revoke");
    assert!(out.status.success(), "token revoke: {}", String::from_utf8_lossy(&out.stderr));
}

fn head(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> String {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        h.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if !body.is_empty() {
        h.push_str("Content-Type: application/json\r\n");
    }
    h.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    h
}

/// One request with `Authorization: Bearer <token>` (none if `None`), read to the end.
pub fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to teld");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head(addr, method, path, token, body.as_bytes()).as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read reply");
    http::parse(&raw)
}

/// Only the status line: for endpoints that stream without end (events).
pub fn status_only(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> u16 {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to teld");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head(addr, method, path, token, body.as_bytes()).as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    while !raw.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut buf).expect("read status line");
        assert!(n > 0, "connection closed before a status line");
        raw.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&raw);
    line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status code")
}
