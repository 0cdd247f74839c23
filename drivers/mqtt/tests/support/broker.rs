//! A private mosquitto per test on a free loopback port, killed with the test.
//!
//! A missing `mosquitto` skips the test with a loud `SKIPPED` line saying what was
//! not exercised, unless `TELD_REQUIRE_PEERS=1` (CI) makes it a failure — the same
//! rule as the daemon's tests (`tests/common/peers.rs`).

#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Broker {
    pub port: u16,
    conf: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

fn required() -> bool {
    std::env::var("TELD_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

fn have_mosquitto() -> bool {
    Command::new("mosquitto").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

impl Broker {
    /// Starts mosquitto, or returns None (after saying so) when it is not installed.
    pub fn start(not_exercised: &str) -> Option<Broker> {
        if !have_mosquitto() {
            let msg = format!(
                "mosquitto not available: {not_exercised} NOT exercised (run .ci/install-peers)"
            );
            if required() {
                panic!("TELD_REQUIRE_PEERS=1 but {msg}");
            }
            // Straight to stderr: the harness captures println! of passing tests.
            let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        // No persistence: a restart forgets sessions and retained messages, the
        // harder case for reconnecting clients. No Nagle, as the README advises
        // (otherwise each command waits ~40 ms for a delayed ACK).
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n"),
        )
        .unwrap();
        let mut b = Broker { port, conf, child: None, _dir: dir };
        b.run();
        Some(b)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut child = Command::new("mosquitto")
                .arg("-c")
                .arg(&self.conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start mosquitto");
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            let up = Instant::now() + Duration::from_secs(3);
            while Instant::now() < up {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    self.child = Some(child);
                    return;
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port not free yet (a restart): try again
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(Instant::now() < deadline, "mosquitto did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `kill -9`: no goodbye to anyone, no wills published.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (it remembers nothing).
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "kill it first");
        self.run();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
