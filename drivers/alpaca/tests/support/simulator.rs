//! The ASCOM Alpaca simulators (PyPI `alpaca-simulators`, installed into
//! `.venv-peers` by `.ci/install-peers`) run as a real server on a private loopback
//! port, with an offline star catalogue (`tests/peers/mkstars.py`), for one test.
//! Shared by the driver's tests and the daemon's end-to-end tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() {
        assert!(dir.pop(), "no workspace root above {}", env!("CARGO_MANIFEST_DIR"));
    }
    dir
}

pub fn venv() -> PathBuf {
    std::env::var_os("TELD_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-peers"))
}

fn template(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.flatten()
        .map(|e| e.path().join("site-packages/alpaca_simulators/config/template.yaml"))
        .find(|p| p.is_file())
}

/// Fields (RA, Dec in degrees) the catalogue has stars around.
pub const FIELDS: [(f64, f64); 3] = [(150.0, 20.0), (45.0, 30.0), (60.0, 25.0)];

pub struct AlpacaSim {
    child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    stopped: bool,
}

impl AlpacaSim {
    /// Starts the simulators, or `None` when they are not installed (the caller
    /// decides whether that is a skip or a failure).
    pub fn start() -> Option<AlpacaSim> {
        AlpacaSim::start_with(|yaml| yaml)
    }

    /// Starts them with their YAML config edited by `edit` (e.g. a larger sensor).
    pub fn start_with(edit: impl Fn(String) -> String) -> Option<AlpacaSim> {
        let venv = venv();
        let exe = venv.join("bin/alpaca-simulators");
        let template = template(&venv)?;
        if !exe.is_file() {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("teld-alpaca-sim-").tempdir().unwrap();
        let stars = dir.path().join("stars.db");
        let mut mk = Command::new(venv.join("bin/python"));
        mk.arg(workspace_root().join("tests/peers/mkstars.py")).arg(&stars);
        for (ra, dec) in FIELDS {
            mk.arg(format!("{ra},{dec}"));
        }
        let out = mk.output().expect("run mkstars.py");
        assert!(
            out.status.success(),
            "mkstars.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let yaml = std::fs::read_to_string(&template).unwrap();
        assert!(
            yaml.contains("tap_source: null"),
            "the simulators' template changed: {}",
            template.display()
        );
        let yaml =
            edit(yaml.replace("tap_source: null", &format!("tap_source: {}", stars.display())));
        let config = dir.path().join("alpaca.yaml");
        std::fs::write(&config, yaml).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("alpaca.log")).unwrap();
        let child = Command::new(&exe)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start alpaca-simulators");
        let sim = AlpacaSim { child, addr: format!("127.0.0.1:{port}"), dir, stopped: false };
        let deadline = Instant::now() + Duration::from_secs(60);
        while sim.request("GET", "/", "").0 != 200 {
            assert!(Instant::now() < deadline, "alpaca-simulators did not start: {}", sim.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(sim)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("alpaca.log")).unwrap_or_default()
    }

    /// Freezes the server (`SIGSTOP`): connections are accepted, nothing answers.
    pub fn freeze(&mut self) {
        signal(self.pid(), "STOP");
        self.stopped = true;
    }

    pub fn thaw(&mut self) {
        signal(self.pid(), "CONT");
        self.stopped = false;
    }

    /// One HTTP/1.0 exchange with the server: (status, body). Status 0 if it fails.
    pub fn request(&self, method: &str, path: &str, form: &str) -> (u16, String) {
        let Ok(mut s) = TcpStream::connect(&self.addr) else { return (0, String::new()) };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            self.addr,
            form.len()
        );
        if s.write_all(req.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    }

    /// PUT a device member, e.g. `put("safetymonitor/0/issafe", "IsSafe=false")`.
    pub fn put(&self, member: &str, form: &str) {
        let (status, body) = self.request("PUT", &format!("/api/v1/{member}"), form);
        assert!(
            status == 200 && body.contains("\"ErrorNumber\":0"),
            "PUT {member}: {status} {body}"
        );
    }

    pub fn get(&self, member: &str) -> serde_json::Value {
        let (status, body) = self.request("GET", &format!("/api/v1/{member}"), "");
        assert_eq!(status, 200, "GET {member}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["Value"].clone()
    }
}

impl Drop for AlpacaSim {
    fn drop(&mut self) {
        if self.stopped {
            signal(self.pid(), "CONT");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
    assert!(ok.is_ok_and(|s| s.success()), "kill -{sig} {pid}");
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
