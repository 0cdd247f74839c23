//! The seeded campaign: per night its weather script, its workload (follow-up requests)
//! and its faults. Everything here is a pure function of the seed and the options, so
//! the same seed gives the same schedule (what happens at run time may still differ:
//! real processes take real time).

use hifitime::{Duration, Epoch};
use serde_json::{Value, json};
use teld_astro::{Astrometry, Horizontal, Site};

/// The scheduler's seeded SplitMix64 stream (`teld_schedule::rng`), with the
/// campaign's own helpers on top.
#[derive(Debug, Clone)]
pub struct Rng(teld_schedule::rng::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // The campaign's seeds predate sharing the generator: this keeps each seed's
        // stream (and the recorded week's schedule) what it was.
        Rng(teld_schedule::rng::Rng::new(seed ^ 0x5DEE_CE66_D1CE_4E5B ^ 0x9E37_79B9_7F4A_7C15))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Exponential waiting time with this mean: Poisson arrivals.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// What the campaign does to the running system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// SIGKILL teld; restarted at the simulated time it should be now.
    KillTeld,
    /// SIGSTOP teld for a few seconds, then SIGCONT.
    StopTeld,
    /// SIGKILL the simulator driver (teld must restart it).
    KillDriver,
    /// SIGSTOP the simulator driver for a few seconds (a hung device link).
    StopDriver,
    /// SIGKILL the MQTT broker; restarted a moment later.
    KillBroker,
    /// Hold `BEGIN EXCLUSIVE` on the store for a few seconds.
    LockStore,
    /// Drop unusable .fits files into the inbox.
    CorruptInbox,
    /// Fill the state folder's (tmpfs) filesystem to the last byte for a few seconds.
    DiskFull,
    /// Restart teld with its clock after sunrise: the Sun rises early.
    ClockJump,
    /// SIGSTOP the Alpaca simulators' server, then SIGCONT: every device call hangs.
    AlpacaHang,
    /// SIGKILL the Alpaca simulators' server and start it again on the same port:
    /// connections refused meanwhile, fresh device state after.
    AlpacaErrors,
    /// Noise before the LX200 emulator's next answers.
    SerialGarbage,
    /// The LX200 emulator's next answers never sent.
    SerialDropped,
    /// The LX200 emulator's next answers cut short.
    SerialPartial,
    /// The LX200 emulator's pty closed and its link removed, then a new pty behind the
    /// same link (a USB adapter pulled and plugged back).
    PortLoss,
    /// The LX200 emulator answers nothing until thawed (a hung controller).
    MountFreeze,
}

/// Which devices a campaign runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Devices {
    /// `teld-driver-sim`, on teld's simulated clock at any speed.
    Sim,
    /// The ASCOM Alpaca simulators and the LX200 emulator on a pty: the real clock.
    Real,
}

impl FaultKind {
    /// Every kind a run may schedule, in table order.
    pub const ALL: [FaultKind; 16] = [
        FaultKind::KillTeld,
        FaultKind::StopTeld,
        FaultKind::KillDriver,
        FaultKind::StopDriver,
        FaultKind::KillBroker,
        FaultKind::LockStore,
        FaultKind::CorruptInbox,
        FaultKind::DiskFull,
        FaultKind::ClockJump,
        FaultKind::AlpacaHang,
        FaultKind::AlpacaErrors,
        FaultKind::SerialGarbage,
        FaultKind::SerialDropped,
        FaultKind::SerialPartial,
        FaultKind::PortLoss,
        FaultKind::MountFreeze,
    ];

    /// Whether a campaign against `devices` can inject this kind. The device kinds
    /// need the real devices; the clock jump needs teld's clock to run apart from the
    /// devices' (the Alpaca simulators and the emulated mount keep the real time).
    pub fn applies_to(self, devices: Devices) -> bool {
        match self {
            FaultKind::ClockJump => devices == Devices::Sim,
            k if k.is_device() => devices == Devices::Real,
            _ => true,
        }
    }

    /// The kinds that act on the Alpaca server or the LX200 emulator.
    pub fn is_device(self) -> bool {
        matches!(
            self,
            FaultKind::AlpacaHang
                | FaultKind::AlpacaErrors
                | FaultKind::SerialGarbage
                | FaultKind::SerialDropped
                | FaultKind::SerialPartial
                | FaultKind::PortLoss
                | FaultKind::MountFreeze
        )
    }

    /// The name `--kinds` takes.
    pub fn slug(self) -> &'static str {
        match self {
            FaultKind::KillTeld => "kill-teld",
            FaultKind::StopTeld => "stop-teld",
            FaultKind::KillDriver => "kill-driver",
            FaultKind::StopDriver => "stop-driver",
            FaultKind::KillBroker => "kill-broker",
            FaultKind::LockStore => "lock-store",
            FaultKind::CorruptInbox => "corrupt-inbox",
            FaultKind::DiskFull => "disk-full",
            FaultKind::ClockJump => "clock-jump",
            FaultKind::AlpacaHang => "alpaca-hang",
            FaultKind::AlpacaErrors => "alpaca-errors",
            FaultKind::SerialGarbage => "serial-garbage",
            FaultKind::SerialDropped => "serial-dropped",
            FaultKind::SerialPartial => "serial-partial",
            FaultKind::PortLoss => "port-loss",
            FaultKind::MountFreeze => "mount-freeze",
        }
    }

    pub fn from_slug(s: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.slug() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::KillTeld => "SIGKILL teld",
            FaultKind::StopTeld => "SIGSTOP teld",
            FaultKind::KillDriver => "SIGKILL driver",
            FaultKind::StopDriver => "SIGSTOP driver",
            FaultKind::KillBroker => "SIGKILL broker",
            FaultKind::LockStore => "store locked",
            FaultKind::CorruptInbox => "corrupted inbox files",
            FaultKind::DiskFull => "disk full",
            FaultKind::ClockJump => "clock jump (Sun rises early)",
            FaultKind::AlpacaHang => "Alpaca hang",
            FaultKind::AlpacaErrors => "Alpaca errors (server killed, restarted)",
            FaultKind::SerialGarbage => "serial garbage",
            FaultKind::SerialDropped => "serial answers dropped",
            FaultKind::SerialPartial => "serial answers cut short",
            FaultKind::PortLoss => "serial port loss",
            FaultKind::MountFreeze => "mount freeze",
        }
    }
}

/// Weather reasons the simulator scripts (drivers/sim/README.md). All but `gusts`
/// make the weather device report unsafe, so the dome must close.
pub const REASONS: [&str; 6] = ["rain", "clouds", "wind", "humidity", "gusts", "other"];

/// What the campaign makes the Alpaca weather devices report (docs/CHAOS.md): the
/// safety monitor's `IsSafe` false, or rain or wind over the limit on the observing
/// conditions. All oblige teld to close.
pub const REAL_REASONS: [&str; 3] = ["unsafe", "rain", "wind"];

#[derive(Debug, Clone, PartialEq)]
pub struct Spell {
    pub from: Epoch,
    pub to: Epoch,
    pub reason: &'static str,
}

impl Spell {
    /// Whether this spell obliges teld to close (gusts only warn).
    pub fn must_close(&self) -> bool {
        self.reason != "gusts"
    }
}

#[derive(Debug, Clone)]
pub struct Fault {
    /// Simulated seconds after the night's start.
    pub at_s: f64,
    pub kind: FaultKind,
    /// Real seconds the fault lasts (stop, lock, broker down); 0 when instantaneous.
    pub hold_s: f64,
    /// How many answers a serial fault spoils (garbage, dropped, partial); else 0.
    pub answers: u32,
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub at_s: f64,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct NightPlan {
    pub index: usize,
    pub start: Epoch,
    pub end: Epoch,
    pub weather: Vec<Spell>,
    pub faults: Vec<Fault>,
    pub submissions: Vec<Submission>,
}

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub nights: usize,
    pub seed: u64,
    /// Simulated hours of each night.
    pub hours: f64,
    /// The first night's start (dusk).
    pub first_dusk: Epoch,
    /// Faults per simulated hour (besides the clock jump).
    pub faults_per_hour: f64,
    /// Mean requests per simulated hour.
    pub requests_per_hour: f64,
    /// Whether a broker runs (else no broker faults are scheduled).
    pub broker: bool,
    /// Whether the state folder is a filesystem of its own that may be filled.
    pub disk: bool,
    pub devices: Devices,
    /// Only these kinds (`--kinds`); empty: every kind that applies.
    pub only: Vec<FaultKind>,
}

pub fn plan(opts: &PlanOptions, site: &Site) -> Vec<NightPlan> {
    let mut rng = Rng::new(opts.seed);
    let night_s = opts.hours * 3600.0;
    // The clock jump ends a night: it is placed apart, not dealt.
    let kinds: Vec<FaultKind> = FaultKind::ALL
        .into_iter()
        .filter(|k| k.applies_to(opts.devices) && (opts.only.is_empty() || opts.only.contains(k)))
        .filter(|k| match k {
            FaultKind::ClockJump => false,
            FaultKind::KillBroker => opts.broker,
            FaultKind::DiskFull => opts.disk,
            _ => true,
        })
        .collect();
    // Kinds are dealt round-robin from a seeded shuffle so a short run still sees
    // every kind; the times are Poisson.
    let mut deck: Vec<FaultKind> = Vec::new();
    let mut deals = 0u64;
    let mut next_kind = || {
        if deck.is_empty() {
            deck = kinds.clone();
            deals += 1;
            for i in (1..deck.len()).rev() {
                let j = rng_shuffle_index(opts.seed.wrapping_add(deals << 32), deck.len(), i);
                deck.swap(i, j);
            }
        }
        deck.pop().unwrap()
    };
    let mut nights = Vec::new();
    for k in 0..opts.nights {
        let start = opts.first_dusk + Duration::from_days(k as f64);
        let end = start + Duration::from_seconds(night_s);
        // Weather: one spell per ~3 hours, at least one a night, each 10–40 min; on
        // the real clock one per ~6 minutes, each 1.5–3 min (over the real site's
        // close_within_s, so a dome left open is seen).
        let (spells, len_s, reasons) = match opts.devices {
            Devices::Sim => {
                (1 + rng.below((opts.hours / 3.0).ceil() as usize), (600.0, 2400.0), &REASONS[..])
            }
            Devices::Real => {
                ((opts.hours * 10.0).ceil().max(1.0) as usize, (90.0, 180.0), &REAL_REASONS[..])
            }
        };
        let mut weather = Vec::new();
        for i in 0..spells {
            // Spread the spells over the night so they do not overlap.
            let slot = night_s / spells as f64;
            let len = rng.range(len_s.0, len_s.1).min(slot * 0.6);
            let from = slot * i as f64 + rng.range(0.1, 0.9) * (slot - len);
            let reason = reasons[rng.below(reasons.len())];
            weather.push(Spell {
                from: start + Duration::from_seconds(from.round()),
                to: start + Duration::from_seconds((from + len).round()),
                reason,
            });
        }
        // Faults: one per slot of the night, at a random time inside it (stratified,
        // so a short night still gets its share), up to 88 % of the night; then, in the
        // first night and every other night on average, the clock jump at 90 %: it ends
        // the night, so nothing follows it.
        let count = (opts.faults_per_hour * opts.hours).round().max(1.0) as usize;
        let slot = 0.85 * night_s / count as f64;
        let mut faults = Vec::new();
        for i in 0..count {
            let at_s = 0.03 * night_s + slot * (i as f64 + rng.range(0.1, 0.9));
            if kinds.is_empty() {
                break;
            }
            let kind = next_kind();
            let real = opts.devices == Devices::Real;
            let hold_s = match kind {
                // At 1× a freeze may be longer: it is seconds of teld's clock, not minutes.
                FaultKind::StopTeld if real => rng.range(2.0, 6.0),
                FaultKind::StopDriver if real => rng.range(2.0, 6.0),
                FaultKind::StopTeld => rng.range(1.0, 3.0),
                FaultKind::StopDriver => rng.range(1.0, 4.0),
                FaultKind::AlpacaHang => rng.range(2.0, 20.0),
                FaultKind::AlpacaErrors => rng.range(1.0, 5.0),
                FaultKind::PortLoss | FaultKind::MountFreeze => rng.range(2.0, 10.0),
                FaultKind::KillBroker => rng.range(0.5, 2.0),
                FaultKind::LockStore => rng.range(1.0, 4.0),
                FaultKind::DiskFull => rng.range(1.0, 3.0),
                _ => 0.0,
            };
            let answers = match kind {
                FaultKind::SerialGarbage | FaultKind::SerialDropped | FaultKind::SerialPartial => {
                    1 + rng.below(3) as u32
                }
                _ => 0,
            };
            faults.push(Fault {
                at_s: at_s.round(),
                kind,
                hold_s: (hold_s * 10.0).round() / 10.0,
                answers,
            });
        }
        let jump = FaultKind::ClockJump;
        let jump_allowed =
            jump.applies_to(opts.devices) && (opts.only.is_empty() || opts.only.contains(&jump));
        if jump_allowed && (k == 0 || rng.unit() < 0.5) {
            faults.push(Fault {
                at_s: (0.9 * night_s).round(),
                kind: FaultKind::ClockJump,
                hold_s: 0.0,
                answers: 0,
            });
        }
        // Workload: Poisson requests; ~1 in 5 rapid-response.
        let mut submissions = Vec::new();
        // The first one early: on the real clock a night may be minutes long.
        let first_by = if opts.devices == Devices::Real { 20.0 } else { 300.0 };
        let mut t = rng.exp(3600.0 / opts.requests_per_hour).min(first_by);
        let mut i = 0;
        while t < 0.9 * night_s {
            let at = start + Duration::from_seconds(t);
            let body = request(&mut rng, site, at, (k, i), opts.devices);
            submissions.push(Submission { at_s: t.round(), body });
            i += 1;
            t += rng.exp(3600.0 / opts.requests_per_hour);
        }
        nights.push(NightPlan { index: k, start, end, weather, faults, submissions });
    }
    nights
}

/// A stable shuffle index: the deck order depends only on the seed and the position.
fn rng_shuffle_index(seed: u64, len: usize, i: usize) -> usize {
    let mut r = Rng::new(seed.wrapping_mul(31).wrapping_add(i as u64 * 7919 + len as u64));
    r.below(i + 1)
}

/// A follow-up request of a target high in the sky at `at`: built from an altitude and
/// azimuth so it is observable whatever the date.
/// On the real clock, exposures are seconds, not a minute: a short campaign still sees
/// requests complete.
fn request(
    rng: &mut Rng,
    site: &Site,
    at: Epoch,
    (night, i): (usize, usize),
    devices: Devices,
) -> Value {
    let alt = rng.range(45.0, 80.0);
    let az = rng.range(0.0, 360.0);
    let (ra, dec) = match Astrometry::at(site, at) {
        Ok(a) => {
            let icrs = a.icrs_from_observed(Horizontal { alt_deg: alt, az_deg: az });
            (icrs.ra_deg, icrs.dec_deg)
        }
        // Unreachable for valid dates; a fixed target keeps the workload going.
        Err(_) => (45.0, 30.0),
    };
    let rapid = rng.unit() < 0.2;
    let name = format!("chaos-n{night}-{i}");
    let exposures = match devices {
        Devices::Sim => [20.0, 30.0, 60.0],
        Devices::Real => [5.0, 10.0, 15.0],
    };
    let exposure_s = exposures[rng.below(3)];
    let mut body = json!({
        "name": name,
        "observer": "chaos",
        "target": { "name": name, "ra_deg": (ra * 1e4).round() / 1e4, "dec_deg": (dec * 1e4).round() / 1e4 },
        "exposure_s": exposure_s,
        "count": 2 + rng.below(3),
        "priority": 40 + rng.below(50),
    });
    if rapid {
        body["class"] = json!("rapid_response");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64) -> PlanOptions {
        PlanOptions {
            nights: 2,
            seed,
            hours: 3.0,
            first_dusk: teld_astro::time::parse_utc("2026-11-24T19:30:00").unwrap(),
            faults_per_hour: 4.0,
            requests_per_hour: 6.0,
            broker: true,
            disk: true,
            devices: Devices::Sim,
            only: Vec::new(),
        }
    }

    fn site() -> Site {
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
    }

    #[test]
    fn same_seed_same_schedule_other_seed_other() {
        let a = plan(&opts(7), &site());
        let b = plan(&opts(7), &site());
        let c = plan(&opts(8), &site());
        let key = |p: &[NightPlan]| {
            p.iter()
                .map(|n| {
                    format!(
                        "{:?}{:?}{:?}",
                        n.weather,
                        n.faults.iter().map(|f| (f.at_s, f.kind)).collect::<Vec<_>>(),
                        n.submissions.iter().map(|s| s.body.to_string()).collect::<Vec<_>>()
                    )
                })
                .collect::<String>()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn spells_inside_the_night_and_jump_last() {
        for n in plan(&opts(3), &site()) {
            for s in &n.weather {
                assert!(s.from >= n.start && s.to <= n.end && s.to > s.from, "{s:?}");
            }
            let jumps: Vec<usize> = n
                .faults
                .iter()
                .enumerate()
                .filter(|(_, f)| f.kind == FaultKind::ClockJump)
                .map(|(i, _)| i)
                .collect();
            assert!(
                jumps.len() <= 1 && jumps.iter().all(|&i| i == n.faults.len() - 1),
                "{:?}",
                n.faults
            );
            assert!(n.faults.windows(2).all(|w| w[0].at_s <= w[1].at_s));
        }
    }

    #[test]
    fn real_devices_deal_every_device_fault_and_no_clock_jump() {
        let o =
            PlanOptions { devices: Devices::Real, hours: 1.0, faults_per_hour: 30.0, ..opts(5) };
        let nights = plan(&o, &site());
        let dealt: std::collections::BTreeSet<FaultKind> =
            nights.iter().flat_map(|n| n.faults.iter().map(|f| f.kind)).collect();
        for k in FaultKind::ALL {
            assert_eq!(dealt.contains(&k), k.applies_to(Devices::Real), "{k:?}: {dealt:?}");
        }
        for n in &nights {
            assert!(n.weather.iter().all(|s| REAL_REASONS.contains(&s.reason)), "{:?}", n.weather);
            for f in &n.faults {
                let spoils = matches!(
                    f.kind,
                    FaultKind::SerialGarbage | FaultKind::SerialDropped | FaultKind::SerialPartial
                );
                assert_eq!(spoils, (1..=3).contains(&f.answers), "{f:?}");
            }
        }
        // --kinds narrows the deck.
        let only = PlanOptions { only: vec![FaultKind::PortLoss], ..o };
        assert!(
            plan(&only, &site())
                .iter()
                .flat_map(|n| &n.faults)
                .all(|f| f.kind == FaultKind::PortLoss)
        );
    }
}
