//! The real `teld-driver-lx200` process, driven over its stdin/stdout the way teld
//! drives it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The daemon's clock at configure: the mount's date and time are set from it.
pub const CLOCK: &str = "2026-11-24T22:00:00.000000";

/// Alerts seen so far, as text.
pub fn alerts(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "alert")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    next_id: u64,
    /// Events seen while waiting for answers.
    pub events: Vec<Value>,
    /// Answers that arrived while waiting for another.
    answers: Vec<Value>,
}

impl Driver {
    pub fn start() -> Driver {
        let mut child = Command::new(env!("CARGO_BIN_EXE_teld-driver-lx200"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start teld-driver-lx200");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).expect("driver wrote a JSON line");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let mut d = Driver { child, stdin, lines, next_id: 1, events: vec![], answers: vec![] };
        let hello = d.next_line(Duration::from_secs(10)).expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["driver"], "lx200");
        d
    }

    fn next_line(&mut self, wait: Duration) -> Option<Value> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Sends a request, returns its id without waiting.
    pub fn send(&mut self, device: Option<&str>, method: &str, params: Option<Value>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut req = json!({"type": "request", "id": id, "method": method});
        if let Some(d) = device {
            req["device"] = json!(d);
        }
        if let Some(p) = params {
            req["params"] = p;
        }
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        id
    }

    /// Waits for the answer to `id` (events and other answers are kept).
    pub fn answer(&mut self, id: u64, wait: Duration) -> Value {
        if let Some(i) = self.answers.iter().position(|a| a["id"] == id) {
            return self.answers.remove(i);
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line =
                self.next_line(left).unwrap_or_else(|| panic!("no answer to {id} in {wait:?}"));
            match line["type"].as_str() {
                Some("response") if line["id"] == id => return line,
                Some("response") => self.answers.push(line),
                _ => self.events.push(line),
            }
        }
    }

    pub fn call(&mut self, device: Option<&str>, method: &str, params: Option<Value>) -> Value {
        let id = self.send(device, method, params);
        self.answer(id, Duration::from_secs(30))
    }

    /// A call that must succeed: its result.
    pub fn ok(&mut self, device: &str, method: &str, params: Option<Value>) -> Value {
        let r = self.call(Some(device), method, params);
        assert!(r.get("error").is_none(), "{device} {method}: {r}");
        r["result"].clone()
    }

    pub fn state(&mut self, device: &str) -> Value {
        self.ok(device, "get_state", None)
    }

    /// Reads the device's state until `done` holds (a real device: poll it).
    pub fn wait_state(
        &mut self,
        device: &str,
        what: &str,
        wait: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let s = self.state(device);
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{device}: {what} not reached in {wait:?}; last {s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn configure(&mut self, settings: Value, spool_dir: &std::path::Path) -> Value {
        self.configure_with(settings, spool_dir, 500)
    }

    /// `state_interval_ms`: long keeps the poller off the line except right after calls.
    pub fn configure_with(
        &mut self,
        settings: Value,
        spool_dir: &std::path::Path,
        state_interval_ms: u64,
    ) -> Value {
        let params = json!({
            "settings": settings,
            "clock": {"utc": CLOCK, "speed": 1.0},
            "site": {"latitude_deg": 28.7606, "longitude_deg": -17.8816, "height_m": 2396.0},
            "spool_dir": spool_dir.display().to_string(),
            "state_interval_ms": state_interval_ms,
            "heartbeat_timeout_ms": 0
        });
        self.call(None, "configure", Some(params))
    }

    /// Closes stdin and waits for the process to exit.
    pub fn finish(mut self) -> std::process::ExitStatus {
        let id = self.send(None, "shutdown", None);
        let r = self.answer(id, Duration::from_secs(30));
        assert!(r.get("error").is_none(), "{r}");
        self.child.wait().unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
