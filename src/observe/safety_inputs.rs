//! What the safety monitor reads each round, turned into concerns: the weather
//! device, the drivers' heartbeats, the system clock, the archive's disk.

use super::ObserveContext;
use crate::devices::Telescope;
use crate::safety::{ClockCheck, Concern, SafetyLevel, WeatherJudge};

/// One round's reading.
pub struct Reading {
    pub concerns: Vec<Concern>,
    /// The weather itself (not a driver, the clock or the disk) wants the site closed:
    /// only that delays reopening by `safety.reopen_after_safe_s`.
    pub weather_closes: bool,
    /// The weather device answered (a first "unknown" before any answer does not
    /// delay reopening).
    pub reported: bool,
}

pub struct Inputs {
    judge: WeatherJudge,
}

impl Inputs {
    pub fn new(ctx: &ObserveContext) -> Self {
        Inputs { judge: WeatherJudge::new(&ctx.safety) }
    }

    pub async fn read(&mut self, tel: &Telescope, ctx: &ObserveContext) -> Reading {
        let weather =
            tokio::time::timeout(super::safety::DEVICE_DEADLINE, tel.weather.state()).await;
        let reported = matches!(weather, Ok(Ok(_)));
        let mut concerns = match weather {
            Ok(Ok(w)) => self.judge.judge(&w),
            Ok(Err(e)) => {
                vec![Concern::new(SafetyLevel::Stop, format!("weather sensor unavailable: {e}"))]
            }
            Err(_) => vec![Concern::new(
                SafetyLevel::Stop,
                format!(
                    "weather sensor unavailable: no answer within {} s",
                    super::safety::DEVICE_DEADLINE.as_secs()
                ),
            )],
        };
        let weather_closes = concerns.iter().any(|c| c.level.must_secure());
        concerns.extend(hold(ctx));
        concerns.extend(drivers(tel));
        concerns.extend(clock(ctx));
        concerns.extend(disk(ctx));
        Reading { concerns, weather_closes, reported }
    }
}

/// The operator's stop holds every telescope of the site at `stop` until cleared.
fn hold(ctx: &ObserveContext) -> Option<Concern> {
    ctx.hold.borrow().as_ref().map(|h| {
        let why = h.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        Concern::new(SafetyLevel::Stop, format!("operator stop by {}{why}", h.by))
    })
}

/// A driver that stopped answering its heartbeat: the mount, dome and weather are
/// needed to stay safe (`stop`); without a camera, focuser or filter wheel the site is
/// safe but cannot work (`warn`).
fn drivers(tel: &Telescope) -> Vec<Concern> {
    let mut out = Vec::new();
    let mut needed = vec![&tel.mount.0.driver, &tel.weather.0.driver];
    needed.extend(tel.dome.as_ref().map(|d| &d.0.driver));
    for d in needed {
        if !d.is_up() {
            out.push(Concern::new(
                SafetyLevel::Stop,
                format!("driver `{}` not answering its heartbeat", d.name()),
            ));
        }
    }
    for name in tel.imaging_drivers_down() {
        // One driver may serve the mount and the camera: name it once, at its worst.
        if out.iter().all(|c| !c.reason.contains(&format!("`{name}`"))) {
            out.push(Concern::new(SafetyLevel::Warn, format!("driver `{name}` down")));
        }
    }
    out
}

/// Pointing and the Sun's place rest on the clock. Only the real clock is checked;
/// a simulated one is exact by definition.
fn clock(ctx: &ObserveContext) -> Option<Concern> {
    if !ctx.clock.is_system() || ctx.safety.clock_sync == ClockCheck::Ignore {
        return None;
    }
    crate::safety::clock_synchronised(ctx.safety.max_clock_error_ms)
        .err()
        .map(|why| Concern::new(SafetyLevel::Warn, why))
}

/// Frames that cannot be written are lost: no new block below the free-space floor.
fn disk(ctx: &ObserveContext) -> Option<Concern> {
    let root = ctx.archive.root();
    let floor = ctx.safety.disk_min_free_mb;
    match crate::safety::free_bytes(root) {
        // The reason names the floor, not the changing free space, so it stays one
        // verdict while the disk fills (the log and the metric give the numbers).
        Ok(free) if (free as f64) < floor * 1024.0 * 1024.0 => Some(Concern::new(
            SafetyLevel::Warn,
            format!(
                "disk almost full under {}: below safety.disk_min_free_mb = {floor}; free space or move the archive",
                root.display()
            ),
        )),
        Ok(_) => None,
        Err(e) => Some(Concern::new(
            SafetyLevel::Warn,
            format!("cannot read free space under {}: {e}", root.display()),
        )),
    }
}
