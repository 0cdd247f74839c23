//! The real `teld-lx200-emulator` process on a real pty, controlled over its stdin.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct EmulatorProc {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<Value>,
    /// The symlink to the pty the driver opens, like /dev/ttyUSB0.
    pub link: PathBuf,
    _dir: tempfile::TempDir,
}

impl EmulatorProc {
    /// `dialect`: "generic" or "onstep"; a fast slew so tests do not wait long.
    pub fn start(dialect: &str, extra: &[&str]) -> EmulatorProc {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("ttyLX200");
        let mut args = vec!["--link", link.to_str().unwrap(), "--dialect", dialect];
        args.extend_from_slice(&["--baud", "9600", "--slew-rate", "30"]);
        args.extend_from_slice(extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_teld-lx200-emulator"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start teld-lx200-emulator");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).expect("emulator wrote a JSON line");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take().unwrap();
        let e = EmulatorProc { child, stdin, lines, link, _dir: dir };
        let ready = e.lines.recv_timeout(Duration::from_secs(10)).expect("emulator ready");
        assert_eq!(ready["ready"], true, "{ready}");
        assert!(e.link.exists(), "link {} made", e.link.display());
        e
    }

    /// One control word (`status`, `garbage`, `drop`, `freeze`, `unplug`...), its answer.
    pub fn cmd(&mut self, word: &str) -> Value {
        writeln!(self.stdin, "{word}").unwrap();
        self.stdin.flush().unwrap();
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{word}: no answer"))
    }

    pub fn status(&mut self) -> Value {
        self.cmd("status")
    }

    /// Reads the emulator's own status until `done` holds.
    pub fn wait(&mut self, what: &str, wait: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let s = self.status();
            if done(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "emulator: {what} not reached in {wait:?}; last {s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Driver settings for this emulator.
    pub fn settings(&self, timeout_s: f64) -> Value {
        json!({
            "port": self.link.display().to_string(),
            "baud": 9600,
            "timeout_s": timeout_s,
            "reconnect_max_s": 0.5
        })
    }
}

impl Drop for EmulatorProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
