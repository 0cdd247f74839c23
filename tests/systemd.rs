//! Running under systemd: the unit file verifies, and teld speaks the notify
//! protocol (READY, STATUS, WATCHDOG, STOPPING) on a real notify socket.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::daemon::{TestSite, signal, teld_bin};
use common::peers;

#[test]
fn unit_file_passes_systemd_analyze_verify() {
    let have = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(_) = peers::require(have, "systemd-analyze", "verification of systemd/teld.service")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = include_str!("../systemd/teld.service")
        .replace("/usr/local/bin/teld", teld_bin().to_str().unwrap());
    let path = dir.path().join("teld.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Only judge what concerns our unit (the host's other units may have issues).
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("teld.service")).collect();
    assert!(out.status.success() && ours.is_empty(), "systemd-analyze verify:\n{text}");
}

#[test]
fn notifies_ready_status_watchdog_and_stopping() {
    let site = TestSite::new("notify", &[], "");
    let sock_path = site.dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut child = Command::new(teld_bin())
        .args(["run", "--config"])
        .arg(&site.config)
        .args(["--simulate-from", "2026-11-24T13:00:00"])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        // Not on a journal: teld must fall back to stderr, not fail.
        .env("JOURNAL_STREAM", "8:12345")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let mut recv = |seen: &mut Vec<String>, want: &str| loop {
        let n = sock
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no {want} notification ({e}); got {seen:?}"));
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        seen.push(msg.clone());
        if msg.contains(want) {
            return msg;
        }
    };
    recv(&mut seen, "READY=1");
    let status = recv(&mut seen, "STATUS=");
    assert!(status.contains("API on 127.0.0.1:"), "{status}");
    recv(&mut seen, "WATCHDOG=1");
    recv(&mut seen, "WATCHDOG=1");
    signal(child.id(), "TERM");
    recv(&mut seen, "STOPPING=1");
    assert!(child.wait().unwrap().success());
}
