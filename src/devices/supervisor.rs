//! Keeps one driver process alive: spawn, handshake, heartbeat, restart with backoff.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use teld_driver_protocol::codec::{decode, read_line, write_message};
use teld_driver_protocol::{
    Call, Configure, DaemonMessage, DeviceInfo, DeviceState, DriverMessage, Event as DriverEvent,
    PROTOCOL_VERSION, ProtocolError,
};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::DeviceError;
use super::link::Link;
use super::process::{DriverProcess, resolve_program, spawn, spawn_verified};
use crate::clock::Clock;
use crate::config::DriverConfig;
use crate::core::{Core, DriverStatus, DriverView, Event};
use crate::store::Store;
use crate::update::exec::{Launch, SlotExec};

/// A driver that stayed up this long is healthy again: its next failure restarts it
/// after the initial backoff, not the grown one.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);
/// Time a driver gets to make its devices safe and exit after `shutdown`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
/// Time between SIGTERM and SIGKILL for a process stopped before it was configured
/// (it has no devices to make safe yet).
const TERM_GRACE: Duration = Duration::from_secs(2);

/// What the supervisor is doing with its process, for whoever must judge a driver
/// (the update health check): which start this is, whether it is serving, what it
/// said in `hello`, and why the last run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunStatus {
    /// Processes started so far; the current (or last) one is number `starts`.
    pub starts: u64,
    /// Handshake and `configure` done, heartbeats answered.
    pub up: bool,
    pub hello: Option<teld_driver_protocol::Hello>,
    /// Why run number `starts` ended; `None` while it runs.
    pub ended: Option<String>,
    /// The signed build this run was started from; `None` for the shipped program.
    pub installed: Option<crate::update::state::Installed>,
}

/// What every supervisor shares with the rest of the daemon.
pub struct SupervisorContext {
    pub clock: Clock,
    pub core: Core,
    pub store: Store,
    pub spool_dir: PathBuf,
    pub site: teld_driver_protocol::call::Site,
    pub state_interval_ms: u64,
    /// `(driver, device)` → telescopes whose snapshot shows that device.
    pub routes: HashMap<(String, String), Vec<String>>,
    /// `driver` → devices the configuration expects it to serve, with the config key
    /// naming each, so a mismatch is reported in the user's terms.
    pub expected: HashMap<String, Vec<(String, String)>>,
    /// Each supervisor runs as the watched task `driver:<name>`.
    pub liveness: crate::liveness::Liveness,
}

#[derive(Clone)]
pub struct DriverHandle {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    request_timeout: Duration,
    link: watch::Sender<Option<Arc<Link>>>,
    states: broadcast::Sender<(String, DeviceState)>,
    /// An operator asked for a fresh process (a driver update).
    restart: tokio::sync::Notify,
    ctx: Arc<SupervisorContext>,
    runs: watch::Sender<RunStatus>,
    /// Every run numbered at or below this must end now (an update switched builds).
    fresh: watch::Sender<u64>,
    /// The signed-update slot of this driver's kind, if updates are enabled.
    slot: Option<SlotExec>,
}

impl DriverHandle {
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Sends a device call to the running driver. Only the device layer may: every
    /// command that can put hardware at risk goes through `Telescope`'s interlocks.
    pub(super) async fn call(&self, device: &str, call: Call) -> Result<Value, DeviceError> {
        let link = self.shared.link.borrow().clone();
        let link =
            link.ok_or_else(|| DeviceError::DriverDown { driver: self.shared.name.clone() })?;
        let result = link.call(Some(device), call, self.shared.request_timeout).await;
        match &result {
            Ok(_) => mark_fault(&self.shared, device, None),
            Err(e) if e.is_device_fault() => mark_fault(&self.shared, device, Some(e.to_string())),
            Err(_) => {}
        }
        result
    }

    /// States the driver reports by itself (`state` events: changes and periodic).
    /// Reads made by teld are not echoed here, so a waiter that reads never wakes
    /// itself.
    pub fn states(&self) -> broadcast::Receiver<(String, DeviceState)> {
        self.shared.states.subscribe()
    }

    pub fn is_up(&self) -> bool {
        self.shared.link.borrow().is_some()
    }

    /// Asks the supervisor to stop the running process and start a new one at once
    /// (picking up a new binary). False if the driver is not up: then a restart is
    /// already under way and asking again would only restart the next process.
    pub fn restart(&self) -> bool {
        if !self.is_up() {
            return false;
        }
        self.shared.restart.notify_one();
        true
    }

    /// Watches the process's runs (start number, up, hello, why it ended).
    pub fn runs(&self) -> watch::Receiver<RunStatus> {
        self.shared.runs.subscribe()
    }

    /// Ends the running process (politely if it is up; SIGTERM then SIGKILL if it is
    /// still starting) and starts a fresh one at once, skipping any restart backoff.
    /// Returns the number of the run that must end; the fresh one is the next.
    pub fn restart_fresh(&self) -> u64 {
        let n = self.shared.runs.borrow().starts;
        self.shared.fresh.send_modify(|v| *v = (*v).max(n));
        n
    }

    /// Asks the running driver for its self-test (`self_test`, driver level).
    pub async fn self_test(&self) -> Result<teld_driver_protocol::SelfTest, DeviceError> {
        let link = self.shared.link.borrow().clone();
        let link =
            link.ok_or_else(|| DeviceError::DriverDown { driver: self.shared.name.clone() })?;
        let v = link.call(None, Call::SelfTest, self.shared.request_timeout).await?;
        serde_json::from_value(v).map_err(|e| DeviceError::BadAnswer {
            driver: self.shared.name.clone(),
            device: "-".into(),
            method: "self_test".into(),
            message: e.to_string(),
        })
    }

    /// Resolves when the driver is up (at once if it is).
    pub async fn wait_up(&self) {
        let mut rx = self.shared.link.subscribe();
        let _ = rx.wait_for(|l| l.is_some()).await;
    }

    /// Resolves when the driver goes down (at once if it is down).
    pub async fn wait_down(&self) {
        let mut rx = self.shared.link.subscribe();
        let _ = rx.wait_for(|l| l.is_none()).await;
    }

    /// A capability flag the driver announced for a device; `None` if unknown.
    pub fn capability(&self, device: &str, name: &str) -> Option<bool> {
        let link = self.shared.link.borrow().clone()?;
        link.device(device)?.capabilities.get(name).copied()
    }

    /// Records a state read from the device into the snapshot.
    pub fn observe_state(&self, device: &str, state: &DeviceState) {
        snapshot_state(&self.shared, device, state);
        mark_fault(&self.shared, device, None);
    }
}

/// Starts supervising one driver; the task ends when `shutdown` is cancelled and the
/// driver has been stopped.
pub fn spawn_supervisor(
    cfg: DriverConfig,
    ctx: Arc<SupervisorContext>,
    shutdown: CancellationToken,
) -> (DriverHandle, JoinHandle<()>) {
    spawn_supervisor_with_slot(cfg, ctx, shutdown, None)
}

/// [`spawn_supervisor`] for a driver whose kind has a signed-update slot: each start
/// runs the slot's verified build (see [`crate::update::exec`]) or, while the kind has
/// none, the shipped program.
pub fn spawn_supervisor_with_slot(
    cfg: DriverConfig,
    ctx: Arc<SupervisorContext>,
    shutdown: CancellationToken,
    slot: Option<SlotExec>,
) -> (DriverHandle, JoinHandle<()>) {
    let shared = Arc::new(Shared {
        name: cfg.name.clone(),
        request_timeout: Duration::from_secs_f64(cfg.request_timeout_s),
        link: watch::channel(None).0,
        states: broadcast::channel(256).0,
        restart: tokio::sync::Notify::new(),
        ctx,
        runs: watch::channel(RunStatus::default()).0,
        fresh: watch::channel(0).0,
        slot,
    });
    let handle = DriverHandle { shared: shared.clone() };
    let task = format!("driver:{}", cfg.name);
    let allowed = allowance(&cfg);
    let watched =
        shared.ctx.liveness.watch(&task, allowed, supervise(cfg, shared.clone(), shutdown));
    (handle, tokio::spawn(watched))
}

/// The longest a supervisor can go without a round of its own: a start (hello and
/// configure), a stop (the request, then the grace before a kill), a ping's timeout,
/// and a margin. Its waits on purpose (the restart backoff, the heartbeat interval)
/// show life as they go.
fn allowance(cfg: &DriverConfig) -> Duration {
    let bounded = 2.0 * cfg.start_timeout_s
        + cfg.request_timeout_s
        + cfg.heartbeat_interval_s
        + cfg.heartbeat_timeout_s;
    crate::liveness::allowance(Duration::from_secs_f64(bounded) + SHUTDOWN_GRACE)
}

async fn supervise(cfg: DriverConfig, shared: Arc<Shared>, shutdown: CancellationToken) {
    let initial = Duration::from_secs_f64(cfg.restart_backoff_initial_s);
    let max = Duration::from_secs_f64(cfg.restart_backoff_max_s);
    let mut backoff = initial;
    let mut restarts = 0u32;
    loop {
        set_view(&shared, &cfg, DriverStatus::Starting, None, None, restarts, None);
        let started = tokio::time::Instant::now();
        let end = run_once(&cfg, &shared, &shutdown, restarts).await;
        shared.link.send_replace(None);
        let why = match &end {
            RunEnd::Shutdown => "teld shut down".to_string(),
            RunEnd::Failed(r) => r.clone(),
            RunEnd::Restart => "restarted on request".to_string(),
        };
        shared.runs.send_modify(|r| {
            r.up = false;
            r.ended = Some(why);
        });
        let reason = match end {
            RunEnd::Shutdown => {
                set_view(
                    &shared,
                    &cfg,
                    DriverStatus::Down,
                    None,
                    None,
                    restarts,
                    Some("teld shut down".into()),
                );
                return;
            }
            RunEnd::Failed(reason) => reason,
            RunEnd::Restart => {
                restarts += 1;
                tracing::warn!(driver = %cfg.name, "driver restarted by an operator");
                let ctx = &shared.ctx;
                let now = ctx.clock.now();
                ctx.core.publish(Event::Driver {
                    driver: cfg.name.clone(),
                    status: "restarting".into(),
                    detail: Some("restarted by an operator".into()),
                    at: now,
                });
                let _ = ctx.store.record_device_event(now, &cfg.name, "driver_restart", None).await;
                continue;
            }
        };
        if started.elapsed() > HEALTHY_AFTER {
            backoff = initial;
        }
        restarts += 1;
        tracing::error!(driver = %cfg.name, "driver stopped: {reason}; restarting in {:.1} s", backoff.as_secs_f64());
        let ctx = &shared.ctx;
        let now = ctx.clock.now();
        set_view(&shared, &cfg, DriverStatus::Down, None, None, restarts, Some(reason.clone()));
        ctx.core.publish(Event::Driver {
            driver: cfg.name.clone(),
            status: "down".into(),
            detail: Some(reason.clone()),
            at: now,
        });
        if let Err(e) =
            ctx.store.record_device_event(now, &cfg.name, "driver_down", Some(&reason)).await
        {
            tracing::warn!(driver = %cfg.name, "could not record driver event: {e}");
        }
        let ended = shared.runs.borrow().starts;
        let mut fresh = shared.fresh.subscribe();
        tokio::select! {
            _ = crate::liveness::sleep(backoff) => {}
            _ = switched(&mut fresh, ended) => {}
            _ = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(max);
    }
}

enum RunEnd {
    Shutdown,
    Failed(String),
    /// Stopped on an operator's request: start again at once, no backoff.
    Restart,
}

async fn run_once(
    cfg: &DriverConfig,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
    restarts: u32,
) -> RunEnd {
    let launch = match shared.slot.clone() {
        // Hashing a build reads the whole file: off the async threads.
        Some(slot) => tokio::task::spawn_blocking(move || slot.select())
            .await
            .unwrap_or_else(|e| Launch::Held(format!("verifying the driver build failed: {e}"))),
        None => Launch::Shipped,
    };
    let n = shared.runs.borrow().starts + 1;
    let installed = match &launch {
        Launch::Slot(p) => Some(p.installed.clone()),
        _ => None,
    };
    shared.runs.send_replace(RunStatus { starts: n, installed, ..RunStatus::default() });
    let spawned = match &launch {
        Launch::Shipped => match resolve_program(&cfg.program_name()) {
            Ok(program) => spawn(&cfg.name, &program, &cfg.args)
                .map_err(|e| format!("cannot start {}: {e}", program.display())),
            Err(e) => Err(e),
        },
        Launch::Slot(verified) => {
            if let Some(alert) = &verified.alert {
                shared.ctx.core.publish(Event::Alert {
                    source: format!("{}/-", cfg.name),
                    message: alert.clone(),
                    at: shared.ctx.clock.now(),
                });
            }
            tracing::info!(driver = %cfg.name, version = %verified.installed.release, role = ?verified.role, "starting verified signed build");
            spawn_verified(&cfg.name, verified, &cfg.args).map_err(|e| {
                format!("cannot start signed build {}: {e}", verified.installed.release)
            })
        }
        Launch::Held(why) => Err(why.clone()),
    };
    // The child holds its own copy of the descriptor now.
    drop(launch);
    let DriverProcess { mut child, stdin, mut stdout, pid } = match spawned {
        Ok(p) => p,
        Err(e) => return RunEnd::Failed(e),
    };
    let mut fresh = shared.fresh.subscribe();
    let (to_driver, from_daemon) = mpsc::channel::<DaemonMessage>(64);
    let writer = tokio::spawn(write_loop(stdin, from_daemon));
    let start_timeout = Duration::from_secs_f64(cfg.start_timeout_s);

    let hello = tokio::select! {
        h = tokio::time::timeout(start_timeout, read_hello(&mut stdout)) => h,
        _ = switched(&mut fresh, n) => {
            terminate(&mut child, pid).await;
            return stop(child, writer, None, "stopped before its hello: a new build was switched in".into()).await;
        }
    };
    let hello = match hello {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return stop(child, writer, None, format!("handshake failed: {e}")).await,
        Err(_) => {
            let msg = format!("said no hello within {} s of starting", cfg.start_timeout_s);
            return stop(child, writer, None, msg).await;
        }
    };
    shared.runs.send_modify(|r| r.hello = Some(hello.clone()));
    if hello.protocol != PROTOCOL_VERSION {
        let msg = format!(
            "speaks driver protocol {} but this teld speaks {PROTOCOL_VERSION}; install a matching driver build",
            hello.protocol
        );
        return stop(child, writer, None, msg).await;
    }
    let link = Arc::new(Link::new(&cfg.name, to_driver));
    let mut reader = tokio::spawn(read_loop(stdout, link.clone(), shared.clone()));

    let ctx = &shared.ctx;
    let configure = Call::Configure(Configure {
        settings: serde_json::to_value(&cfg.settings).unwrap_or(Value::Null),
        clock: ctx.clock.sync(),
        site: ctx.site,
        spool_dir: ctx.spool_dir.display().to_string(),
        state_interval_ms: ctx.state_interval_ms,
        heartbeat_timeout_ms: (cfg.heartbeat_timeout_s * 1000.0) as u64,
    });
    let configured = tokio::select! {
        c = link.call(None, configure, start_timeout) => c,
        _ = switched(&mut fresh, n) => {
            terminate(&mut child, pid).await;
            return stop(child, writer, Some(reader), "stopped while configuring: a new build was switched in".into()).await;
        }
    };
    let devices = match configured {
        Ok(v) => match serde_json::from_value::<Vec<DeviceInfo>>(v) {
            Ok(d) => d,
            Err(e) => {
                return stop(
                    child,
                    writer,
                    Some(reader),
                    format!("answered configure with an unreadable device list: {e}"),
                )
                .await;
            }
        },
        Err(e) => return stop(child, writer, Some(reader), format!("configure failed: {e}")).await,
    };
    if let Err(msg) = check_devices(&cfg.name, &devices, ctx.expected.get(&cfg.name)) {
        return stop(child, writer, Some(reader), msg).await;
    }
    link.set_devices(devices);
    shared.link.send_replace(Some(link.clone()));
    shared.runs.send_modify(|r| r.up = true);
    set_view(shared, cfg, DriverStatus::Up, pid, Some(hello.version.clone()), restarts, None);
    tracing::info!(driver = %cfg.name, pid, version = %hello.version, "driver up");
    let now = ctx.clock.now();
    ctx.core.publish(Event::Driver {
        driver: cfg.name.clone(),
        status: "up".into(),
        detail: None,
        at: now,
    });
    let _ = ctx.store.record_device_event(now, &cfg.name, "driver_up", Some(&hello.version)).await;

    let interval = Duration::from_secs_f64(cfg.heartbeat_interval_s);
    let hb_timeout = Duration::from_secs_f64(cfg.heartbeat_timeout_s);
    let end = tokio::select! {
        status = child.wait() => RunEnd::Failed(match status {
            Ok(s) => format!("process exited ({s})"),
            Err(e) => format!("lost track of the process: {e}"),
        }),
        _ = &mut reader => RunEnd::Failed("closed its output".into()),
        reason = heartbeat(&link, interval, hb_timeout) => RunEnd::Failed(reason),
        _ = forward_clock(&link, &ctx.clock, hb_timeout) => RunEnd::Failed("clock forwarding ended".into()),
        _ = switched(&mut fresh, n) => {
            let _ = link.call(None, Call::Shutdown, hb_timeout).await;
            if tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await.is_err() {
                tracing::warn!(driver = %cfg.name, "did not exit within {} s of the switch to a new build; killing it", SHUTDOWN_GRACE.as_secs());
            }
            RunEnd::Restart
        }
        _ = shared.restart.notified() => {
            // Asked politely first, so it can leave its devices as they should be.
            let _ = link.call(None, Call::Shutdown, hb_timeout).await;
            if tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await.is_err() {
                tracing::warn!(driver = %cfg.name, "did not exit within {} s of the restart request; killing it", SHUTDOWN_GRACE.as_secs());
            }
            RunEnd::Restart
        }
        _ = shutdown.cancelled() => {
            if let Err(e) = link.call(None, Call::Shutdown, hb_timeout).await {
                tracing::warn!(driver = %cfg.name, "shutdown request failed: {e}");
            }
            if tokio::time::timeout(SHUTDOWN_GRACE, child.wait()).await.is_err() {
                tracing::warn!(driver = %cfg.name, "did not exit within {} s of shutdown; killing it", SHUTDOWN_GRACE.as_secs());
            }
            RunEnd::Shutdown
        }
    };
    // Down first, then fail the pending calls: whoever sees `Interrupted` also sees
    // the driver down, so it can tell a link fault from a device fault.
    shared.link.send_replace(None);
    link.fail_all();
    let _ = child.start_kill();
    let _ = child.wait().await;
    reader.abort();
    writer.abort();
    end
}

/// Resolves when run `n` must end because an update switched builds.
async fn switched(fresh: &mut watch::Receiver<u64>, n: u64) {
    // The guard `wait_for` returns must not live across an await (it is not Send).
    let _ = fresh.wait_for(|v| *v >= n).await;
}

/// SIGTERM to the driver's process group, SIGKILL after [`TERM_GRACE`].
async fn terminate(child: &mut tokio::process::Child, pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) has no memory-safety preconditions. The group is the
        // driver's own (spawned with process_group(0)), so helpers it forked go too.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        if tokio::time::timeout(TERM_GRACE, child.wait()).await.is_ok() {
            return;
        }
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.start_kill();
}

async fn stop(
    mut child: tokio::process::Child,
    writer: JoinHandle<()>,
    reader: Option<JoinHandle<()>>,
    reason: String,
) -> RunEnd {
    let _ = child.start_kill();
    let _ = child.wait().await;
    writer.abort();
    if let Some(r) = reader {
        r.abort();
    }
    RunEnd::Failed(reason)
}

fn check_devices(
    driver: &str,
    served: &[DeviceInfo],
    expected: Option<&Vec<(String, String)>>,
) -> Result<(), String> {
    let missing: Vec<String> = expected
        .into_iter()
        .flatten()
        .filter(|(dev, _)| !served.iter().any(|d| &d.name == dev))
        .map(|(dev, key)| format!("`{driver}/{dev}` (named by {key})"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let have: Vec<&str> = served.iter().map(|d| d.name.as_str()).collect();
    Err(format!(
        "does not serve {}; it serves [{}] — fix the device address in the config",
        missing.join(", "),
        have.join(", ")
    ))
}

async fn read_hello(
    stdout: &mut tokio::io::BufReader<tokio::process::ChildStdout>,
) -> Result<teld_driver_protocol::Hello, String> {
    let mut buf = Vec::new();
    match read_line(stdout, &mut buf).await {
        Ok(Some(())) => {}
        Ok(None) => return Err("the driver exited before saying hello".into()),
        Err(e) => return Err(e.to_string()),
    }
    match decode::<DriverMessage>(&buf) {
        Ok(DriverMessage::Hello(h)) => Ok(h),
        Ok(other) => Err(format!("first line must be hello, got {other:?}")),
        Err(e) => Err(format!("{e}; first line was: {}", preview(&buf))),
    }
}

async fn write_loop(mut stdin: tokio::process::ChildStdin, mut rx: mpsc::Receiver<DaemonMessage>) {
    while let Some(msg) = rx.recv().await {
        if write_message(&mut stdin, &msg).await.is_err() {
            return;
        }
    }
}

async fn read_loop(
    mut stdout: tokio::io::BufReader<tokio::process::ChildStdout>,
    link: Arc<Link>,
    shared: Arc<Shared>,
) {
    let mut buf = Vec::new();
    loop {
        match read_line(&mut stdout, &mut buf).await {
            Ok(Some(())) => {}
            Ok(None) | Err(ProtocolError::Io(_)) => return,
            Err(e) => {
                tracing::warn!(driver = %link.driver, "ignoring a bad line from the driver: {e}");
                continue;
            }
        }
        match decode::<DriverMessage>(&buf) {
            Ok(DriverMessage::Response(r)) => {
                let id = r.id;
                if !link.resolve(r) {
                    tracing::debug!(driver = %link.driver, id, "response nobody waits for (late after a timeout)");
                }
            }
            Ok(DriverMessage::Event(DriverEvent::State { device, state })) => {
                route_state(&shared, &device, &state)
            }
            Ok(DriverMessage::Event(DriverEvent::Alert { device, message })) => {
                let source = format!("{}/{}", link.driver, device.as_deref().unwrap_or("-"));
                tracing::warn!(driver = %link.driver, "alert from {source}: {message}");
                let at = shared.ctx.clock.now();
                shared.ctx.core.publish(Event::Alert { source, message, at });
            }
            Ok(DriverMessage::Hello(_)) => {
                tracing::warn!(driver = %link.driver, "ignoring a second hello")
            }
            Err(e) => tracing::warn!(
                driver = %link.driver,
                "ignoring a malformed line from the driver ({e}): {}",
                preview(&buf)
            ),
        }
    }
}

/// A `state` event from the driver: into the snapshot, and to waiters.
fn route_state(shared: &Shared, device: &str, state: &DeviceState) {
    snapshot_state(shared, device, state);
    mark_fault(shared, device, None);
    let _ = shared.states.send((device.to_string(), state.clone()));
}

fn snapshot_state(shared: &Shared, device: &str, state: &DeviceState) {
    let key = (shared.name.clone(), device.to_string());
    if let Some(telescopes) = shared.ctx.routes.get(&key) {
        shared.ctx.core.update(|s| {
            for t in telescopes {
                s.telescopes.entry(t.clone()).or_default().set_device(state.clone());
            }
        });
    }
}

async fn heartbeat(link: &Link, interval: Duration, timeout: Duration) -> String {
    loop {
        crate::liveness::sleep(interval).await;
        if let Err(e) = link.call(None, Call::Ping, timeout).await {
            return format!("missed its heartbeat ({e})");
        }
    }
}

/// Tells the driver when a manual (stepped) clock moves; running clocks need no help.
async fn forward_clock(link: &Link, clock: &Clock, timeout: Duration) {
    let Some(mut changes) = clock.manual_changes() else {
        return std::future::pending().await;
    };
    while changes.changed().await.is_ok() {
        if let Err(e) = link.call(None, Call::SetClock(clock.sync()), timeout).await {
            tracing::warn!(driver = %link.driver, "set_clock failed: {e}");
        }
    }
    std::future::pending().await
}

/// Marks a device faulted (with why) or, with `None`, answering again; logs the change.
fn mark_fault(shared: &Shared, device: &str, fault: Option<String>) {
    let name = &shared.name;
    shared.ctx.core.update(|s| {
        let Some(view) = s.drivers.get_mut(name) else { return };
        match fault {
            Some(why) => {
                if !view.faulted.contains_key(device) {
                    tracing::warn!(driver = %name, device, "device faulted: {why}");
                }
                view.faulted.insert(device.to_string(), why);
            }
            None => {
                if view.faulted.remove(device).is_some() {
                    tracing::info!(driver = %name, device, "device answers again");
                }
            }
        }
    });
}

fn set_view(
    shared: &Shared,
    cfg: &DriverConfig,
    status: DriverStatus,
    pid: Option<u32>,
    version: Option<String>,
    restarts: u32,
    last_error: Option<String>,
) {
    shared.ctx.core.update(|s| {
        let prev = s.drivers.get(&cfg.name);
        let prev_error = prev.and_then(|v| v.last_error.clone());
        let faulted = prev.map(|v| v.faulted.clone()).unwrap_or_default();
        s.drivers.insert(
            cfg.name.clone(),
            DriverView {
                kind: cfg.kind.clone(),
                status,
                pid,
                version,
                restarts,
                last_error: last_error.or(prev_error),
                faulted,
            },
        );
    });
}

fn preview(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(&line[..line.len().min(120)]).into_owned();
    if line.len() > 120 { format!("{s}…") } else { s }
}
