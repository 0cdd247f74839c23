#![no_main]
//! The driver protocol as both ends read it: a byte stream cut into lines by the
//! bounded line reader, each line decoded as what a driver reads (`DaemonMessage`)
//! and what the daemon reads (`DriverMessage`), ids recovered from lines that are
//! not requests, a decoded message written back with the real writer and read
//! again, and what a driver does first with a `configure` or `set_clock`: follow
//! the clock and read its settings.

use std::fmt::Debug;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use teld_driver_protocol::codec::{decode, read_line, write_message};
use teld_driver_protocol::input::recover_id;
use teld_driver_protocol::{Call, ClockSync, DaemonMessage, DriverClock, DriverMessage, Request};

/// Polls a future over in-memory I/O, which never waits.
fn ready<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("in-memory I/O is always ready"),
    }
}

fuzz_target!(|data: &[u8]| {
    // A small buffer, so lines straddle refills as they do on a pipe.
    let mut reader = tokio::io::BufReader::with_capacity(16, data);
    let mut buf = Vec::new();
    loop {
        match ready(read_line(&mut reader, &mut buf)) {
            Ok(None) => break,
            Ok(Some(())) => line(&buf),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});

fn line(l: &[u8]) {
    match decode::<DaemonMessage>(l) {
        Ok(m) => {
            round_trip(&m);
            let DaemonMessage::Request(Request { call, .. }) = m;
            match call {
                Call::SetClock(sync) => follow(sync),
                Call::Configure(c) => {
                    follow(c.clock);
                    let _ = teld_driver_lx200::settings::Settings::from_json(&c.settings)
                        .map_err(|e| e.to_string());
                    let _ = teld_driver_alpaca::settings::Settings::from_json(&c.settings)
                        .map_err(|e| e.to_string());
                }
                _ => {}
            }
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = recover_id(l);
        }
    }
    match decode::<DriverMessage>(l) {
        Ok(m) => round_trip(&m),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn follow(sync: ClockSync) {
    let clock = DriverClock::new(sync);
    let now = clock.now();
    let _ = clock.real_until(now);
    let _ = teld_driver_protocol::time::format_utc(now);
}

/// What one side writes, the other must read as the same message: written again,
/// it is the same line. (Compared as text, not values: the wire carries instants to
/// the microsecond, so a finer one read from a peer is legitimately truncated once.)
fn round_trip<T: Serialize + DeserializeOwned + Debug>(m: &T) {
    let first = written(m);
    let back: T = decode(&first).unwrap_or_else(|e| {
        panic!("{m:?} written as {} does not read back: {e}", String::from_utf8_lossy(&first))
    });
    let second = written(&back);
    assert_eq!(
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second),
        "{m:?} changes when read back"
    );
}

fn written<T: Serialize>(m: &T) -> Vec<u8> {
    let mut out = Vec::new();
    ready(write_message(&mut out, m)).expect("writing to memory cannot fail");
    assert_eq!(out.pop(), Some(b'\n'), "a message is one line");
    out
}
