//! `teld chaos --nights N --seed S`: the fault campaign (docs/CHAOS.md). Runs the real
//! teld binary (and through it the real driver processes) over simulated nights at
//! high speed, with its own MQTT broker, submits a seeded workload over the API,
//! injects seeded faults, watches for unsafe states, then accounts for every request
//! and frame from the store and the archive, and prints one figure per line. With
//! `--devices real` the same on the real clock against the ASCOM Alpaca simulators and
//! the LX200 emulator, with their faults too (`real`).

pub mod alpaca;
pub mod emulator;
pub mod http;
pub mod inject;
pub mod plan;
pub mod real;
pub mod report;
pub mod site;
pub mod tally;
pub mod watch;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hifitime::Epoch;
use teld_astro::Site;
use thiserror::Error;

use inject::{Broker, InjectError, TeldProc, TeldSpec};
use plan::{Devices, Fault, FaultKind, NightPlan, PlanOptions, Rng, Spell};
use real::RealDevices;
use report::{Injected, Report};
use watch::{Limits, Target, Watcher};

#[derive(Debug, Error)]
pub enum ChaosError {
    #[error(transparent)]
    Inject(#[from] InjectError),
    #[error(transparent)]
    Tally(#[from] tally::TallyError),
    #[error("`{0}` is not a UTC time like 2026-11-24T19:30:00")]
    BadTime(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error(transparent)]
    Alpaca(#[from] alpaca::AlpacaError),
    #[error(transparent)]
    Emulator(#[from] emulator::EmulatorError),
    #[error(
        "--devices real runs on the real clock (the Alpaca simulators and the emulated mount keep real time): use --speed 1 or leave --speed out, not {0}"
    )]
    RealSpeed(f64),
    #[error(
        "teld did not become ready (store and drivers up) within {0} s after starting; see the log in the run folder"
    )]
    NotReady(u64),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub nights: usize,
    pub seed: u64,
    pub speed: f64,
    /// Simulated hours of each night (dusk onwards).
    pub hours: f64,
    pub first_dusk: String,
    pub faults_per_hour: f64,
    pub requests_per_hour: f64,
    /// The run folder (store, archive, logs); a new temporary one if not given.
    pub dir: Option<PathBuf>,
    /// The teld binary to run (default: this one).
    pub teld: Option<PathBuf>,
    pub devices: Devices,
    /// Only these fault kinds; empty: every kind that applies to `devices`.
    pub kinds: Vec<FaultKind>,
    pub no_broker: bool,
    /// Size of the tmpfs the state folder is mounted on for the disk-full fault;
    /// 0 = no tmpfs, no disk-full fault.
    pub tmpfs_mib: u64,
}

/// How long a fault may take to be recovered from before it counts as not recovered.
const RECOVERY_PATIENCE: Duration = Duration::from_secs(60);
const READY_PATIENCE: Duration = Duration::from_secs(60);

/// The simulated time that it "should be now": teld restarted after a kill gets it.
#[derive(Debug, Clone, Copy)]
struct SimClock {
    base_sim: Epoch,
    base_real: Instant,
    speed: f64,
}

impl SimClock {
    fn now(&self) -> Epoch {
        self.base_sim
            + hifitime::Duration::from_seconds(self.base_real.elapsed().as_secs_f64() * self.speed)
    }
}

enum Phase {
    /// The fault holds until then (a stopped process, a locked store, a broker down).
    Holding(Instant),
    /// Ended; waiting for teld to be whole.
    Recovering,
}

struct Active {
    kind: FaultKind,
    began: Instant,
    phase: Phase,
    /// The process signalled (teld or its driver).
    pid: Option<u32>,
    lock: Option<std::thread::JoinHandle<Result<(), InjectError>>>,
    garbage: Vec<String>,
    /// The driver a driver fault hit (`sim`, `alpaca`, `lx200`).
    driver: &'static str,
    /// When the hold ended (the serial faults' recovery counts from it).
    ended: Instant,
}

struct Run<'a> {
    opts: &'a Options,
    site: Site,
    spec: TeldSpec,
    state_dir: PathBuf,
    broker: Option<Broker>,
    /// The Alpaca simulators and the LX200 emulator (`--devices real`).
    real: Option<RealDevices>,
    /// The whole run's weather script (told to the real devices as it comes due).
    spells: Vec<Spell>,
    watcher: Watcher,
    teld: Option<TeldProc>,
    clock: SimClock,
    rng: Rng,
    acknowledged: Vec<i64>,
    submitted: usize,
    refused: usize,
    injected: Vec<Injected>,
    garbage: Vec<String>,
    unexpected_exits: usize,
    /// The latest time teld's clock was at.
    latest: Epoch,
}

pub fn run(opts: &Options, out: &mut dyn std::io::Write) -> Result<Report, ChaosError> {
    let is_real = opts.devices == Devices::Real;
    if is_real && opts.speed != 1.0 {
        return Err(ChaosError::RealSpeed(opts.speed));
    }
    let io = |what: String| move |e| ChaosError::Io { what, source: e };
    let dir = match &opts.dir {
        Some(d) => d.clone(),
        None => tempfile::Builder::new()
            .prefix("teld-chaos-")
            .tempdir()
            .map_err(io("making a run folder".into()))?
            .keep(),
    };
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let dir = dir.canonicalize().map_err(io(format!("resolving {}", dir.display())))?;
    let state_dir = dir.join("state");
    let site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
    let broker = if opts.no_broker { None } else { Broker::start(&dir)? };
    // Declared after the broker and before everything that writes into it, so it is
    // unmounted last of all (after the tally has read the store).
    let tmpfs = match opts.tmpfs_mib {
        0 => Err("--tmpfs-mib 0".to_string()),
        mib => inject::Tmpfs::mount(&state_dir, mib),
    };
    let first_dusk = teld_astro::time::parse_utc(&opts.first_dusk)
        .map_err(|_| ChaosError::BadTime(opts.first_dusk.clone()))?;
    let nights = plan::plan(
        &PlanOptions {
            nights: opts.nights,
            seed: opts.seed,
            hours: opts.hours,
            first_dusk,
            faults_per_hour: opts.faults_per_hour,
            requests_per_hour: opts.requests_per_hour,
            broker: broker.is_some(),
            disk: tmpfs.is_ok(),
            devices: opts.devices,
            only: opts.kinds.clone(),
        },
        &site,
    );
    let exe = match &opts.teld {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(io("finding the teld binary".into()))?,
    };
    let real = if is_real { Some(RealDevices::start(&dir, &exe, &site)?) } else { None };
    let broker_port = broker.as_ref().map(|b| b.port);
    let config_text = match &real {
        Some(r) => site::real_config_text(&state_dir, broker_port, r.alpaca.addr, &r.emulator.link),
        None => site::config_text(&state_dir, broker_port, &nights),
    };
    let config = dir.join("teld.toml");
    std::fs::write(&config, config_text).map_err(io(format!("writing {}", config.display())))?;
    let port = inject::free_port().map_err(io("finding a free port".into()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let limits = Limits {
        site,
        // As each site config says (real-devices.toml: a minute, for minutes-long spells).
        close_within_s: if is_real { 60.0 } else { 120.0 },
        sun_avoidance_deg: 30.0,
        // The simulator's own limit; the emulated mount has none above its horizon, and
        // is held to the same.
        min_altitude_deg: 15.0,
        // The simulator's defaults (drivers/sim/README.md, `mount`); the emulator parks
        // at the pole (drivers/lx200/README.md).
        park_alt_az_deg: if is_real { (site.latitude_deg, 0.0) } else { (0.0, 0.0) },
        // A lost mount driver must not stop the Alpaca dome closing (make_safe closes
        // and parks concurrently), so only the Alpaca driver down is a gap.
        dome_driver: is_real.then_some("alpaca"),
    };
    let watcher = Watcher::start(limits, Duration::from_millis(100));
    let spells: Vec<Spell> = nights.iter().flat_map(|n| n.weather.clone()).collect();
    watcher.checker.lock().unwrap().set_weather(spells.clone());
    let _ = writeln!(
        out,
        "teld chaos: {} night(s) of {} h at {}× on {} devices, seed {}, run folder {}",
        opts.nights,
        opts.hours,
        opts.speed,
        if is_real { "real (Alpaca simulators, LX200 emulator)" } else { "simulated" },
        opts.seed,
        dir.display()
    );
    let started = Instant::now();
    let mut run = Run {
        opts,
        site,
        spec: TeldSpec { exe, config, addr, speed: opts.speed, log: dir.join("teld.log") },
        state_dir: state_dir.clone(),
        broker,
        real,
        spells,
        watcher,
        teld: None,
        clock: SimClock { base_sim: first_dusk, base_real: Instant::now(), speed: opts.speed },
        rng: Rng::new(opts.seed ^ 0xC4A05),
        acknowledged: Vec::new(),
        submitted: 0,
        refused: 0,
        injected: Vec::new(),
        garbage: Vec::new(),
        unexpected_exits: 0,
        latest: first_dusk,
    };
    let result = (|| {
        for night in &nights {
            run.night(night, out)?;
        }
        // A last start in the morning: the pipeline catches up on anything a kill left
        // half done, as it would at the next night's start.
        // Never back: a clock jump may have taken teld past the planned end.
        let morning = nights.last().map_or(first_dusk, |n| n.end).max(run.latest)
            + hifitime::Duration::from_hours(1.0);
        run.settle(morning)
    })();
    // Whatever happened, no process of the campaign outlives it.
    if let Some(t) = run.teld.take() {
        t.terminate(Duration::from_secs(20));
    }
    if let Some(b) = run.broker.as_mut() {
        b.kill9();
    }
    result?;
    let Run {
        watcher,
        acknowledged,
        submitted,
        refused,
        injected,
        garbage,
        unexpected_exits,
        broker,
        ..
    } = run;
    let (checker, usage) = watcher.stop();
    let sinks = if broker.is_some() { vec!["mqtt".to_string()] } else { Vec::new() };
    let keep = dir.join("store-copy");
    if tmpfs.is_ok() {
        // The tmpfs goes when the run ends: keep the store for whoever looks into it.
        let _ = std::fs::create_dir_all(&keep);
        for f in ["teld.db", "teld.db-wal", "teld.db-shm"] {
            let _ = std::fs::copy(state_dir.join(f), keep.join(f));
        }
    }
    let tally = tally::tally(
        &state_dir,
        &tally::Expect {
            acknowledged,
            sinks,
            inbox_garbage: garbage,
            // real-devices.toml: a frame the quick-look fails is not retaken there.
            failed_frames_count: is_real,
        },
    )?;
    let simulated_h: f64 = nights.iter().map(|n| (n.end - n.start).to_seconds() / 3600.0).sum();
    let mut not_injected: Vec<(&'static str, &'static str)> = if is_real {
        vec![
            (
                "clock jump",
                "teld's clock cannot jump apart from the devices', which keep the real time",
            ),
            (
                "weather",
                "told to the Alpaca safety monitor and observing conditions at scripted times: see unsafe weather spells",
            ),
        ]
    } else {
        vec![
            (
                "Alpaca errors and hangs, serial faults",
                "the Alpaca simulators and the LX200 emulator run on the real clock, not at 300×: teld chaos --devices real (docs/CHAOS.md)",
            ),
            (
                "weather",
                "scripted up front into the simulator, not injected: see unsafe weather spells",
            ),
        ]
    };
    if let Err(why) = &tmpfs {
        not_injected.push(("disk full", leak(format!("no tmpfs for the state folder: {why}"))));
    }
    if broker.is_none() {
        not_injected.push(("SIGKILL broker", "mosquitto is not installed (or --no-broker)"));
    }
    Ok(Report {
        kinds: FaultKind::ALL.into_iter().filter(|k| k.applies_to(opts.devices)).collect(),
        header: format!(
            "simulated: {simulated_h:.2} h over {} night(s) in {:.1} min real",
            nights.len(),
            started.elapsed().as_secs_f64() / 60.0
        ),
        scheduled: nights.iter().map(|n| n.faults.len()).sum(),
        injected,
        not_injected,
        spells: nights.iter().flat_map(|n| &n.weather).filter(|s| s.must_close()).count(),
        submitted,
        refused,
        checker,
        tally,
        usage,
        unexpected_exits,
    })
}

/// The report's reasons are mostly static text; the few made at run time live as long
/// as the process (one per run).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Run<'_> {
    fn db(&self) -> PathBuf {
        self.state_dir.join("teld.db")
    }

    fn start_teld(&mut self, at: Epoch) -> Result<(), ChaosError> {
        let t = self.spec.start(at)?;
        self.watcher.set_target(Target { addr: Some(self.spec.addr), pid: Some(t.pid) });
        self.teld = Some(t);
        Ok(())
    }

    fn stop_teld(&mut self, kill: bool) {
        self.watcher.set_target(Target::default());
        if let Some(t) = self.teld.take() {
            if kill {
                t.kill9()
            } else {
                t.terminate(Duration::from_secs(30));
            }
        }
    }

    fn ready(&self) -> bool {
        http::get(self.spec.addr, "/readyz", Duration::from_secs(1)).is_ok_and(|r| r.status == 200)
    }

    fn status(&self) -> Option<serde_json::Value> {
        http::get(self.spec.addr, "/api/v1/status", Duration::from_secs(2))
            .ok()
            .filter(|r| r.status == 200)
            .map(|r| r.json())
    }

    fn driver_pid(&self, name: &str) -> Option<u32> {
        let s = self.status()?;
        let d = &s["drivers"][name];
        (d["status"] == "up").then(|| d["pid"].as_u64()).flatten().map(|p| p as u32)
    }

    fn wait_ready(&self) -> Result<(), ChaosError> {
        let deadline = Instant::now() + READY_PATIENCE;
        while !self.ready() {
            if Instant::now() > deadline {
                return Err(ChaosError::NotReady(READY_PATIENCE.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    fn night(&mut self, night: &NightPlan, out: &mut dyn std::io::Write) -> Result<(), ChaosError> {
        let real = Instant::now();
        self.clock =
            SimClock { base_sim: night.start, base_real: Instant::now(), speed: self.opts.speed };
        self.start_teld(self.clock.now())?;
        self.wait_ready()?;
        let mut end = night.end;
        let mut faults: VecDeque<Fault> = night.faults.iter().cloned().collect();
        let mut subs: VecDeque<(f64, serde_json::Value, Option<Instant>)> =
            night.submissions.iter().map(|s| (s.at_s, s.body.clone(), None)).collect();
        let mut active: Option<Active> = None;
        let injected_before = self.injected.len();
        loop {
            let now = self.clock.now();
            self.latest = self.latest.max(now);
            let offset = (now - night.start).to_seconds();
            if now >= end && active.is_none() {
                break;
            }
            // A teld that died without being told to is a finding, and is restarted.
            let frozen = matches!(&active, Some(a) if a.kind == FaultKind::StopTeld);
            if let Some(t) = self.teld.as_mut()
                && !t.alive()
            {
                self.unexpected_exits += 1;
                let _ = writeln!(
                    out,
                    "  teld exited by itself at {}; restarting (see teld.log)",
                    teld_astro::time::format_utc(now, 0)
                );
                self.stop_teld(true);
                self.start_teld(self.clock.now())?;
            }
            if !frozen {
                self.submit_due(&mut subs, offset);
            }
            if let Some(r) = self.real.as_mut() {
                r.follow_weather(&self.spells, now);
            }
            match active.take() {
                Some(a) => active = self.step(a, night)?,
                None => {
                    if faults.front().is_some_and(|f| f.at_s <= offset) {
                        let f = faults.pop_front().unwrap();
                        active = self.inject(&f, night, &mut end)?;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop_teld(false);
        let _ = writeln!(
            out,
            "night {} ({}): {} fault(s) injected, {} left unreached, {} request(s) acknowledged so far, {:.0} s real",
            night.index + 1,
            teld_astro::time::format_utc(night.start, 0),
            self.injected.len() - injected_before,
            faults.len(),
            self.acknowledged.len(),
            real.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Submits the requests that are due. Connection failures and 503 are retried (a
    /// client would), for at most 30 s; anything else is an answer.
    fn submit_due(
        &mut self,
        subs: &mut VecDeque<(f64, serde_json::Value, Option<Instant>)>,
        offset: f64,
    ) {
        while let Some((at_s, body, first)) = subs.front_mut() {
            if *at_s > offset {
                return;
            }
            let first = *first.get_or_insert_with(Instant::now);
            let r = http::request(
                self.spec.addr,
                "POST",
                "/api/v1/requests",
                Some(&body.to_string()),
                Duration::from_secs(3),
            );
            match r {
                Ok(r) if r.status == 201 => {
                    if let Some(id) = r.json()["id"].as_i64() {
                        self.acknowledged.push(id);
                    }
                    self.submitted += 1;
                    subs.pop_front();
                }
                Ok(r) if r.status != 503 => {
                    self.submitted += 1;
                    self.refused += 1;
                    subs.pop_front();
                }
                _ if first.elapsed() < Duration::from_secs(30) => return,
                _ => {
                    self.submitted += 1;
                    self.refused += 1;
                    subs.pop_front();
                }
            }
        }
    }

    fn inject(
        &mut self,
        f: &Fault,
        night: &NightPlan,
        end: &mut Epoch,
    ) -> Result<Option<Active>, ChaosError> {
        let hold = Instant::now() + Duration::from_secs_f64(f.hold_s);
        let mut a = Active {
            kind: f.kind,
            began: Instant::now(),
            phase: Phase::Recovering,
            pid: None,
            lock: None,
            garbage: Vec::new(),
            driver: "sim",
            ended: Instant::now(),
        };
        match f.kind {
            FaultKind::KillTeld => {
                self.stop_teld(true);
                self.start_teld(self.clock.now())?;
            }
            FaultKind::StopTeld => {
                a.pid = self.teld.as_ref().map(|t| t.pid);
                a.pid.map(|p| inject::signal(p, libc::SIGSTOP));
                a.phase = Phase::Holding(hold);
            }
            FaultKind::KillDriver | FaultKind::StopDriver => {
                if self.real.is_some() {
                    a.driver = ["alpaca", "lx200"][self.rng.below(2)];
                }
                // No driver up to signal (still recovering from something): skip.
                let Some(pid) = self.driver_pid(a.driver) else { return Ok(None) };
                let stop = f.kind == FaultKind::StopDriver;
                inject::signal(pid, if stop { libc::SIGSTOP } else { libc::SIGKILL });
                a.pid = Some(pid);
                if stop {
                    a.phase = Phase::Holding(hold);
                }
            }
            FaultKind::KillBroker => {
                let Some(b) = self.broker.as_mut() else { return Ok(None) };
                b.kill9();
                a.phase = Phase::Holding(hold);
            }
            FaultKind::LockStore => {
                let db = self.db();
                let d = Duration::from_secs_f64(f.hold_s);
                a.lock = Some(std::thread::spawn(move || inject::lock_store(&db, d)));
                a.phase = Phase::Holding(hold);
            }
            FaultKind::CorruptInbox => {
                let tag = format!("n{}-{}", night.index, self.garbage.len());
                a.garbage =
                    inject::corrupt_inbox(&self.state_dir.join("inbox"), &tag, &mut self.rng)?;
                self.garbage.extend(a.garbage.iter().cloned());
            }
            FaultKind::DiskFull => {
                inject::fill_disk(&self.state_dir.join("chaos-ballast"))?;
                a.phase = Phase::Holding(hold);
            }
            k @ (FaultKind::AlpacaHang
            | FaultKind::AlpacaErrors
            | FaultKind::SerialGarbage
            | FaultKind::SerialDropped
            | FaultKind::SerialPartial
            | FaultKind::PortLoss
            | FaultKind::MountFreeze) => {
                let Some(real) = self.real.as_mut() else { return Ok(None) };
                if real.inject(f)? {
                    a.phase = Phase::Holding(hold);
                }
                if matches!(k, FaultKind::AlpacaHang | FaultKind::AlpacaErrors) {
                    // Nothing can close the dome through a hung or dead server: the
                    // watcher's countdown starts again once teld has it back.
                    self.watcher.checker.lock().unwrap().set_gap(true);
                }
            }
            FaultKind::ClockJump => {
                // The Sun rises "early": teld comes back a quarter hour after sunrise
                // and the night ends half an hour later.
                let sunrise = teld_astro::sun::next_crossing(
                    &self.site,
                    night.start,
                    0.0,
                    hifitime::Duration::from_days(1.0),
                )
                .ok()
                .flatten()
                .unwrap_or(night.start + hifitime::Duration::from_hours(12.0));
                let to = sunrise + hifitime::Duration::from_seconds(900.0);
                self.stop_teld(false);
                self.clock =
                    SimClock { base_sim: to, base_real: Instant::now(), speed: self.opts.speed };
                *end = to + hifitime::Duration::from_seconds(1800.0);
                self.start_teld(to)?;
            }
        }
        Ok(Some(a))
    }

    /// Moves a fault along: ends its hold, then waits until teld is whole again.
    fn step(&mut self, mut a: Active, night: &NightPlan) -> Result<Option<Active>, ChaosError> {
        if let Phase::Holding(until) = a.phase {
            let lock_done = a.lock.as_ref().is_none_or(|h| h.is_finished());
            if Instant::now() < until || !lock_done {
                return Ok(Some(a));
            }
            match a.kind {
                FaultKind::StopTeld | FaultKind::StopDriver => {
                    a.pid.map(|p| inject::signal(p, libc::SIGCONT));
                }
                FaultKind::KillBroker => {
                    if let Some(b) = self.broker.as_mut() {
                        b.restart()?;
                    }
                }
                FaultKind::DiskFull => {
                    let ballast = self.state_dir.join("chaos-ballast");
                    std::fs::remove_file(&ballast).map_err(|e| ChaosError::Io {
                        what: format!("removing {}", ballast.display()),
                        source: e,
                    })?;
                }
                // A lock that could not be taken (teld writing for longer than the
                // busy timeout) was no fault: not counted as injected.
                FaultKind::LockStore
                    if !matches!(a.lock.take().map(|h| h.join()), Some(Ok(Ok(())))) =>
                {
                    return Ok(None);
                }
                k if k.is_device() => {
                    if let Some(real) = self.real.as_mut() {
                        real.end(k)?;
                    }
                }
                _ => {}
            }
            a.phase = Phase::Recovering;
            a.ended = Instant::now();
        }
        let whole = match a.kind {
            FaultKind::KillBroker => {
                self.status().is_some_and(|s| s["telemetry"]["connected"] == true)
            }
            FaultKind::CorruptInbox => {
                let inbox = self.state_dir.join("inbox");
                a.garbage.iter().all(|n| !inbox.join(n).exists())
            }
            FaultKind::KillDriver => {
                self.ready() && self.driver_pid(a.driver).is_some_and(|p| Some(p) != a.pid)
            }
            k if k.is_device() => {
                self.ready()
                    && self.status().is_some_and(|s| {
                        self.real.as_ref().is_some_and(|r| r.recovered(k, &s, a.ended))
                    })
            }
            _ => self.ready(),
        };
        let took = a.began.elapsed();
        if whole || took > RECOVERY_PATIENCE {
            self.watcher.checker.lock().unwrap().set_gap(false);
            self.injected.push(Injected {
                kind: a.kind,
                night: night.index,
                recovered_s: whole.then_some(took.as_secs_f64()),
            });
            return Ok(None);
        }
        Ok(Some(a))
    }

    fn settle(&mut self, at: Epoch) -> Result<(), ChaosError> {
        self.clock = SimClock { base_sim: at, base_real: Instant::now(), speed: self.opts.speed };
        self.start_teld(at)?;
        self.wait_ready()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let pending = self.status().and_then(|s| {
                s["handoff"]
                    .as_object()
                    .map(|h| h.values().map(|v| v["pending"].as_u64().unwrap_or(0)).sum::<u64>())
            });
            if pending == Some(0) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.stop_teld(false);
        Ok(())
    }
}
