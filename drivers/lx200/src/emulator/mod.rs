//! An LX200 mount emulator on a real pseudo-terminal, so the driver (and users
//! without hardware) can be tested end to end over a serial device node.
//!
//! [`Emulator::start`] opens a pty pair and makes `link` a symlink to its slave side
//! (`/dev/pts/N`), which a driver opens by path like `/dev/ttyUSB0`. Faults are
//! injected through the handle: garbage before an answer, a dropped or partial answer,
//! a frozen controller, and unplugging (pty closed, link removed) and plugging back
//! in (a new pty behind the same link). The `teld-lx200-emulator` binary puts the same
//! handle behind a few words on stdin.

pub mod commands;
pub mod line;
pub mod model;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_serial::SerialStream;

pub use commands::Firmware;
use line::{Faults, Shared};
use model::Model;

/// How fast the emulated mount slews. Real LX200s and OnStep mounts slew at 2–8°/s;
/// 4°/s makes a typical goto take the tens of seconds users see.
pub const DEFAULT_SLEW_RATE_DEG_S: f64 = 4.0;

#[derive(Debug, Clone)]
pub struct Config {
    /// Symlink to create to the pty's slave side.
    pub link: PathBuf,
    /// Emulated line speed; `None` for an instant line.
    pub baud: Option<u32>,
    pub firmware: Firmware,
    pub slew_rate_deg_s: f64,
    /// Power up in high precision (classic LX200s power up in low).
    pub high_precision: bool,
    /// The site the mount believes until told: latitude, longitude east-positive.
    pub latitude_deg: f64,
    pub longitude_deg: f64,
}

impl Config {
    pub fn new(link: impl Into<PathBuf>) -> Config {
        Config {
            link: link.into(),
            baud: Some(9600),
            firmware: Firmware::Meade,
            slew_rate_deg_s: DEFAULT_SLEW_RATE_DEG_S,
            high_precision: false,
            latitude_deg: 0.0,
            longitude_deg: 0.0,
        }
    }
}

struct Plugged {
    task: JoinHandle<()>,
    pty: String,
}

pub struct Emulator {
    cfg: Config,
    shared: Arc<Shared>,
    link: PathBuf,
    plugged: Mutex<Option<Plugged>>,
}

fn power_on(cfg: &Config) -> Model {
    let mut model = Model::new(cfg.latitude_deg, -cfg.longitude_deg, cfg.slew_rate_deg_s);
    model.high_precision = cfg.high_precision;
    model
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Points `link` at `target`, replacing an old link atomically.
fn relink(target: &str, link: &Path) -> std::io::Result<()> {
    let tmp = link.with_extension("lx200-new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

impl Emulator {
    /// Starts the emulated mount, plugged in. Needs a tokio runtime.
    pub fn start(cfg: Config) -> std::io::Result<Emulator> {
        let model = power_on(&cfg);
        let byte_time =
            cfg.baud.map_or(Duration::ZERO, |b| Duration::from_secs_f64(10.0 / f64::from(b)));
        let shared = Arc::new(Shared {
            model: Mutex::new(model),
            faults: Mutex::new(Faults::default()),
            firmware: cfg.firmware,
            byte_time,
        });
        let em = Emulator { link: cfg.link.clone(), cfg, shared, plugged: Mutex::new(None) };
        em.plug()?;
        Ok(em)
    }

    pub fn link(&self) -> &Path {
        &self.link
    }

    /// The slave pty behind the link, while plugged in.
    pub fn pty(&self) -> Option<String> {
        lock(&self.plugged).as_ref().map(|p| p.pty.clone())
    }

    /// Plugs in (again): a new pty, the link pointed at it.
    pub fn plug(&self) -> std::io::Result<String> {
        let mut plugged = lock(&self.plugged);
        if let Some(p) = plugged.as_ref() {
            return Ok(p.pty.clone());
        }
        let (master, slave) = SerialStream::pair().map_err(std::io::Error::other)?;
        let pty = tokio_serial::SerialPort::name(&slave)
            .ok_or_else(|| std::io::Error::other("the pty has no name"))?;
        relink(&pty, &self.link)?;
        let task = tokio::spawn(line::serve(master, slave, self.shared.clone()));
        *plugged = Some(Plugged { task, pty: pty.clone() });
        Ok(pty)
    }

    /// Unplugs: the pty closes (the driver's reads fail) and the link disappears
    /// (reopening fails with ENOENT), as when a USB adapter is pulled.
    pub async fn unplug(&self) {
        let p = lock(&self.plugged).take();
        if let Some(p) = p {
            p.task.abort();
            let _ = p.task.await; // the pty's fds are closed once the task is gone
        }
        let _ = std::fs::remove_file(&self.link);
    }

    /// Power off and on: the mount forgets precision, site, time and position, as a
    /// real one does (so the driver must initialise it again).
    pub fn power_cycle(&self) {
        *lock(&self.shared.model) = power_on(&self.cfg);
    }

    pub fn freeze(&self, frozen: bool) {
        lock(&self.shared.faults).frozen = frozen;
    }

    pub fn garbage_next(&self, n: u32) {
        lock(&self.shared.faults).garbage_next += n;
    }

    pub fn drop_next(&self, n: u32) {
        lock(&self.shared.faults).drop_next += n;
    }

    /// The next `n` gotos stop 0.5° short of the target and report themselves done.
    pub fn stop_short_next(&self, n: u32) {
        lock(&self.shared.model).stop_short += n;
    }

    pub fn partial_next(&self, n: u32) {
        lock(&self.shared.faults).partial_next += n;
    }

    /// Everything the mount knows about itself, as JSON (for tests and operators).
    pub fn status(&self) -> Value {
        let mut m = lock(&self.shared.model);
        m.step();
        let f = lock(&self.shared.faults).clone();
        let (ra, dec) = m.ra_dec();
        let (alt, az) = m.alt_az();
        let local = m.clock.local();
        json!({
            "plugged": self.pty().is_some(),
            "pty": self.pty(),
            "firmware": self.shared.firmware.name(),
            "high_precision": m.high_precision,
            "right_ascension": ra,
            "declination": dec,
            "altitude": alt,
            "azimuth": az,
            "tracking": m.tracking,
            "slewing": m.slewing(),
            "parked": m.parked,
            "latitude_deg": m.latitude_deg,
            "longitude_west_deg": m.longitude_west_deg,
            "utc": teld_astro::time::format_utc(m.clock.utc(), 3),
            "local": teld_astro::time::format_utc(local, 0),
            "utc_offset_h": m.clock.utc_offset_h,
            "frozen": f.frozen,
            "acks": f.acks,
            "commands": f.commands,
        })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(p) = lock(&self.plugged).take() {
            p.task.abort();
        }
        let _ = std::fs::remove_file(&self.link);
    }
}
