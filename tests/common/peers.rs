//! Finding the third-party programs tests run against (see `.ci/install-peers`).
//!
//! A missing peer skips the test with a loud `SKIPPED` line saying what was not
//! exercised — so `cargo test` passes on a bare machine — unless
//! `TELD_REQUIRE_PEERS=1` (set by `.ci/run`) turns the absence into a failure.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn required() -> bool {
    std::env::var("TELD_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Returns `found`, or reports the peer as missing: panics when peers are required,
/// otherwise prints what is not exercised and returns `None` so the test can return.
pub fn require<T>(found: Option<T>, peer: &str, not_exercised: &str) -> Option<T> {
    if found.is_none() {
        let msg =
            format!("{peer} not available: {not_exercised} NOT exercised (run .ci/install-peers)");
        if required() {
            panic!("TELD_REQUIRE_PEERS=1 but {msg}");
        }
        // Straight to stderr, not `eprintln!`: the test harness captures the macros'
        // output of passing tests, and a skip must be seen.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
    }
    found
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Python of the peers venv, if it can import astropy.
pub fn python_with_astropy() -> Option<PathBuf> {
    let venv = std::env::var_os("TELD_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-peers"));
    let py = venv.join("bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import astropy.io.fits"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

pub fn fitsverify() -> Option<PathBuf> {
    let ok = Command::new("fitsverify").arg("-h").output().is_ok();
    ok.then(|| PathBuf::from("fitsverify"))
}

/// An MQTT broker on loopback: `TELD_TEST_MQTT` (host:port) or 127.0.0.1:1883.
pub fn mqtt_broker() -> Option<SocketAddr> {
    let addr: SocketAddr = std::env::var("TELD_TEST_MQTT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 1883)));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok().map(|_| addr)
}

fn peers_venv() -> PathBuf {
    std::env::var_os("TELD_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-peers"))
}

/// Python of the peers venv, if it has `prometheus_client` (the reference parser of
/// the Prometheus text format).
pub fn prometheus_parser() -> Option<PathBuf> {
    let py = peers_venv().join("bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import prometheus_client.parser"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// The `st` command of PyPI schemathesis in the peers venv.
pub fn schemathesis() -> Option<PathBuf> {
    let st = peers_venv().join("bin/st");
    let ok = Command::new(&st).arg("--version").output().is_ok_and(|o| o.status.success());
    ok.then_some(st)
}

/// Debian's `wrk`, for the benchmark script (never run by tests).
pub fn wrk() -> Option<PathBuf> {
    let ok = Command::new("wrk").arg("--version").output().is_ok();
    ok.then(|| PathBuf::from("wrk"))
}

/// The ASCOM Alpaca simulators of the peers venv (PyPI `alpaca-simulators`).
pub fn alpaca_simulators() -> Option<PathBuf> {
    let exe = peers_venv().join("bin/alpaca-simulators");
    exe.is_file().then_some(exe)
}
