//! The hands of the campaign: real processes started, signalled and restarted; the
//! store locked through SQLite itself; unusable files dropped into the inbox.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hifitime::Epoch;
use thiserror::Error;

use super::http;
use super::plan::Rng;

#[derive(Debug, Error)]
pub enum InjectError {
    #[error("cannot start {what}: {source}")]
    Spawn { what: String, source: std::io::Error },
    #[error(
        "teld did not answer /healthz at {addr} within {secs} s after starting; see its log {log}"
    )]
    NotUp { addr: SocketAddr, secs: u64, log: PathBuf },
    #[error("teld exited at start ({status}); see its log {log}")]
    Exited { status: std::process::ExitStatus, log: PathBuf },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("locking the store {db}: {source}")]
    Store { db: PathBuf, source: sqlx::Error },
}

/// Sends `sig` to `pid`; false if the process is gone.
pub fn signal(pid: u32, sig: i32) -> bool {
    // SAFETY: kill(2) with a pid we were given; it touches no memory of ours.
    unsafe { libc::kill(pid as libc::pid_t, sig) == 0 }
}

/// A free loopback port (bound, read and released; the campaign owns the host).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub struct TeldProc {
    child: Child,
    pub pid: u32,
    pub started: Instant,
}

pub struct TeldSpec {
    pub exe: PathBuf,
    pub config: PathBuf,
    pub addr: SocketAddr,
    pub speed: f64,
    pub log: PathBuf,
}

impl TeldSpec {
    /// Starts `teld run` with its clock at `from` and waits until it answers /healthz.
    pub fn start(&self, from: Epoch) -> Result<TeldProc, InjectError> {
        let log = OpenOptions::new().create(true).append(true).open(&self.log).map_err(|e| {
            InjectError::Io { what: format!("opening {}", self.log.display()), source: e }
        })?;
        let from = teld_astro::time::format_utc(from, 3);
        let mut child = Command::new(&self.exe)
            .args(["run", "--config"])
            .arg(&self.config)
            .args(["--simulate-from", &from, "--speed", &self.speed.to_string()])
            .args(["--listen", &self.addr.to_string(), "--log-format", "human"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| InjectError::Spawn { what: self.exe.display().to_string(), source: e })?;
        let pid = child.id();
        let started = Instant::now();
        let limit = Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(InjectError::Exited { status, log: self.log.clone() });
            }
            if http::get(self.addr, "/healthz", Duration::from_millis(500))
                .is_ok_and(|r| r.status == 200)
            {
                return Ok(TeldProc { child, pid, started });
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return Err(InjectError::NotUp {
                    addr: self.addr,
                    secs: limit.as_secs(),
                    log: self.log.clone(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl TeldProc {
    /// `kill -9`: no chance to clean up.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and SIGKILL if it has not exited within `grace`. Returns whether it
    /// exited by itself with success.
    pub fn terminate(mut self, grace: Duration) -> bool {
        signal(self.pid, libc::SIGCONT);
        signal(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// The campaign's own mosquitto on a loopback port, so killing it never touches a
/// broker anyone else uses.
pub struct Broker {
    conf: PathBuf,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Broker {
    /// `None` when mosquitto is not installed.
    pub fn start(dir: &Path) -> Result<Option<Broker>, InjectError> {
        let installed = Command::new("mosquitto")
            .arg("-h")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !installed {
            return Ok(None);
        }
        let io = |what: &str| {
            let what = what.to_string();
            move |e| InjectError::Io { what, source: e }
        };
        let port = free_port().map_err(io("finding a free port for the broker"))?;
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .map_err(io("writing mosquitto.conf"))?;
        let mut b = Broker { conf, port, child: None, log: dir.join("mosquitto.log") };
        b.restart()?;
        Ok(Some(b))
    }

    pub fn restart(&mut self) -> Result<(), InjectError> {
        let log = OpenOptions::new().create(true).append(true).open(&self.log).map_err(|e| {
            InjectError::Io { what: format!("opening {}", self.log.display()), source: e }
        })?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| InjectError::Spawn { what: "mosquitto".into(), source: e })?;
        self.child = Some(child);
        // Until it listens, teld would only retry; wait so a restart is a restart.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline
            && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Holds `BEGIN EXCLUSIVE` on the store for `hold`, as another program (a backup, a
/// curious operator with the sqlite3 shell) might.
pub fn lock_store(db: &Path, hold: Duration) -> Result<(), InjectError> {
    use sqlx::Connection;
    let err = |e| InjectError::Store { db: db.to_path_buf(), source: e };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| InjectError::Io { what: "starting a runtime".into(), source: e })?;
    rt.block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .busy_timeout(Duration::from_secs(10));
        let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.map_err(err)?;
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await.map_err(err)?;
        tokio::time::sleep(hold).await;
        sqlx::query("ROLLBACK").execute(&mut conn).await.map_err(err)?;
        conn.close().await.map_err(err)
    })
}

/// Writes unusable `.fits` files into the inbox; returns their names. Each kind is
/// something capture software really leaves behind.
pub fn corrupt_inbox(inbox: &Path, tag: &str, rng: &mut Rng) -> Result<Vec<String>, InjectError> {
    std::fs::create_dir_all(inbox).map_err(|e| InjectError::Io {
        what: format!("creating {}", inbox.display()),
        source: e,
    })?;
    let mut names = Vec::new();
    let count = 1 + rng.below(3);
    for i in 0..count {
        let kind = rng.below(4);
        let bytes: Vec<u8> = match kind {
            // Random bytes.
            0 => (0..4096).map(|_| rng.next_u64() as u8).collect(),
            // A header promising 100×100 16-bit pixels, and no data (truncated copy).
            1 => fits_header(&[
                "SIMPLE  =                    T",
                "BITPIX  =                   16",
                "NAXIS   =                    2",
                "NAXIS1  =                  100",
                "NAXIS2  =                  100",
                "END",
            ]),
            // Half a header block without END (the writer died).
            2 => fits_header(&["SIMPLE  =                    T", "BITPIX  =                   16"])
                [..1440]
                .to_vec(),
            // Empty.
            _ => Vec::new(),
        };
        let name = format!("chaos-{tag}-{i}.fits");
        let path = inbox.join(&name);
        std::fs::write(&path, bytes).map_err(|e| InjectError::Io {
            what: format!("writing {}", path.display()),
            source: e,
        })?;
        names.push(name);
    }
    Ok(names)
}

/// FITS header cards padded to 80 columns and to a 2880-byte block.
fn fits_header(cards: &[&str]) -> Vec<u8> {
    let mut h: Vec<u8> = cards.iter().flat_map(|c| format!("{c:<80}").into_bytes()).collect();
    h.resize(h.len().div_ceil(2880).max(1) * 2880, b' ');
    h
}

/// The run's state folder on a tmpfs of its own, so "disk full" fills only it.
/// Unmounted when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB at `path`; `Err` says why not (needs root).
    pub fn mount(path: &Path, mib: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { path: path.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount").arg(&self.path).status().is_ok_and(|s| s.success());
        if !ok {
            // Something still has a file open: detach it now, freed when closed.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Writes `path` until the filesystem has no byte left; returns the bytes written.
pub fn fill_disk(path: &Path) -> Result<u64, InjectError> {
    use std::io::Write;
    let io = |e| InjectError::Io { what: format!("filling {}", path.display()), source: e };
    let mut f = std::fs::File::create(path).map_err(io)?;
    let chunk = vec![0u8; 1 << 20];
    let mut written = 0u64;
    let mut size = chunk.len();
    // Whole MiBs first, then smaller writes down to single bytes: really full.
    while size > 0 {
        match f.write(&chunk[..size]) {
            Ok(0) => size /= 2,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => size /= 2,
            Err(e) => return Err(io(e)),
        }
    }
    Ok(written)
}
