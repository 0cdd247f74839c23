//! The message loop: handshake, requests and responses, state events, the heartbeat.
//!
//! One task owns the observatory. It sleeps until the earliest of: a line from the
//! daemon, the next simulated instant at which a device changes by itself (converted
//! to real time by the [`DriverClock`]), the next periodic state report, and the
//! heartbeat deadline. On waking it first brings the simulation up to the clock's
//! `now`, stepping through every transition in order so none is skipped even when
//! the clock jumps, and reports each device whose state changed.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use hifitime::Epoch;
use serde_json::{Value, json};
use teld_driver_protocol::codec::{decode, write_message};
pub use teld_driver_protocol::input::Exit;
use teld_driver_protocol::input::{Incoming, read_lines, recover_id};
use teld_driver_protocol::{
    Call, ClockSync, Configure, DaemonMessage, DeviceState, DriverClock, DriverMessage, ErrorCode,
    Event, Hello, ProtocolError, Request, Response, SelfTest, SelfTestFailure,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::CallError;
use crate::observatory::{Observatory, Outcome};
use crate::settings::Settings;
use crate::spool::Spool;

/// Lines buffered between the reader task and the loop; the daemon waits for answers,
/// so a handful is plenty.
const INCOMING_QUEUE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot write to the daemon (is it gone?): {0}")]
    Write(#[source] ProtocolError),
    #[error("cannot read from the daemon: {0}")]
    Read(#[source] std::io::Error),
}

/// Who this driver says it is. Tests and the update demo publish "new versions" as
/// signed wrapper scripts around the same binary; these hidden options let such a
/// wrapper report the version and commit its metadata promises.
#[derive(Debug, Clone)]
pub struct Identity {
    pub version: String,
    pub git_sha: Option<String>,
    /// Devices whose `self_test` fails on purpose (to test update rollback).
    pub fail_self_test: Vec<String>,
}

/// The version this build reports: `TELD_DRIVER_VERSION` at build time (how a release
/// job or the README's update demo builds "the next version" without editing
/// Cargo.toml), else the crate's own.
pub const VERSION: &str = match option_env!("TELD_DRIVER_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

impl Default for Identity {
    fn default() -> Self {
        Identity {
            version: VERSION.into(),
            git_sha: teld_driver_protocol::GIT_SHA.map(str::to_string),
            fail_self_test: Vec::new(),
        }
    }
}

impl Identity {
    /// Reads `--report-version V`, `--report-git-sha S` and `--fail-self-test DEVICE`
    /// from the command line; anything else is refused with a message.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut id = Identity::default();
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--report-version" => id.version = value()?,
                "--report-git-sha" => id.git_sha = Some(value()?),
                "--fail-self-test" => id.fail_self_test.push(value()?),
                other => {
                    return Err(format!(
                        "unknown argument `{other}`: the sim driver takes its settings from teld's `configure`"
                    ));
                }
            }
        }
        Ok(id)
    }
}

/// Speaks the driver protocol on `reader`/`writer` until the daemon leaves or asks us
/// to stop. Devices are left safe (shutter closing, mount parking) on every exit.
pub async fn run<R, W>(reader: R, writer: W) -> Result<Exit, DriverError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    run_as(reader, writer, Identity::default()).await
}

/// [`run`] reporting `identity` in `hello` and `self_test`.
pub async fn run_as<R, W>(reader: R, writer: W, identity: Identity) -> Result<Exit, DriverError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin,
{
    let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
    let reader_task = tokio::spawn(read_lines(reader, tx));
    let mut driver = Driver { out: writer, live: None, last_heard: Instant::now(), identity };
    let result = driver.serve(rx).await;
    reader_task.abort();
    if let Some(live) = &mut driver.live {
        let now = live.clock.now();
        let left = live.obs.make_safe(now);
        tracing::info!("devices left safe: {left}");
    }
    match &result {
        Ok(exit) => tracing::info!(?exit, "sim driver stopping"),
        Err(e) => tracing::error!("sim driver stopping: {e}"),
    }
    result
}

/// Everything that exists once `configure` has been answered.
struct Live {
    clock: DriverClock,
    obs: Observatory,
    /// Simulated instant up to which transitions have been applied and reported.
    cursor: Epoch,
    /// Last reported state of each device with its continuous values blanked out.
    shown: HashMap<&'static str, DeviceState>,
    state_interval: Option<StdDuration>,
    next_periodic: Instant,
    heartbeat: Option<StdDuration>,
}

struct Driver<W> {
    out: W,
    live: Option<Live>,
    last_heard: Instant,
    identity: Identity,
}

impl<W: AsyncWrite + Unpin> Driver<W> {
    async fn send(&mut self, msg: DriverMessage) -> Result<(), DriverError> {
        write_message(&mut self.out, &msg).await.map_err(DriverError::Write)
    }

    async fn serve(&mut self, mut rx: mpsc::Receiver<Incoming>) -> Result<Exit, DriverError> {
        let mut hello = Hello::new("sim", &self.identity.version);
        hello.git_sha = self.identity.git_sha.clone();
        self.send(DriverMessage::Hello(hello)).await?;
        loop {
            self.catch_up().await?;
            if let Some(exit) = self.timers().await? {
                return Ok(exit);
            }
            let deadline = self.deadline();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let incoming = tokio::select! {
                msg = rx.recv() => msg.unwrap_or(Incoming::End),
                () = sleep => continue,
            };
            self.last_heard = Instant::now();
            match incoming {
                Incoming::Line(line) => {
                    if let Some(exit) = self.handle_line(&line).await? {
                        return Ok(exit);
                    }
                }
                Incoming::Bad(e) => tracing::warn!("ignored a line from the daemon: {e}"),
                Incoming::End => {
                    tracing::info!("the daemon closed stdin");
                    return Ok(Exit::EndOfInput);
                }
                Incoming::Failed(e) => return Err(DriverError::Read(e)),
            }
        }
    }

    /// Periodic state reports and the heartbeat check.
    async fn timers(&mut self) -> Result<Option<Exit>, DriverError> {
        let Some(live) = &mut self.live else { return Ok(None) };
        let real_now = Instant::now();
        if let Some(hb) = live.heartbeat
            && real_now >= self.last_heard + hb
        {
            tracing::error!(
                "heard nothing from the daemon for {} ms: presuming it dead, making devices safe",
                hb.as_millis()
            );
            return Ok(Some(Exit::HeartbeatLost));
        }
        if let Some(interval) = live.state_interval
            && real_now >= live.next_periodic
        {
            live.next_periodic = real_now + interval;
            let now = live.cursor;
            self.report(now, true).await?;
        }
        Ok(None)
    }

    /// The real instant to wake at if no line arrives first.
    fn deadline(&self) -> Option<Instant> {
        let live = self.live.as_ref()?;
        let next_change = live
            .obs
            .next_change_after(live.cursor)
            .and_then(|t| live.clock.real_until(t))
            .map(|d| Instant::now() + d);
        let periodic = live.state_interval.map(|_| live.next_periodic);
        let heartbeat = live.heartbeat.map(|hb| self.last_heard + hb);
        [next_change, periodic, heartbeat].into_iter().flatten().min()
    }

    /// Brings the simulation to the clock's `now`, reporting every change on the way.
    async fn catch_up(&mut self) -> Result<(), DriverError> {
        let Some(live) = self.live.as_mut() else { return Ok(()) };
        let now = live.clock.now();
        if now < live.cursor {
            tracing::warn!("the daemon's clock went back; devices carry on from their state");
            live.obs.rebase(live.cursor, now);
            live.cursor = now;
        }
        loop {
            let live = self.live.as_mut().expect("configured");
            let Some(t) = live.obs.next_change_after(live.cursor).filter(|t| *t <= now) else {
                break;
            };
            live.obs.settle(t);
            live.cursor = t;
            self.report(t, false).await?;
        }
        let live = self.live.as_mut().expect("configured");
        live.obs.settle(now);
        live.cursor = now;
        self.report(now, false).await
    }

    /// Sends the state of every device that changed since last reported (or of all of
    /// them when `all`), and an alert when the weather turns.
    async fn report(&mut self, t: Epoch, all: bool) -> Result<(), DriverError> {
        let Some(live) = &mut self.live else { return Ok(()) };
        let mut messages = Vec::new();
        for (name, state) in live.obs.states(t) {
            let key = discrete(&state);
            let before = live.shown.insert(name, key.clone());
            if before.as_ref() == Some(&key) && !all {
                continue;
            }
            if let (DeviceState::Weather(new), Some(DeviceState::Weather(old))) = (&state, &before)
                && new.is_safe != old.is_safe
            {
                let message = live.obs.weather_alert(t);
                tracing::warn!("{message}");
                messages.push(Event::Alert { device: Some(name.to_string()), message });
            }
            tracing::debug!(device = name, ?state, "state");
            messages.push(Event::State { device: name.to_string(), state });
        }
        for event in messages {
            self.send(DriverMessage::Event(event)).await?;
        }
        Ok(())
    }

    async fn respond(
        &mut self,
        id: u64,
        result: Result<Value, CallError>,
    ) -> Result<(), DriverError> {
        let response = match result {
            Ok(v) => Response::ok(id, v),
            Err(e) => {
                tracing::info!(id, code = %e.code, "refused: {}", e.message);
                Response::err(id, e.code, e.message)
            }
        };
        self.send(DriverMessage::Response(response)).await
    }

    async fn handle_line(&mut self, line: &[u8]) -> Result<Option<Exit>, DriverError> {
        match decode::<DaemonMessage>(line) {
            Ok(DaemonMessage::Request(req)) => self.handle_request(req).await,
            Err(e) => {
                let shown = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
                tracing::warn!("unreadable line from the daemon ({e}): {shown}");
                if let Some(id) = recover_id(line) {
                    let msg = format!("request {id} could not be understood: {e}");
                    self.respond(id, Err(CallError::new(ErrorCode::BadRequest, msg))).await?;
                }
                Ok(None)
            }
        }
    }

    async fn handle_request(&mut self, req: Request) -> Result<Option<Exit>, DriverError> {
        let Request { id, device, call } = req;
        tracing::debug!(id, ?device, method = call.method(), "request");
        let driver_level = matches!(
            call,
            Call::Configure(_) | Call::Ping | Call::SetClock(_) | Call::Shutdown | Call::SelfTest
        );
        match (device, call) {
            (None, Call::Ping) => self.respond(id, Ok(json!({}))).await?,
            (None, Call::Configure(cfg)) => {
                let result = self.configure(cfg);
                let ok = result.is_ok();
                self.respond(id, result).await?;
                if ok {
                    let now = self.live.as_ref().expect("configured").cursor;
                    self.report(now, true).await?;
                    self.alert_if_unsafe(now).await?;
                }
            }
            (None, Call::SetClock(sync)) => {
                let result = self.set_clock(sync);
                self.respond(id, result).await?;
            }
            (None, Call::SelfTest) => {
                let result = self.self_test();
                self.respond(id, result).await?;
            }
            (None, Call::Shutdown) => {
                if let Some(live) = &mut self.live {
                    let now = live.clock.now();
                    live.obs.make_safe(now);
                    self.report(now, false).await?;
                }
                self.respond(id, Ok(json!({}))).await?;
                return Ok(Some(Exit::Shutdown));
            }
            (None, call) => {
                let msg = format!(
                    "`{}` is a device call: name the device (mount, camera, dome or weather)",
                    call.method()
                );
                self.respond(id, Err(CallError::new(ErrorCode::BadRequest, msg))).await?;
            }
            (Some(dev), call) if driver_level => {
                let msg = format!(
                    "`{}` is a driver-level call; send it without device `{dev}`",
                    call.method()
                );
                self.respond(id, Err(CallError::new(ErrorCode::BadRequest, msg))).await?;
            }
            (Some(dev), call) => self.device_call(id, &dev, call).await?,
        }
        Ok(None)
    }

    async fn device_call(&mut self, id: u64, device: &str, call: Call) -> Result<(), DriverError> {
        if self.live.is_none() {
            let msg = "not connected: the daemon must send `configure` before any device call";
            return self.respond(id, Err(CallError::new(ErrorCode::NotConnected, msg))).await;
        }
        self.catch_up().await?;
        let live = self.live.as_mut().expect("checked above");
        let now = live.cursor;
        match live.obs.call(device, call, now) {
            Ok(Outcome::Done(v)) => self.respond(id, Ok(v)).await?,
            Ok(Outcome::Read(job)) => {
                let written = tokio::task::spawn_blocking(move || job.run()).await;
                let result = match written {
                    Ok(Ok(info)) => Ok(serde_json::to_value(info).unwrap_or_default()),
                    Ok(Err(e)) => Err(e.into()),
                    Err(e) => Err(CallError::new(
                        ErrorCode::DeviceFault,
                        format!("image rendering failed: {e}"),
                    )),
                };
                self.respond(id, result).await?;
            }
            Err(e) => self.respond(id, Err(e)).await?,
        }
        // Report what the call changed, at the instant it took effect.
        self.report(now, false).await
    }

    fn configure(&mut self, cfg: Configure) -> Result<Value, CallError> {
        if self.live.is_some() {
            return Err(CallError::new(
                ErrorCode::InvalidOperation,
                "already configured; restart the driver to change its settings",
            ));
        }
        let settings = Settings::from_json(&cfg.settings)
            .map_err(|e| CallError::new(ErrorCode::InvalidValue, e.to_string()))?;
        let spool = Spool::open(&cfg.spool_dir).map_err(CallError::from)?;
        let site = teld_astro::Site {
            latitude_deg: cfg.site.latitude_deg,
            longitude_deg: cfg.site.longitude_deg,
            height_m: cfg.site.height_m,
        };
        let clock = DriverClock::new(cfg.clock);
        let now = clock.now();
        let obs = Observatory::new(settings, site, spool, now);
        let infos = obs.device_infos();
        let millis = |ms: u64| (ms > 0).then(|| StdDuration::from_millis(ms));
        let state_interval = millis(cfg.state_interval_ms);
        tracing::info!(
            latitude = site.latitude_deg,
            longitude = site.longitude_deg,
            speed = cfg.clock.speed,
            utc = %teld_driver_protocol::time::format_utc(now),
            "configured: mount, camera, dome, weather"
        );
        self.live = Some(Live {
            clock,
            obs,
            cursor: now,
            shown: HashMap::new(),
            state_interval,
            next_periodic: Instant::now() + state_interval.unwrap_or_default(),
            heartbeat: millis(cfg.heartbeat_timeout_ms),
        });
        Ok(serde_json::to_value(infos).unwrap_or_default())
    }

    /// Every simulated device can always be read, so each passes unless told to fail.
    fn self_test(&self) -> Result<Value, CallError> {
        let live = self.live.as_ref().ok_or_else(|| {
            CallError::new(
                ErrorCode::NotConnected,
                "not connected: send `configure` before `self_test`",
            )
        })?;
        let mut report = SelfTest::default();
        for (name, _) in live.obs.states(live.cursor) {
            if self.identity.fail_self_test.iter().any(|d| d == name) {
                let why = "told to fail by --fail-self-test".to_string();
                report.failed.push(SelfTestFailure { device: name.to_string(), why });
            } else {
                report.passed.push(name.to_string());
            }
        }
        Ok(serde_json::to_value(report).unwrap_or_default())
    }

    fn set_clock(&mut self, sync: ClockSync) -> Result<Value, CallError> {
        let live = self.live.as_mut().ok_or_else(|| {
            CallError::new(
                ErrorCode::NotConnected,
                "not connected: send `configure` before `set_clock`",
            )
        })?;
        live.clock.sync(sync);
        tracing::info!(utc = %teld_driver_protocol::time::format_utc(sync.utc), speed = sync.speed, "clock set");
        Ok(json!({}))
    }

    async fn alert_if_unsafe(&mut self, now: Epoch) -> Result<(), DriverError> {
        let Some(live) = &self.live else { return Ok(()) };
        let unsafe_now =
            matches!(live.shown.get("weather"), Some(DeviceState::Weather(w)) if !w.is_safe);
        if unsafe_now {
            let message = live.obs.weather_alert(now);
            self.send(DriverMessage::Event(Event::Alert {
                device: Some("weather".into()),
                message,
            }))
            .await?;
        }
        Ok(())
    }
}

/// A state with its continuously varying values blanked, so comparing two tells
/// whether something the daemon acts on changed (slewing, shutter, image ready…).
fn discrete(state: &DeviceState) -> DeviceState {
    let mut s = state.clone();
    match &mut s {
        DeviceState::Mount(m) => {
            m.right_ascension = 0.0;
            m.declination = 0.0;
            m.altitude = 0.0;
            m.azimuth = 0.0;
        }
        DeviceState::Camera(c) => c.percent_completed = 0,
        DeviceState::Dome(_) | DeviceState::FilterWheel(_) => {}
        DeviceState::Focuser(f) => {
            // Reported while it moves by the periodic report, like the mount's position.
            if f.is_moving {
                f.position = None;
            }
            f.temperature = None;
        }
        DeviceState::Weather(w) => {
            *w = teld_driver_protocol::WeatherState {
                connected: w.connected,
                is_safe: w.is_safe,
                cloud_cover: None,
                humidity: None,
                rain_rate: None,
                wind_speed: None,
                temperature: None,
                pressure: None,
                sky_quality: None,
            }
        }
    }
    s
}
