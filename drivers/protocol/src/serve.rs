//! The driver side of the protocol for drivers of real devices (Alpaca, LX200, MQTT):
//! handshake, heartbeat, answering requests, and state events from polling.
//!
//! A device call runs on a task of its own, so a device that hangs holds up only its
//! own request: pings are still answered (the daemon must not restart a healthy driver
//! because one device froze), and the daemon's request timeout and the driver's own
//! per-operation timeouts decide what happened. States are polled from the devices
//! every `state_interval_ms` and right after every call; a device that cannot be read
//! is reported with an `alert` once when it fails and once when it recovers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::codec::{decode, write_message};
pub use crate::input::Exit;
use crate::input::{Incoming, read_lines, recover_id};
use crate::{
    Call, ClockSync, Configure, DaemonMessage, DeviceInfo, DeviceState, DriverMessage, ErrorCode,
    Event, Hello, ProtocolError, Request, Response, SelfTest, SelfTestFailure,
};

/// The answer to a failed request: a code and a message that says what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: ErrorCode,
    pub message: String,
}

impl CallError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CallError { code, message: message.into() }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// One device's state as polled: the state, or why it could not be read.
pub type Polled = (String, Result<DeviceState, CallError>);

/// What a driver of real devices implements; [`serve`] does the rest.
pub trait Devices: Sized + Send + Sync + 'static {
    /// Connects to the devices named in the settings, reads their capabilities and
    /// answers with the device list. A device that cannot be reached fails this call
    /// with a message naming it (the daemon restarts the driver with backoff).
    fn configure(
        cfg: Configure,
    ) -> impl Future<Output = Result<(Self, Vec<DeviceInfo>), CallError>> + Send;

    /// Carries out one device call. `device` is one of the names from `configure`.
    fn call(
        &self,
        device: &str,
        call: Call,
    ) -> impl Future<Output = Result<Value, CallError>> + Send;

    /// Reads every device's state now.
    fn poll(&self) -> impl Future<Output = Vec<Polled>> + Send;

    /// Puts the devices in a safe state (close, park) before the driver exits.
    fn make_safe(&self) -> impl Future<Output = ()> + Send;

    /// The daemon's clock changed; drivers that set device time follow it.
    fn set_clock(&self, _sync: ClockSync) {}
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot write to the daemon (is it gone?): {0}")]
    Write(#[source] ProtocolError),
    #[error("cannot read from the daemon: {0}")]
    Read(#[source] std::io::Error),
}

type Out = mpsc::Sender<DriverMessage>;

/// Speaks the protocol on `reader`/`writer` for the devices of `D` until the daemon
/// leaves or asks to stop; the devices are made safe on every exit after `configure`.
pub async fn serve<D, R, W>(
    driver: &str,
    version: &str,
    reader: R,
    writer: W,
) -> Result<Exit, ServeError>
where
    D: Devices,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (out, out_rx) = mpsc::channel::<DriverMessage>(64);
    let writer_task = tokio::spawn(write_all(writer, out_rx));
    let (in_tx, mut incoming) = mpsc::channel(16);
    let reader_task = tokio::spawn(read_lines(reader, in_tx));
    let hello = Hello::new(driver, version);
    let mut session = Session::<D> { out: out.clone(), live: None, poke: Arc::new(Notify::new()) };
    let result = match out.send(DriverMessage::Hello(hello)).await {
        Ok(()) => session.run(&mut incoming).await,
        Err(_) => Err(ServeError::Write(ProtocolError::Io(std::io::ErrorKind::BrokenPipe.into()))),
    };
    reader_task.abort();
    if let Some(live) = &session.live {
        live.devices.make_safe().await;
        live.poller.abort();
    }
    drop(session);
    drop(out);
    let written = writer_task.await.unwrap_or(Ok(()));
    match (&result, written) {
        (Ok(exit), Ok(())) => tracing::info!(?exit, "{driver} driver stopping"),
        (Ok(_), Err(e)) => tracing::warn!("{driver} driver stopping; last lines not written: {e}"),
        (Err(e), _) => tracing::error!("{driver} driver stopping: {e}"),
    }
    result
}

struct Live<D> {
    devices: Arc<D>,
    heartbeat: Option<Duration>,
    poller: tokio::task::JoinHandle<()>,
}

struct Session<D> {
    out: Out,
    live: Option<Live<D>>,
    /// Wakes the poller after a call so state changes are reported at once.
    poke: Arc<Notify>,
}

impl<D: Devices> Session<D> {
    async fn send(&self, msg: DriverMessage) -> Result<(), ServeError> {
        let gone = || ServeError::Write(ProtocolError::Io(std::io::ErrorKind::BrokenPipe.into()));
        self.out.send(msg).await.map_err(|_| gone())
    }

    async fn run(&mut self, incoming: &mut mpsc::Receiver<Incoming>) -> Result<Exit, ServeError> {
        let mut last_heard = Instant::now();
        loop {
            let deadline = self.live.as_ref().and_then(|l| l.heartbeat).map(|hb| last_heard + hb);
            let msg = tokio::select! {
                msg = incoming.recv() => msg.unwrap_or(Incoming::End),
                () = sleep_until(deadline) => {
                    tracing::error!("heard nothing from the daemon: presuming it dead, making devices safe");
                    return Ok(Exit::HeartbeatLost);
                }
            };
            last_heard = Instant::now();
            match msg {
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
                Incoming::Failed(e) => return Err(ServeError::Read(e)),
            }
        }
    }

    async fn respond(&self, id: u64, result: Result<Value, CallError>) -> Result<(), ServeError> {
        self.send(DriverMessage::Response(response(id, result))).await
    }

    async fn handle_line(&mut self, line: &[u8]) -> Result<Option<Exit>, ServeError> {
        let req = match decode::<DaemonMessage>(line) {
            Ok(DaemonMessage::Request(req)) => req,
            Err(e) => {
                let shown = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
                tracing::warn!("unreadable line from the daemon ({e}): {shown}");
                if let Some(id) = recover_id(line) {
                    let msg = format!("request {id} could not be understood: {e}");
                    self.respond(id, Err(CallError::new(ErrorCode::BadRequest, msg))).await?;
                }
                return Ok(None);
            }
        };
        let Request { id, device, call } = req;
        match (device, call) {
            (None, Call::Ping) => self.respond(id, Ok(json!({}))).await?,
            (None, Call::Configure(cfg)) => self.configure(id, cfg).await?,
            (None, Call::SetClock(sync)) => {
                if let Some(live) = &self.live {
                    live.devices.set_clock(sync);
                }
                self.respond(id, Ok(json!({}))).await?;
            }
            (None, Call::SelfTest) => {
                let result = match &self.live {
                    Some(live) => Ok(self_test(live.devices.poll().await)),
                    None => Err(CallError::new(
                        ErrorCode::NotConnected,
                        "not connected: the daemon must send `configure` before `self_test`",
                    )),
                };
                self.respond(id, result).await?
            }
            (None, Call::Shutdown) => {
                if let Some(live) = &self.live {
                    live.devices.make_safe().await;
                }
                self.respond(id, Ok(json!({}))).await?;
                return Ok(Some(Exit::Shutdown));
            }
            (None, call) => {
                let msg = format!("`{}` is a device call: name the device", call.method());
                self.respond(id, Err(CallError::new(ErrorCode::BadRequest, msg))).await?;
            }
            (
                Some(dev),
                call @ (Call::Configure(_)
                | Call::Ping
                | Call::SetClock(_)
                | Call::Shutdown
                | Call::SelfTest),
            ) => {
                let msg = format!(
                    "`{}` is a driver-level call; send it without device `{dev}`",
                    call.method()
                );
                self.respond(id, Err(CallError::new(ErrorCode::BadRequest, msg))).await?;
            }
            (Some(dev), call) => self.device_call(id, dev, call).await?,
        }
        Ok(None)
    }

    async fn configure(&mut self, id: u64, cfg: Configure) -> Result<(), ServeError> {
        if self.live.is_some() {
            let msg = "already configured; restart the driver to change its settings";
            return self.respond(id, Err(CallError::new(ErrorCode::InvalidOperation, msg))).await;
        }
        let millis = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
        let (interval, heartbeat) =
            (millis(cfg.state_interval_ms), millis(cfg.heartbeat_timeout_ms));
        match D::configure(cfg).await {
            Ok((devices, infos)) => {
                let devices = Arc::new(devices);
                let poller = tokio::spawn(poll_states(
                    devices.clone(),
                    self.out.clone(),
                    self.poke.clone(),
                    interval.unwrap_or(Duration::from_secs(1)),
                ));
                self.live = Some(Live { devices, heartbeat, poller });
                self.respond(id, Ok(serde_json::to_value(infos).unwrap_or_default())).await
            }
            Err(e) => {
                tracing::error!("configure failed: {}", e.message);
                self.respond(id, Err(e)).await
            }
        }
    }

    async fn device_call(&self, id: u64, device: String, call: Call) -> Result<(), ServeError> {
        let Some(live) = &self.live else {
            let msg = "not connected: the daemon must send `configure` before any device call";
            return self.respond(id, Err(CallError::new(ErrorCode::NotConnected, msg))).await;
        };
        let (devices, out, poke) = (live.devices.clone(), self.out.clone(), self.poke.clone());
        tokio::spawn(async move {
            let method = call.method();
            let result = devices.call(&device, call).await;
            if let Err(e) = &result {
                tracing::info!(id, device, method, code = %e.code, "refused: {}", e.message);
            }
            let _ = out.send(DriverMessage::Response(response(id, result))).await;
            poke.notify_one();
        });
        Ok(())
    }
}

/// The default self-test: a device passes when its state can be read.
fn self_test(polled: Vec<Polled>) -> Value {
    let mut report = SelfTest::default();
    for (device, state) in polled {
        match state {
            Ok(_) => report.passed.push(device),
            Err(e) => report.failed.push(SelfTestFailure { device, why: e.message }),
        }
    }
    serde_json::to_value(report).unwrap_or_default()
}

fn response(id: u64, result: Result<Value, CallError>) -> Response {
    match result {
        Ok(v) => Response::ok(id, v),
        Err(e) => Response::err(id, e.code, e.message),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Polls every device, sends a `state` event for each change (every state at each
/// interval), and an `alert` when a device stops or starts answering.
async fn poll_states<D: Devices>(devices: Arc<D>, out: Out, poke: Arc<Notify>, interval: Duration) {
    let mut shown: HashMap<String, Option<DeviceState>> = HashMap::new();
    let mut next_full = Instant::now();
    loop {
        let full = Instant::now() >= next_full;
        if full {
            next_full = Instant::now() + interval;
        }
        for (device, polled) in devices.poll().await {
            let before = shown.get(&device).cloned();
            let event = match polled {
                Ok(state) => {
                    shown.insert(device.clone(), Some(state.clone()));
                    if let Some(None) = before {
                        let message = format!("{device} answers again");
                        tracing::info!("{message}");
                        let _ = out.send(alert(&device, message)).await;
                    }
                    (full || before.flatten().as_ref() != Some(&state))
                        .then_some(DriverMessage::Event(Event::State { device, state }))
                }
                Err(e) => {
                    shown.insert(device.clone(), None);
                    let newly = !matches!(before, Some(None));
                    newly.then(|| {
                        tracing::warn!(device, "cannot read state: {}", e.message);
                        alert(&device, format!("{device} cannot be read: {}", e.message))
                    })
                }
            };
            if let Some(event) = event
                && out.send(event).await.is_err()
            {
                return;
            }
        }
        tokio::select! {
            () = poke.notified() => {}
            () = tokio::time::sleep_until(next_full) => {}
        }
    }
}

fn alert(device: &str, message: String) -> DriverMessage {
    DriverMessage::Event(Event::Alert { device: Some(device.to_string()), message })
}

async fn write_all<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<DriverMessage>,
) -> Result<(), ProtocolError> {
    while let Some(msg) = rx.recv().await {
        write_message(&mut writer, &msg).await?;
    }
    Ok(())
}
