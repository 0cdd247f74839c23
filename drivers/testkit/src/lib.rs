//! A real driver process, driven over its stdin/stdout the way teld drives it: the
//! harness every driver crate's tests share (each wraps it with its own program,
//! settings and helpers in `tests/support/link.rs`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The daemon's clock at `configure` (mounts set their date and time from it).
pub const CLOCK: &str = "2026-11-24T22:00:00.000000";

/// How long a plain call may take before the test fails.
const CALL_WAIT: Duration = Duration::from_secs(30);

/// What happens to the driver's log (stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// Straight to the test's output.
    Inherit,
    /// Kept, so a test can assert what the driver said ([`Driver::wait_log`]); shown
    /// when a call times out or a state is not reached.
    Capture,
}

pub struct Driver {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    log: Option<Arc<Mutex<Vec<String>>>>,
    next_id: u64,
    /// Events seen while waiting for answers.
    pub events: Vec<Value>,
    /// Answers that arrived while waiting for another.
    answers: Vec<Value>,
}

impl Driver {
    /// Starts `program` with `RUST_LOG=rust_log` and waits for its `hello`, which
    /// must name `kind`.
    pub fn start(program: &str, kind: &str, rust_log: &str, stderr: Stderr) -> Driver {
        let mut child = Command::new(program)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(match stderr {
                Stderr::Inherit => Stdio::inherit(),
                Stderr::Capture => Stdio::piped(),
            })
            .spawn()
            .unwrap_or_else(|e| panic!("start {program}: {e}"));
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
        let log = child.stderr.take().map(|stderr| {
            let log = Arc::new(Mutex::new(Vec::new()));
            let sink = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
            log
        });
        let stdin = child.stdin.take().unwrap();
        let d = Driver { child, stdin, lines, log, next_id: 1, events: vec![], answers: vec![] };
        let hello = d.lines.recv_timeout(Duration::from_secs(10)).expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        assert_eq!(hello["driver"], kind, "{hello}");
        d
    }

    /// The driver's log so far (empty unless started with [`Stderr::Capture`]).
    pub fn log(&self) -> Vec<String> {
        self.log.as_ref().map(|l| l.lock().unwrap().clone()).unwrap_or_default()
    }

    pub fn log_count(&self, needle: &str) -> usize {
        self.log().iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until the log has `n` lines containing `needle`.
    pub fn wait_log(&self, needle: &str, n: usize, wait: Duration) {
        assert!(self.log.is_some(), "wait_log needs a driver started with Stderr::Capture");
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

    /// The captured log for a failure message ("" when it went to the test's output).
    fn log_for_failure(&self) -> String {
        match &self.log {
            Some(_) => format!("\ndriver log:\n{}", self.log().join("\n")),
            None => String::new(),
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
                panic!("no answer to {id} in {wait:?}{}", self.log_for_failure())
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
        self.answer(id, CALL_WAIT)
    }

    /// A call that must succeed: its result.
    pub fn ok(&mut self, device: &str, method: &str, params: Option<Value>) -> Value {
        let r = self.call(Some(device), method, params);
        assert!(r.get("error").is_none(), "{device} {method}: {r}");
        r["result"].clone()
    }

    /// A call that must fail: its error.
    pub fn refused(&mut self, device: &str, method: &str) -> Value {
        let r = self.call(Some(device), method, None);
        assert!(r.get("result").is_none(), "{device} {method} should fail: {r}");
        r["error"].clone()
    }

    /// `get_state`, which must succeed: the state.
    pub fn state(&mut self, device: &str) -> Value {
        self.ok(device, "get_state", None)
    }

    /// `get_state`'s whole answer (result or error).
    pub fn state_answer(&mut self, device: &str) -> Value {
        self.call(Some(device), "get_state", None)
    }

    /// Reads the device's state until `done` holds (a real device: poll it).
    pub fn wait_state(
        &mut self,
        device: &str,
        what: &str,
        wait: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.poll(device, what, wait, Self::state, done)
    }

    /// As [`Self::wait_state`], on `get_state`'s whole answer: waits for an error too.
    pub fn wait_state_answer(
        &mut self,
        device: &str,
        what: &str,
        wait: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.poll(device, what, wait, Self::state_answer, done)
    }

    fn poll(
        &mut self,
        device: &str,
        what: &str,
        wait: Duration,
        read: fn(&mut Self, &str) -> Value,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let s = read(self, device);
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{device}: {what} not reached in {wait:?}; last {s}{}",
                self.log_for_failure()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `configure` at La Palma on [`CLOCK`] at real speed, without heartbeats.
    /// `state_interval_ms`: a long one keeps the state poller off the device except
    /// right after calls.
    pub fn configure(
        &mut self,
        settings: Value,
        spool_dir: &Path,
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

    /// Asks it to stop and waits for the process to exit.
    pub fn finish(mut self) -> ExitStatus {
        let id = self.send(None, "shutdown", None);
        let r = self.answer(id, CALL_WAIT);
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

/// Declares a driver crate's own `Driver`: a newtype over [`Driver`] that derefs to it,
/// so the crate adds `start` and its own helpers, which take precedence over the
/// kit's methods of the same name.
#[macro_export]
macro_rules! newtype {
    ($name:ident) => {
        pub struct $name(pub $crate::Driver);

        impl $name {
            pub fn finish(self) -> ::std::process::ExitStatus {
                self.0.finish()
            }
        }

        impl ::std::ops::Deref for $name {
            type Target = $crate::Driver;
            fn deref(&self) -> &$crate::Driver {
                &self.0
            }
        }

        impl ::std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $crate::Driver {
                &mut self.0
            }
        }
    };
}
