//! The watcher: samples `GET /api/v1/status` while teld runs and checks every sample
//! against the scripted weather (the ground truth) and the sky. Unsafe states:
//! - the dome not closed while the scripted weather has been unsafe for longer than
//!   `safety.close_within_s` of teld's clock *with teld and its driver working* (the
//!   countdown starts again when teld or the driver comes back from a fault: nothing can
//!   close a dome through a frozen controller, and at 300× a 2 s freeze is 10 minutes);
//! - the mount pointing within `safety.sun_avoidance_deg` of the Sun while the Sun is up;
//! - the mount tracking below its altitude limit while not parked (away from its park
//!   position, where each unpark starts).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hifitime::Epoch;
use serde_json::Value;
use teld_astro::{Astrometry, Icrs, Site};

use super::http;
use super::plan::Spell;

#[derive(Debug, Clone, PartialEq)]
pub struct MountSample {
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub alt_deg: f64,
    pub az_deg: f64,
    pub at_park: bool,
    pub slewing: bool,
    pub tracking: bool,
}

/// One look at teld, from the devices' own reports as teld holds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// teld's clock.
    pub at: Epoch,
    /// The dome's shutter as reported (`open`, `closed`, `opening`, `closing`, `error`).
    pub shutter: Option<String>,
    pub mount: Option<MountSample>,
    pub safety: String,
    /// The running block's phase, if any (`slewing`, `exposing`, ...).
    pub phase: Option<String>,
    /// Every driver up.
    pub drivers_up: bool,
    /// The drivers not up, by name.
    pub down: Vec<String>,
}

impl Sample {
    /// Reads the one-telescope status answer; `None` if it is not one.
    pub fn from_status(v: &Value) -> Option<Sample> {
        let at = teld_astro::time::parse_utc(v["clock"]["utc"].as_str()?).ok()?;
        let (_, t) = v["telescopes"].as_object()?.iter().next()?;
        let mount = t["mount"].as_object().map(|m| MountSample {
            ra_deg: m["right_ascension"].as_f64().unwrap_or(0.0) * 15.0,
            dec_deg: m["declination"].as_f64().unwrap_or(0.0),
            alt_deg: m["altitude"].as_f64().unwrap_or(0.0),
            az_deg: m["azimuth"].as_f64().unwrap_or(0.0),
            at_park: m["at_park"].as_bool().unwrap_or(false),
            slewing: m["slewing"].as_bool().unwrap_or(false),
            tracking: m["tracking"].as_bool().unwrap_or(false),
        });
        let drivers = v["drivers"].as_object();
        let drivers_up = drivers.is_some_and(|d| d.values().all(|d| d["status"] == "up"));
        let down = drivers
            .into_iter()
            .flatten()
            .filter(|(_, d)| d["status"] != "up")
            .map(|(n, _)| n.clone())
            .collect();
        Some(Sample {
            at,
            shutter: t["dome"]["shutter_status"].as_str().map(str::to_string),
            mount,
            safety: t["safety"]["level"].as_str().unwrap_or("?").to_string(),
            phase: t["block"]["phase"].as_str().map(str::to_string),
            drivers_up,
            down,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UnsafeKind {
    DomeOpenInUnsafeWeather,
    PointingNearSun,
    BelowAltitudeLimit,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: UnsafeKind,
    pub at: Epoch,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub site: Site,
    pub close_within_s: f64,
    pub sun_avoidance_deg: f64,
    /// The mount's own lowest altitude (its hard limit).
    pub min_altitude_deg: f64,
    /// Where the mount parks (alt, az): below the limit by design, and where every
    /// unpark starts (unpark, tracking on, then the slew: ASCOM refuses a slew without
    /// tracking), so a mount just unparked there is not "beyond its limits".
    pub park_alt_az_deg: (f64, f64),
    /// The driver that serves the dome and the weather: only it being down is a gap in
    /// control of the dome. `None`: any driver (the simulator serves every device).
    pub dome_driver: Option<&'static str>,
}

/// Checks samples; counts each unsafe *episode* once (consecutive samples in the same
/// unsafe state are one episode).
#[derive(Debug)]
pub struct Checker {
    limits: Limits,
    weather: Vec<Spell>,
    /// teld's clock when teld and its drivers were last seen working again after a gap.
    resumed_at: Option<Epoch>,
    disturbed: bool,
    /// Set by the campaign while a device teld needs to close the dome is hung or
    /// dead (the Alpaca server), until teld has it back: a gap like a driver down.
    gap: bool,
    ongoing: BTreeMap<UnsafeKind, bool>,
    pub findings: Vec<Finding>,
    pub samples: u64,
    pub missed: u64,
    /// Per must-close spell (by its start), the block phase teld was in when it began:
    /// the last sample before it (the first inside is often already the abort).
    pub spell_phase: BTreeMap<String, String>,
    /// The previous sample's time and block phase.
    last_phase: Option<(Epoch, String)>,
}

impl Checker {
    pub fn new(limits: Limits) -> Checker {
        Checker {
            limits,
            weather: Vec::new(),
            resumed_at: None,
            disturbed: true,
            gap: false,
            ongoing: BTreeMap::new(),
            findings: Vec::new(),
            samples: 0,
            missed: 0,
            spell_phase: BTreeMap::new(),
            last_phase: None,
        }
    }

    /// The weather script of the night now running.
    pub fn set_weather(&mut self, weather: Vec<Spell>) {
        self.weather = weather;
    }

    /// A device fault that leaves teld unable to close the dome begins (`true`) or
    /// teld has recovered from it (`false`).
    pub fn set_gap(&mut self, on: bool) {
        self.gap = on;
        if on {
            self.disturbed = true;
        }
    }

    /// teld did not answer, or answered without its drivers: a gap in control.
    pub fn disturbed(&mut self) {
        self.missed += 1;
        self.disturbed = true;
    }

    pub fn observe(&mut self, s: &Sample) {
        self.samples += 1;
        let dome_blind = match self.limits.dome_driver {
            Some(d) => s.down.iter().any(|n| n == d),
            None => !s.drivers_up,
        };
        if dome_blind || self.gap {
            self.disturbed = true;
            return;
        }
        if self.disturbed {
            self.disturbed = false;
            self.resumed_at = Some(s.at);
        }
        let dome = self.dome_check(s);
        self.last_phase = Some((s.at, s.phase.clone().unwrap_or_else(|| "idle".into())));
        self.note(UnsafeKind::DomeOpenInUnsafeWeather, s.at, dome);
        let (sun, low) = self.mount_checks(s);
        self.note(UnsafeKind::PointingNearSun, s.at, sun);
        self.note(UnsafeKind::BelowAltitudeLimit, s.at, low);
    }

    fn note(&mut self, kind: UnsafeKind, at: Epoch, found: Option<String>) {
        let was = self.ongoing.insert(kind, found.is_some()).unwrap_or(false);
        if let (Some(detail), false) = (found, was) {
            self.findings.push(Finding { kind, at, detail });
        }
    }

    fn dome_check(&mut self, s: &Sample) -> Option<String> {
        let spell =
            self.weather.iter().find(|w| w.must_close() && w.from <= s.at && s.at < w.to)?;
        let key = teld_astro::time::format_utc(spell.from, 0);
        let phase = match &self.last_phase {
            Some((at, p)) if *at < spell.from => p.clone(),
            _ => s.phase.clone().unwrap_or_else(|| "idle".into()),
        };
        self.spell_phase.entry(key).or_insert(phase);
        let shutter = s.shutter.as_deref().unwrap_or("unknown");
        if shutter == "closed" {
            return None;
        }
        let since = self.resumed_at.map_or(spell.from, |r| r.max(spell.from));
        let waited = (s.at - since).to_seconds();
        (waited > self.limits.close_within_s).then(|| {
            format!(
                "dome {shutter} {waited:.0} s into `{}` weather (since {}; limit {} s)",
                spell.reason,
                teld_astro::time::format_utc(spell.from, 0),
                self.limits.close_within_s
            )
        })
    }

    fn mount_checks(&self, s: &Sample) -> (Option<String>, Option<String>) {
        let Some(m) = &s.mount else { return (None, None) };
        if m.at_park {
            return (None, None);
        }
        let (park_alt, park_az) = self.limits.park_alt_az_deg;
        let az_off =
            (m.az_deg - park_az).rem_euclid(360.0).min((park_az - m.az_deg).rem_euclid(360.0));
        let at_park_position = (m.alt_deg - park_alt).abs() < 1.0 && az_off < 1.0;
        let low = (m.tracking
            && !m.slewing
            && !at_park_position
            && m.alt_deg < self.limits.min_altitude_deg)
            .then(|| {
                format!(
                    "mount tracking at altitude {:.1}°, below its {}° limit",
                    m.alt_deg, self.limits.min_altitude_deg
                )
            });
        let sun = Astrometry::at(&self.limits.site, s.at).ok().and_then(|a| {
            let sun = a.sun();
            if sun.observed.alt_deg <= 0.0 {
                return None;
            }
            let sep = Icrs { ra_deg: m.ra_deg, dec_deg: m.dec_deg }
                .separation_deg(sun.apparent_icrs_axes);
            (sep < self.limits.sun_avoidance_deg).then(|| {
                format!(
                    "mount {sep:.1}° from the Sun (Sun at altitude {:.1}°; limit {}°)",
                    sun.observed.alt_deg, self.limits.sun_avoidance_deg
                )
            })
        });
        (sun, low)
    }

    pub fn unsafe_count(&self) -> usize {
        self.findings.len()
    }
}

/// RSS (KiB) and open descriptors of a process, from /proc; `None` once it is gone.
pub fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64;
    Some((rss, fds))
}

/// Which teld to watch: set by the orchestrator while a teld is up, `None` while it
/// is stopped on purpose (between nights, during a restart).
#[derive(Debug, Default, Clone, Copy)]
pub struct Target {
    pub addr: Option<SocketAddr>,
    pub pid: Option<u32>,
}

/// Per teld process: (real seconds since it started, RSS KiB, fds).
pub type Usage = BTreeMap<u32, Vec<(f64, u64, u64)>>;

pub struct Watcher {
    pub target: Arc<Mutex<Target>>,
    pub checker: Arc<Mutex<Checker>>,
    pub usage: Arc<Mutex<Usage>>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(limits: Limits, every: Duration) -> Watcher {
        let target = Arc::new(Mutex::new(Target::default()));
        let checker = Arc::new(Mutex::new(Checker::new(limits)));
        let usage = Arc::new(Mutex::new(Usage::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, c, u, s) = (target.clone(), checker.clone(), usage.clone(), stop.clone());
        let handle = std::thread::spawn(move || sample_loop(t, c, u, s, every));
        Watcher { target, checker, usage, stop, handle: Some(handle) }
    }

    pub fn set_target(&self, t: Target) {
        *self.target.lock().unwrap() = t;
    }

    pub fn stop(mut self) -> (Checker, Usage) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        let checker = std::mem::replace(
            &mut *self.checker.lock().unwrap(),
            Checker::new(Limits {
                site: Site { latitude_deg: 0.0, longitude_deg: 0.0, height_m: 0.0 },
                close_within_s: 0.0,
                sun_avoidance_deg: 0.0,
                min_altitude_deg: 0.0,
                park_alt_az_deg: (0.0, 0.0),
                dome_driver: None,
            }),
        );
        let usage = std::mem::take(&mut *self.usage.lock().unwrap());
        (checker, usage)
    }
}

fn sample_loop(
    target: Arc<Mutex<Target>>,
    checker: Arc<Mutex<Checker>>,
    usage: Arc<Mutex<Usage>>,
    stop: Arc<AtomicBool>,
    every: Duration,
) {
    let mut born: BTreeMap<u32, Instant> = BTreeMap::new();
    let mut last_usage = Instant::now() - Duration::from_secs(10);
    while !stop.load(Ordering::SeqCst) {
        let tick = Instant::now();
        let t = *target.lock().unwrap();
        if let (Some(addr), Some(pid)) = (t.addr, t.pid) {
            match http::get(addr, "/api/v1/status", Duration::from_millis(700)) {
                Ok(r) if r.status == 200 => match Sample::from_status(&r.json()) {
                    Some(s) => checker.lock().unwrap().observe(&s),
                    None => checker.lock().unwrap().disturbed(),
                },
                _ => checker.lock().unwrap().disturbed(),
            }
            if last_usage.elapsed() >= Duration::from_secs(1) {
                last_usage = Instant::now();
                let since = born.entry(pid).or_insert_with(Instant::now).elapsed().as_secs_f64();
                if let Some((rss, fds)) = proc_usage(pid) {
                    usage.lock().unwrap().entry(pid).or_default().push((since, rss, fds));
                }
            }
        }
        std::thread::sleep(every.saturating_sub(tick.elapsed()));
    }
}
