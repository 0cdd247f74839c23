//! Running the real `teld` binary (and through it the real driver processes) in a
//! test: a private state folder and port, its log captured, waits driven by what the
//! daemon logs rather than by sleeps.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http;

pub fn teld_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_teld"))
}

/// The simulator driver must sit next to teld, where teld looks for it.
pub fn ensure_sim_driver() {
    let sim = teld_bin().with_file_name("teld-driver-sim");
    assert!(
        sim.is_file(),
        "{} is missing: run the tests from the workspace root with `cargo test` (it builds every driver)",
        sim.display()
    );
}

/// A config file for a test: the embedded default with these TOML snippets
/// appended into their sections by plain text (the default keeps sections short).
pub struct TestSite {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub topic_prefix: String,
}

impl TestSite {
    /// `extra` is appended verbatim after the default configuration: use it for
    /// `[drivers.settings.*]` tables. `replace` are (old, new) substitutions.
    pub fn new(name: &str, replace: &[(&str, &str)], extra: &str) -> TestSite {
        ensure_sim_driver();
        TestSite::from_config(name, include_str!("../../config/default.toml"), replace, extra)
    }

    /// Like [`TestSite::new`] on another base config (an example's): its state folder,
    /// HTTP port, topic prefix and telemetry interval are replaced line by line.
    pub fn from_config(name: &str, base: &str, replace: &[(&str, &str)], extra: &str) -> TestSite {
        let dir = tempfile::Builder::new().prefix(&format!("teld-{name}-")).tempdir().unwrap();
        let prefix = format!("teldtest-{name}-{}", std::process::id());
        let state = dir.path().join("state");
        let own: [(&str, String); 4] = [
            ("state_dir =", format!("state_dir = {:?}", state.display().to_string())),
            ("listen =", "listen = \"127.0.0.1:0\"".into()),
            // Its own MQTT client id too: tests running at once must not throw each
            // other off the broker.
            ("topic_prefix =", format!("topic_prefix = {prefix:?}\nclient_id = {prefix:?}")),
            ("interval_s =", "interval_s = 0.5".into()),
        ];
        let mut text: String = base
            .lines()
            .map(|line| {
                let key = own.iter().find(|(k, _)| line.trim_start().starts_with(k));
                key.map_or(line.to_string(), |(_, v)| v.clone())
            })
            .collect::<Vec<_>>()
            .join("\n");
        for (old, new) in replace {
            assert!(text.contains(old), "the base config no longer contains `{old}`");
            text = text.replacen(old, new, 1);
        }
        text.push('\n');
        text.push_str(extra);
        let config = dir.path().join("teld.toml");
        std::fs::write(&config, text).unwrap();
        TestSite { dir, config, topic_prefix: prefix }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn archive(&self) -> PathBuf {
        self.state_dir().join("archive")
    }
}

pub struct Teld {
    child: Child,
    pub addr: SocketAddr,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Teld {
    /// Starts `teld run` on `site` with a simulated clock.
    pub fn start(site: &TestSite, from: &str, speed: f64) -> Teld {
        Teld::start_with_env(site, from, speed, &[])
    }

    /// [`Teld::start`] with extra environment variables (e.g. a failpoint).
    pub fn start_with_env(site: &TestSite, from: &str, speed: f64, env: &[(&str, &str)]) -> Teld {
        let mut child = Command::new(teld_bin())
            .envs(env.iter().copied())
            .args(["run", "--config"])
            .arg(&site.config)
            .args(["--simulate-from", from, "--speed", &speed.to_string(), "--log-format", "human"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start teld");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut t = Teld { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), lines, log };
        let addr = t.wait_log("listening on", Duration::from_secs(30));
        t.addr =
            addr.rsplit("listening on ").next().unwrap().trim().parse().expect("address in log");
        t
    }

    /// Blocks until a log line contains `needle`; returns it.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    self.fail(&format!("no log line with `{needle}` within {timeout:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.fail(&format!("teld exited before logging `{needle}`"))
                }
            }
        }
    }

    /// Re-evaluates `check` every time teld logs something (state changes are
    /// logged) and at least every 200 ms, until it returns `Some` or `timeout` passes.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Teld) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self) {
                return v;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"));
            }
            let _ = self.lines.recv_timeout(Duration::from_millis(200));
        }
    }

    pub fn get(&self, path: &str) -> Value {
        let r = http::get(self.addr, path);
        assert_eq!(r.status, 200, "GET {path}: {}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    pub fn submit(&self, body: &str) -> i64 {
        let r = http::post_json(self.addr, "/api/v1/requests", body);
        assert_eq!(r.status, 201, "submit: {}", String::from_utf8_lossy(&r.body));
        r.json()["id"].as_i64().unwrap()
    }

    pub fn request_state(&self, id: i64) -> String {
        self.get(&format!("/api/v1/requests/{id}"))["state"].as_str().unwrap().to_string()
    }

    pub fn wait_state(&self, id: i64, state: &str, timeout: Duration) -> Value {
        self.wait_for(&format!("request {id} to be {state}"), timeout, |t| {
            let r = t.get(&format!("/api/v1/requests/{id}"));
            (r["state"] == state).then_some(r)
        })
    }

    pub fn driver_pid(&self, driver: &str) -> Option<u32> {
        let s = self.get("/api/v1/status");
        let d = &s["drivers"][driver];
        (d["status"] == "up").then(|| d["pid"].as_u64().unwrap() as u32)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(mut self) -> ExitStatus {
        signal(self.child.id(), "TERM");
        self.child.wait().unwrap()
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    fn fail(&self, msg: &str) -> ! {
        let log = self.log_text();
        let tail: Vec<&str> =
            log.lines().rev().take(80).collect::<Vec<_>>().into_iter().rev().collect();
        panic!("{msg}\n--- last teld log lines ---\n{}", tail.join("\n"));
    }
}

impl Drop for Teld {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid} failed");
}

pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// CPU seconds (user + system) a process has used, from /proc.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process stat");
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    ticks / hz
}

/// A request's history from `GET /api/v1/requests/{id}`: (state, detail) in order.
pub fn history(r: &Value) -> Vec<(String, String)> {
    r["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["state"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}
