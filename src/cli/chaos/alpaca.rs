//! The campaign's own ASCOM Alpaca simulators (PyPI `alpaca-simulators`, installed
//! into `.venv-peers` by `.ci/install-peers`) on a free loopback port, with an offline
//! star catalogue: hung (SIGSTOP), killed and started again on the same port, and
//! told the scripted weather (the safety monitor's and observing conditions' own
//! settable values).

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use thiserror::Error;

use super::http;
use super::inject::{free_port, signal};

/// Writes the star catalogue the simulated camera draws from (shared with the tests).
const MKSTARS: &str = include_str!("../../../tests/peers/mkstars.py");
/// Fields (RA, Dec in degrees) the catalogue holds stars around: the tests' fields.
const FIELDS: [&str; 3] = ["150,20", "45,30", "60,25"];
/// A Python server takes a few seconds to import and listen.
const START_PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Error)]
pub enum AlpacaError {
    #[error(
        "the ASCOM Alpaca simulators are not installed (looked for {venv}/bin/alpaca-simulators): run .ci/install-peers, or set TELD_PEERS_VENV to a venv that has them"
    )]
    NotInstalled { venv: PathBuf },
    #[error("cannot start the Alpaca simulators: {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("writing the star catalogue failed (mkstars.py): {0}; see .ci/install-peers")]
    Catalogue(String),
    #[error(
        "the Alpaca simulators did not answer on {addr} within {secs} s of starting; see {log}"
    )]
    NotUp { addr: SocketAddr, secs: u64, log: PathBuf },
}

/// The peers venv: `TELD_PEERS_VENV`, else `.venv-peers` in the current folder, else in
/// the source tree this binary was built from.
pub fn peers_venv() -> PathBuf {
    if let Some(v) = std::env::var_os("TELD_PEERS_VENV") {
        return PathBuf::from(v);
    }
    let here = PathBuf::from(".venv-peers");
    if here.join("bin/alpaca-simulators").is_file() {
        return here.canonicalize().unwrap_or(here);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-peers")
}

pub struct AlpacaServer {
    exe: PathBuf,
    config: PathBuf,
    log: PathBuf,
    pub addr: SocketAddr,
    child: Option<Child>,
    /// SIGSTOPped: nothing can be told to it until SIGCONT.
    pub stopped: bool,
}

impl AlpacaServer {
    /// Starts the simulators from `venv` with their files in `dir`.
    pub fn start(venv: &Path, dir: &Path) -> Result<AlpacaServer, AlpacaError> {
        let exe = venv.join("bin/alpaca-simulators");
        let template = std::fs::read_dir(venv.join("lib"))
            .ok()
            .and_then(|lib| {
                lib.flatten()
                    .map(|e| e.path().join("site-packages/alpaca_simulators/config/template.yaml"))
                    .find(|p| p.is_file())
            })
            .filter(|_| exe.is_file())
            .ok_or_else(|| AlpacaError::NotInstalled { venv: venv.to_path_buf() })?;
        let io = |what: String| move |e| AlpacaError::Io { what, source: e };
        let script = dir.join("mkstars.py");
        std::fs::write(&script, MKSTARS).map_err(io(format!("writing {}", script.display())))?;
        let stars = dir.join("stars.db");
        let out = Command::new(venv.join("bin/python"))
            .arg(&script)
            .arg(&stars)
            .args(FIELDS)
            .output()
            .map_err(io("running mkstars.py".into()))?;
        if !out.status.success() {
            return Err(AlpacaError::Catalogue(String::from_utf8_lossy(&out.stderr).into()));
        }
        let yaml = std::fs::read_to_string(&template)
            .map_err(io(format!("reading {}", template.display())))?
            .replace("tap_source: null", &format!("tap_source: {}", stars.display()));
        let config = dir.join("alpaca.yaml");
        std::fs::write(&config, yaml).map_err(io(format!("writing {}", config.display())))?;
        let port = free_port().map_err(io("finding a free port".into()))?;
        let mut s = AlpacaServer {
            exe,
            config,
            log: dir.join("alpaca.log"),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            stopped: false,
        };
        s.restart()?;
        Ok(s)
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub fn restart(&mut self) -> Result<(), AlpacaError> {
        let io = |what: String| move |e| AlpacaError::Io { what, source: e };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io(format!("opening {}", self.log.display())))?;
        let child = Command::new(&self.exe)
            .args(["--host", "127.0.0.1", "--port", &self.addr.port().to_string(), "--config"])
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io("sharing the log".into()))?)
            .stderr(log)
            .spawn()
            .map_err(io(self.exe.display().to_string()))?;
        self.child = Some(child);
        self.stopped = false;
        let started = Instant::now();
        while http::get(self.addr, "/", Duration::from_secs(1)).map_or(true, |r| r.status != 200) {
            if started.elapsed() > START_PATIENCE {
                return Err(AlpacaError::NotUp {
                    addr: self.addr,
                    secs: START_PATIENCE.as_secs(),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`): a hung server accepts connections and
    /// answers nothing.
    pub fn hang(&mut self, on: bool) {
        if let Some(pid) = self.pid() {
            signal(pid, if on { libc::SIGSTOP } else { libc::SIGCONT });
            self.stopped = on;
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(c.id(), libc::SIGCONT);
            let _ = c.kill();
            let _ = c.wait();
        }
        self.stopped = false;
    }

    pub fn running(&self) -> bool {
        self.child.is_some() && !self.stopped
    }

    /// PUTs a device member (`safetymonitor/0/issafe`, `IsSafe=false`); whether the
    /// device took it.
    pub fn put(&self, member: &str, form: &str) -> bool {
        http::put_form(self.addr, &format!("/api/v1/{member}"), form, Duration::from_secs(2))
            .is_ok_and(|r| r.status == 200 && r.json()["ErrorNumber"] == 0)
    }

    /// Makes the weather devices report `reason` (`unsafe`, `rain`, `wind`; see
    /// `plan::REAL_REASONS`) or, with `None`, safe. Every value is set each time, so
    /// a spell's end undoes it whatever it was, and a fresh server is told it all.
    pub fn set_weather(&self, reason: Option<&str>) -> bool {
        let safe = reason.is_none_or(|r| r != "unsafe");
        let rain = if reason == Some("rain") { 5.0 } else { 0.0 };
        let wind = if reason == Some("wind") { 25.0 } else { 3.0 };
        self.put("safetymonitor/0/issafe", &format!("IsSafe={safe}"))
            && self.put("observingconditions/0/rainrate", &format!("RainRate={rain}"))
            && self.put("observingconditions/0/windspeed", &format!("WindSpeed={wind}"))
    }
}

impl Drop for AlpacaServer {
    fn drop(&mut self) {
        self.kill9();
    }
}
