//! The real-time campaign's devices (`teld chaos --devices real`): the ASCOM Alpaca
//! simulators and the LX200 emulator, what each device fault does to them, and the
//! scripted weather told to the Alpaca safety monitor and observing conditions (the
//! watcher's ground truth, as the simulator's weather script is at 300×).

use std::path::Path;
use std::time::{Duration, Instant};

use hifitime::Epoch;
use serde_json::Value;
use teld_astro::Site;

use super::ChaosError;
use super::alpaca::{AlpacaServer, peers_venv};
use super::emulator::Emulator;
use super::plan::{Fault, FaultKind, Spell};

/// After a serial fault, the mount must have been read through teld this long after
/// the fault ended before "answering again" means anything: teld reads the mount's
/// state about every second, and a fault it has not looked through yet is not over.
const SERIAL_SETTLE: Duration = Duration::from_secs(3);

pub struct RealDevices {
    pub alpaca: AlpacaServer,
    pub emulator: Emulator,
    /// The weather last told to the Alpaca devices; `None` when unknown (a fresh
    /// server starts safe whatever the script says, so it is told again).
    applied: Option<Option<&'static str>>,
}

impl RealDevices {
    /// Starts the Alpaca simulators (files in `dir/alpaca`) and the emulator (its link
    /// `dir/ttyLX200`), the latter from next to `teld`.
    pub fn start(dir: &Path, teld: &Path, site: &Site) -> Result<RealDevices, ChaosError> {
        let files = dir.join("alpaca");
        std::fs::create_dir_all(&files).map_err(|e| ChaosError::Io {
            what: format!("creating {}", files.display()),
            source: e,
        })?;
        let alpaca = AlpacaServer::start(&peers_venv(), &files)?;
        let emulator = Emulator::start(
            teld,
            &dir.join("ttyLX200"),
            (site.latitude_deg, site.longitude_deg),
            &dir.join("emulator.log"),
        )?;
        Ok(RealDevices { alpaca, emulator, applied: None })
    }

    /// Tells the weather devices the script's weather at `now` when it changed, or
    /// when the server is new; nothing while the server is hung or down (it is told
    /// once it answers again).
    pub fn follow_weather(&mut self, spells: &[Spell], now: Epoch) {
        if !self.alpaca.running() {
            return;
        }
        let want = spells.iter().find(|s| s.from <= now && now < s.to).map(|s| s.reason);
        if self.applied != Some(want) {
            self.applied = self.alpaca.set_weather(want).then_some(want);
        }
    }

    /// Injects a device fault; `true` when it holds until [`RealDevices::end`].
    pub fn inject(&mut self, f: &Fault) -> Result<bool, ChaosError> {
        let n = f.answers;
        let word = match f.kind {
            FaultKind::AlpacaHang => {
                self.alpaca.hang(true);
                return Ok(true);
            }
            FaultKind::AlpacaErrors => {
                self.alpaca.kill9();
                self.applied = None;
                return Ok(true);
            }
            FaultKind::SerialGarbage => format!("garbage {n}"),
            FaultKind::SerialDropped => format!("drop {n}"),
            FaultKind::SerialPartial => format!("partial {n}"),
            FaultKind::PortLoss => "unplug".into(),
            FaultKind::MountFreeze => "freeze".into(),
            other => unreachable!("{other:?} is not a device fault"),
        };
        self.emulator.say(&word)?;
        Ok(matches!(f.kind, FaultKind::PortLoss | FaultKind::MountFreeze))
    }

    /// Ends a holding device fault.
    pub fn end(&mut self, kind: FaultKind) -> Result<(), ChaosError> {
        match kind {
            FaultKind::AlpacaHang => self.alpaca.hang(false),
            // The same port: teld's config does not change, the devices' state does.
            FaultKind::AlpacaErrors => self.alpaca.restart()?,
            FaultKind::PortLoss => {
                self.emulator.say("replug")?;
            }
            FaultKind::MountFreeze => {
                self.emulator.say("thaw")?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether teld is whole again after a device fault that ended at `ended`: the
    /// device's driver up and none of its devices faulted, as teld's status says; for
    /// the Alpaca faults also the weather told again to a fresh server; for the serial
    /// faults not before teld has read the mount a few times since.
    pub fn recovered(&self, kind: FaultKind, status: &Value, ended: Instant) -> bool {
        match kind {
            FaultKind::AlpacaHang | FaultKind::AlpacaErrors => {
                self.applied.is_some() && driver_whole(status, "alpaca")
            }
            _ => ended.elapsed() >= SERIAL_SETTLE && driver_whole(status, "lx200"),
        }
    }
}

/// The driver `name` up, with no device marked faulted (`drivers.<name>.faulted`).
pub fn driver_whole(status: &Value, name: &str) -> bool {
    let d = &status["drivers"][name];
    d["status"] == "up" && d["faulted"].as_object().is_none_or(|f| f.is_empty())
}
