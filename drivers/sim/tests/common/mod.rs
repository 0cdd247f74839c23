//! A minimal daemon side of the driver protocol for tests: sends requests, collects
//! events, and waits for conditions with deadlines instead of fixed sleeps.

#![allow(dead_code)] // each test file uses a different part

use std::collections::VecDeque;
use std::time::Duration;

use hifitime::Epoch;
use serde_json::{Value, json};
use teld_driver_protocol::codec::{decode, read_line, write_message};
use teld_driver_protocol::{
    Call, ClockSync, Configure, DaemonMessage, DeviceState, DriverMessage, Event, Request,
    Response, call::Site,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

/// How long any single expectation may take in real time. Generous: CI machines are
/// slow and shared, and a passing test never waits this long.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn la_palma() -> Site {
    Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
}

/// 23:00 UTC on the demo night: the Sun is 50° down at La Palma.
pub fn night() -> Epoch {
    teld_driver_protocol::time::parse_utc("2026-11-24T23:00:00").unwrap()
}

pub fn configure(
    settings: Value,
    utc: Epoch,
    speed: f64,
    spool_dir: &str,
    heartbeat_ms: u64,
) -> Call {
    Call::Configure(Configure {
        settings,
        clock: ClockSync { utc, speed },
        site: la_palma(),
        spool_dir: spool_dir.to_string(),
        state_interval_ms: 1000,
        heartbeat_timeout_ms: heartbeat_ms,
    })
}

/// RA in hours of the meridian at `t` (rounded so it is a valid request value).
pub fn meridian_ra_hours(t: Epoch) -> f64 {
    let lst = teld_astro::sidereal::lmst_deg(teld_astro::jd_utc(t), la_palma().longitude_deg);
    ((lst / 15.0) * 1e4).round() / 1e4 % 24.0
}

pub struct Client<R, W> {
    reader: BufReader<R>,
    /// `None` once closed: a child's stdin only reaches EOF when its handle is dropped.
    writer: Option<W>,
    next_id: u64,
    /// Messages read while looking for something else.
    backlog: VecDeque<DriverMessage>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    pub fn new(reader: R, writer: W) -> Self {
        Client {
            reader: BufReader::new(reader),
            writer: Some(writer),
            next_id: 1,
            backlog: VecDeque::new(),
        }
    }

    /// Next message from the driver, `None` at end of stream.
    async fn read(&mut self) -> Option<DriverMessage> {
        let mut buf = Vec::new();
        let got = tokio::time::timeout(PATIENCE, read_line(&mut self.reader, &mut buf))
            .await
            .expect("driver said nothing in time")
            .expect("driver output is readable");
        got.map(|()| {
            decode(&buf).unwrap_or_else(|e| {
                panic!("driver wrote a non-protocol line ({e}): {}", String::from_utf8_lossy(&buf))
            })
        })
    }

    pub async fn next(&mut self) -> DriverMessage {
        match self.backlog.pop_front() {
            Some(m) => m,
            None => self.read().await.expect("driver closed its output"),
        }
    }

    pub async fn send_raw(&mut self, line: &str) {
        let w = self.writer.as_mut().expect("not closed");
        w.write_all(line.as_bytes()).await.unwrap();
        w.write_all(b"\n").await.unwrap();
        w.flush().await.unwrap();
    }

    pub async fn send(&mut self, device: Option<&str>, call: Call) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let req = DaemonMessage::Request(Request { id, device: device.map(str::to_string), call });
        write_message(self.writer.as_mut().expect("not closed"), &req).await.unwrap();
        id
    }

    /// Waits for the response to `id`, keeping events for later.
    pub async fn response(&mut self, id: u64) -> Response {
        if let Some(pos) =
            self.backlog.iter().position(|m| matches!(m, DriverMessage::Response(r) if r.id == id))
        {
            let Some(DriverMessage::Response(r)) = self.backlog.remove(pos) else { unreachable!() };
            return r;
        }
        loop {
            match self.read().await.expect("driver closed its output") {
                DriverMessage::Response(r) if r.id == id => return r,
                other => self.backlog.push_back(other),
            }
        }
    }

    pub async fn call(&mut self, device: Option<&str>, call: Call) -> Response {
        let id = self.send(device, call).await;
        self.response(id).await
    }

    /// Calls and insists on success.
    pub async fn ok(&mut self, device: Option<&str>, call: Call) -> Value {
        let what = format!("{device:?} {}", call.method());
        let r = self.call(device, call).await;
        match (r.result, r.error) {
            (Some(v), None) => v,
            (_, e) => panic!("{what} failed: {e:?}"),
        }
    }

    /// The first event (backlog first) matching `pred`; everything before it is dropped.
    pub async fn event(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.next())
                .await
                .unwrap_or_else(|_| panic!("no event: {what}"));
            if let DriverMessage::Event(e) = msg
                && pred(&e)
            {
                return e;
            }
        }
    }

    /// The first state event for `device` whose state satisfies `pred`.
    pub async fn state(
        &mut self,
        device: &str,
        what: &str,
        pred: impl Fn(&DeviceState) -> bool,
    ) -> DeviceState {
        let ev = self
            .event(
                what,
                |e| matches!(e, Event::State { device: d, state } if d == device && pred(state)),
            )
            .await;
        match ev {
            Event::State { state, .. } => state,
            _ => unreachable!(),
        }
    }

    pub async fn hello(&mut self) -> teld_driver_protocol::Hello {
        match self.next().await {
            DriverMessage::Hello(h) => h,
            other => panic!("expected hello first, got {other:?}"),
        }
    }

    /// Closes the daemon's side of stdin.
    pub async fn close(&mut self) {
        if let Some(mut w) = self.writer.take() {
            w.shutdown().await.unwrap();
        }
    }

    /// Drains output until the driver closes it.
    pub async fn until_closed(&mut self) -> Vec<DriverMessage> {
        let mut all: Vec<DriverMessage> = self.backlog.drain(..).collect();
        while let Some(m) = self.read().await {
            all.push(m);
        }
        all
    }
}

pub fn empty() -> Value {
    json!({})
}
