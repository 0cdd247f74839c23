//! The real `teld-driver-mqtt` process, driven over its stdin/stdout the way teld
//! drives it; its log (stderr) is kept so tests can assert what it said.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    log: Arc<Mutex<Vec<String>>>,
    next_id: u64,
    /// Events seen while waiting for answers.
    pub events: Vec<Value>,
    /// Answers that arrived while waiting for another.
    answers: Vec<Value>,
}

impl Driver {
    pub fn start() -> Driver {
        let mut child = Command::new(env!("CARGO_BIN_EXE_teld-driver-mqtt"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start teld-driver-mqtt");
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
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stdin = child.stdin.take().unwrap();
        let d = Driver { child, stdin, lines, log, next_id: 1, events: vec![], answers: vec![] };
        let hello = d.lines.recv_timeout(Duration::from_secs(10)).expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["driver"], "mqtt");
        d
    }

    /// The driver's log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn log_count(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until the log has `n` lines containing `needle`.
    pub fn wait_log(&self, needle: &str, n: usize, wait: Duration) {
        let deadline = Instant::now() + wait;
        while self.log_count(needle) < n {
            assert!(
                Instant::now() < deadline,
                "driver log: fewer than {n} lines with {needle:?} in {wait:?}:\n{}",
                self.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
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
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no answer to {id} in {wait:?}; driver log:\n{}", self.log().join("\n"))
            });
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
    pub fn ok(&mut self, device: &str, method: &str) -> Value {
        let r = self.call(Some(device), method, None);
        assert!(r.get("error").is_none(), "{device} {method}: {r}");
        r["result"].clone()
    }

    /// A call that must fail: its error.
    pub fn refused(&mut self, device: &str, method: &str) -> Value {
        let r = self.call(Some(device), method, None);
        assert!(r.get("result").is_none(), "{device} {method} should fail: {r}");
        r["error"].clone()
    }

    /// `get_state`'s answer (result or error).
    pub fn state(&mut self, device: &str) -> Value {
        self.call(Some(device), "get_state", None)
    }

    /// Reads the device's answer to `get_state` until `done` holds.
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
                "{device}: {what} not reached in {wait:?}; last {s}\ndriver log:\n{}",
                self.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn configure(&mut self, settings: Value) -> Value {
        let params = json!({
            "settings": settings,
            "clock": {"utc": "2026-11-24T22:00:00.000000", "speed": 1.0},
            "site": {"latitude_deg": 28.7606, "longitude_deg": -17.8816, "height_m": 2396.0},
            "spool_dir": std::env::temp_dir().display().to_string(),
            "state_interval_ms": 500,
            "heartbeat_timeout_ms": 0
        });
        self.call(None, "configure", Some(params))
    }

    /// Asks it to stop and waits for the process to exit.
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
