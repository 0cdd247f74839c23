//! The loopback rule and TLS on the real binary: a non-loopback address without auth
//! is refused at start naming http.auth; with auth but without TLS it is refused
//! too; with TLS (an openssl-made certificate) teld serves HTTPS and plain HTTP to
//! that port fails; a client that never finishes its handshake holds up nobody;
//! `http.max_connections` bounds open connections.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use common::auth::create_token;
use common::daemon::{Teld, TestSite, teld_bin};
use common::peers::require;
use common::tls;

const LOCAL_ANY: &str = "listen = \"127.0.0.1:0\"";

fn start_fails(site: &TestSite) -> (i32, String) {
    let out = Command::new(teld_bin())
        .args(["run", "--config"])
        .arg(&site.config)
        .args(["--simulate-from", "2026-11-24T19:30:00"])
        .output()
        .expect("run teld");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_non_loopback_address_needs_auth_and_then_tls() {
    let site = TestSite::new("listen-open", &[(LOCAL_ANY, "listen = \"0.0.0.0:0\"")], "");
    let (code, err) = start_fails(&site);
    assert_eq!(code, 2, "refused as a configuration error: {err}");
    assert!(err.contains("http.auth is off") && err.contains("teld token create"), "{err}");
    // check-config says the same without starting anything.
    let out = Command::new(teld_bin()).arg("check-config").arg(&site.config).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.auth is off"));

    let site =
        TestSite::new("listen-clear", &[(LOCAL_ANY, "listen = \"0.0.0.0:0\"\nauth = true")], "");
    let (code, err) = start_fails(&site);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("http.tls_cert") && err.contains("in clear"), "{err}");
    assert!(!err.contains("http.auth is off"), "{err}");

    // The default stays valid, and check-config shows how the API is reached.
    let site = TestSite::new("listen-ok", &[], "");
    let out = Command::new(teld_bin()).arg("check-config").arg(&site.config).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("http: http://127.0.0.1:0 — auth off") && text.contains("TLS off"),
        "{text}"
    );
}

fn tls_site(name: &str, extra_http: &str) -> Option<(TestSite, std::path::PathBuf)> {
    let openssl = require(tls::openssl(), "openssl", "TLS with a real certificate")?;
    let certs = tempfile::tempdir().unwrap().keep();
    let (cert, key) = tls::self_signed(&openssl, &certs);
    let http = format!(
        "listen = \"0.0.0.0:0\"\nauth = true\ntls_cert = {:?}\ntls_key = {:?}\n{extra_http}",
        cert.display().to_string(),
        key.display().to_string()
    );
    Some((TestSite::new(name, &[(LOCAL_ANY, &http)], ""), cert))
}

/// teld listens on every address; tests reach it over loopback only.
fn loopback(teld: &Teld) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], teld.addr.port()))
}

#[test]
fn with_tls_teld_serves_https_and_refuses_plain_http() {
    let Some((site, ca)) = tls_site("listen-tls", "") else { return };
    let token = create_token(&site, "observer", "ann");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let addr = loopback(&teld);

    let r = tls::call(addr, &ca, "GET", "/api/v1/whoami", Some(&token)).expect("HTTPS request");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "ann");
    let r = tls::call(addr, &ca, "GET", "/api/v1/status", None).unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(tls::call(addr, &ca, "GET", "/healthz", None).unwrap().status, 200);

    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    assert!(!raw.starts_with(b"HTTP/"), "plain HTTP answered: {}", String::from_utf8_lossy(&raw));

    // A client that connects and never says hello does not stall the next one:
    // handshakes run beside the accept loop, not in it.
    let _silent = TcpStream::connect(addr).unwrap();
    let r = tls::call(addr, &ca, "GET", "/api/v1/whoami", Some(&token)).unwrap();
    assert_eq!(r.status, 200);
    assert!(teld.log_text().contains("bearer tokens required"), "access logged at start");
    // Graceful shutdown is not held up by the silent client's pending handshake.
    let status = teld.terminate();
    assert!(status.success(), "teld exited with {status}");
    drop(_silent);
}

#[test]
fn max_connections_bounds_open_connections() {
    let Some((site, ca)) = tls_site("listen-max", "max_connections = 2") else { return };
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let addr = loopback(&teld);
    // Two clients that hold their connection without a handshake fill both slots.
    let a = TcpStream::connect(addr).unwrap();
    let _b = TcpStream::connect(addr).unwrap();
    // A third connects (the kernel queues it) but is not served while they stay...
    let (tx, rx) = std::sync::mpsc::channel();
    let ca2 = ca.clone();
    std::thread::spawn(move || {
        let _ = tx.send(tls::call(addr, &ca2, "GET", "/healthz", None).map(|r| r.status).ok());
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(1500)).is_err(),
        "a third connection was served while two held both slots"
    );
    // ...and is served as soon as one of them leaves.
    drop(a);
    let status = rx.recv_timeout(Duration::from_secs(20)).expect("served after a slot freed");
    assert_eq!(status, Some(200));
}
