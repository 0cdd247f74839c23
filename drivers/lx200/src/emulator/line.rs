//! The emulator's end of the serial line: splits the byte stream into commands,
//! answers them at the emulated line rate, and carries out injected faults.
//!
//! A pseudo-terminal has no baud rate: bytes cross it at memory speed. A real 9600
//! baud line moves one byte per 10 bit times (start, 8 data, stop), so the emulator
//! holds each command until its last byte would have arrived, and each answer until
//! its last byte would have left — round trips take as long as on the real wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, sleep_until};
use tokio_serial::SerialStream;

use super::commands::{Firmware, ack, answer};
use super::model::Model;

/// Bytes prefixed to an answer by [`Faults::garbage`]: control characters, a stray
/// `#` and half an answer, the kinds of thing line noise and a wrong speed produce.
pub const GARBAGE: &[u8] = b"\xff\x00\x13zq#7\x8e12:";

/// Faults injected by tests or the operator; each `*_next` applies to that many of
/// the following answers.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Neither act on nor answer anything (a hung controller).
    pub frozen: bool,
    pub drop_next: u32,
    pub partial_next: u32,
    pub garbage_next: u32,
    /// ACKs seen: each one is a resynchronisation by the driver.
    pub acks: u64,
    pub commands: u64,
}

pub struct Shared {
    pub model: Mutex<Model>,
    pub faults: Mutex<Faults>,
    pub firmware: Firmware,
    /// 10 / baud; zero for an instant line.
    pub byte_time: Duration,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves one plugged-in pty until the task is aborted (unplug). `_slave` is held so
/// the line stays up between driver sessions (a pty master reads EIO otherwise).
pub async fn serve(mut master: SerialStream, _slave: SerialStream, shared: Arc<Shared>) {
    let mut buf = [0u8; 256];
    let mut command: Option<Vec<u8>> = None;
    let (mut rx_free, mut tx_free) = (Instant::now(), Instant::now());
    loop {
        let n = match master.read(&mut buf).await {
            Ok(0) | Err(_) => {
                // Nobody on the other end right now; look again shortly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            rx_free = rx_free.max(Instant::now()) + shared.byte_time;
            let done = match (&mut command, b) {
                (None, 0x06) => Some(None),
                (None, b':') => {
                    command = Some(Vec::new());
                    None
                }
                (None, _) => None, // noise between commands: ignored, as the firmware does
                (Some(c), b'#') => Some(Some(std::mem::take(c))),
                (Some(c), b) => {
                    c.push(b);
                    if c.len() > 32 {
                        command = None; // no command is this long: resynchronise on ':'
                    }
                    None
                }
            };
            let Some(cmd) = done else { continue };
            command = None;
            let reply = {
                let mut f = lock(&shared.faults);
                if f.frozen {
                    continue;
                }
                f.commands += 1;
                match &cmd {
                    None => {
                        f.acks += 1;
                        Some(ack(shared.firmware).to_string())
                    }
                    Some(body) => {
                        let body = String::from_utf8_lossy(body).into_owned();
                        answer(&mut lock(&shared.model), shared.firmware, &body)
                    }
                }
            };
            let Some(reply) = reply.map(String::into_bytes) else { continue };
            let Some(bytes) = apply_faults(&shared, reply) else { continue };
            // The answer starts once the command's last byte has arrived (one timer
            // wait for both directions: each wait rounds up to the timer's 1 ms tick).
            tx_free =
                tx_free.max(rx_free).max(Instant::now()) + shared.byte_time * bytes.len() as u32;
            sleep_until(tx_free).await;
            if master.write_all(&bytes).await.is_err() {
                continue;
            }
            let _ = master.flush().await;
        }
    }
}

fn apply_faults(shared: &Shared, reply: Vec<u8>) -> Option<Vec<u8>> {
    let mut f = lock(&shared.faults);
    if f.drop_next > 0 {
        f.drop_next -= 1;
        return None;
    }
    if f.partial_next > 0 {
        f.partial_next -= 1;
        let keep = reply.len().div_ceil(2).min(reply.len().saturating_sub(1)).max(1);
        return Some(reply[..keep.min(reply.len())].to_vec());
    }
    if f.garbage_next > 0 {
        f.garbage_next -= 1;
        let mut g = GARBAGE.to_vec();
        g.extend(reply);
        return Some(g);
    }
    Some(reply)
}
