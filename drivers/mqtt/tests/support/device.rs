//! The real `teld-mqtt-device` process: scenario lines to its stdin, its event
//! lines (`ACTION open #1 …`) collected from stdout.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The emulator binary: Cargo's path in this crate's tests; next to the test's own
/// `target/<profile>/` folder in the workspace's end-to-end tests.
fn bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_teld-mqtt-device") {
        Some(p) => PathBuf::from(p),
        None => {
            let exe = std::env::current_exe().unwrap();
            let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
            let bin = profile.join("teld-mqtt-device");
            assert!(bin.is_file(), "{} is missing: run `cargo build` first", bin.display());
            bin
        }
    }
}

pub struct Emulator {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Emulator {
    /// Starts it with `args` (e.g. `--roof obs/roof`) and waits until every emulated
    /// device has connected.
    pub fn start(broker: &str, args: &[&str]) -> Emulator {
        let mut child = Command::new(bin())
            .args(["--broker", broker])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start teld-mqtt-device");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stdin = child.stdin.take();
        let e = Emulator { child, stdin, lines };
        let devices = ["--roof", "--weather"].iter().filter(|f| args.contains(f)).count();
        e.wait_count("CONNECTED", devices, Duration::from_secs(10));
        e
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Lines starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.lines().iter().filter(|l| l.starts_with(prefix)).count()
    }

    pub fn wait_count(&self, prefix: &str, n: usize, wait: Duration) {
        let deadline = Instant::now() + wait;
        while self.count(prefix) < n {
            assert!(
                Instant::now() < deadline,
                "emulator: fewer than {n} lines `{prefix}…` in {wait:?}; it said {:?}",
                self.lines()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A scenario line; waits for its `OK`.
    pub fn say(&mut self, line: &str) {
        let before = self.count(&format!("OK {line}"));
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        self.wait_count(&format!("OK {line}"), before + 1, Duration::from_secs(5));
    }

    /// `kill -STOP` / `kill -CONT`: a frozen firmware, its connection still open.
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{sig} failed");
    }

    /// `kill -9`: the broker publishes its last will.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.kill();
    }
}
