//! The serial line: one command, one answer, each within a deadline (which bytes
//! make up the answer is [`crate::framing`]).
//!
//! LX200 answers come in a few shapes (nothing; one character; text up to `#`; `0` or
//! a digit plus a message; `1` then two `#` strings for `:SC`), and nothing on the
//! line says which command an answer belongs to. So after anything unexpected — a
//! timeout, a partial answer, bytes that cannot be part of an answer — the line is
//! presumed out of step: before the next command the driver discards input until the
//! line is quiet and sends ACK (0x06), which every LX200 answers with one letter (its
//! alignment mode), until that comes back clean. Input is also flushed before every
//! command, so a late answer can never be taken for the next one's.
//!
//! A read or write error, or end of file, means the port itself is gone (USB
//! unplugged, a pty's other end closed): [`Lx200Error::Gone`].

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use tokio_serial::{ClearBuffer, SerialPort, SerialPortBuilderExt, SerialStream};

use crate::error::Lx200Error;
use crate::framing::{Framer, Next, Overlong, Unreadable, Wait};

/// ASCII ACK: LX200 mounts answer it with one letter, their alignment mode
/// (`A` alt-az, `P` polar, `G` German, `L` land), making it the cheapest probe.
pub const ACK: u8 = 0x06;
/// Line quiet this long (plus a few byte times) after garbage means the rest of a
/// stray answer has drained. Meade firmware sends an answer without gaps.
const QUIET: Duration = Duration::from_millis(30);
/// ACK probes per resynchronisation before giving up until the next command.
const RESYNC_TRIES: usize = 3;

/// What the command answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Nothing (`:Q#`, `:U#`, `:CM#` on some firmware is Text).
    Nothing,
    /// One character, no `#` (`:Sr` → `1`/`0`).
    Char,
    /// Text terminated by `#` (returned without it).
    Text,
    /// `:MS#`: `0`, or a digit then a message up to `#` (returned together).
    Goto,
    /// `:SC`: `0`, or `1` then `strings` `#`-terminated texts (classic Meade's
    /// "Updating planetary data"); returns the first character.
    Date { strings: usize },
}

pub struct Port {
    stream: SerialStream,
    path: String,
    timeout: Duration,
    /// Ten bits per byte (start, 8 data, stop) at the line speed.
    byte_time: Duration,
    pending: VecDeque<u8>,
    /// The last exchange went wrong: resynchronise before the next.
    dirty: bool,
    /// The mount went silent (timeouts) ...
    silent: bool,
    /// ... and answers again: it may have been power-cycled behind a USB adapter
    /// that stayed plugged in, forgetting precision, site and time.
    revived: bool,
}

/// A command as people write it: the bare ACK byte is invisible in a message.
fn shown(command: &str) -> String {
    if command == "\u{6}" { "ACK (0x06)".into() } else { command.to_string() }
}

fn gone(path: &str, e: impl std::fmt::Display) -> Lx200Error {
    Lx200Error::Gone { path: path.to_string(), reason: e.to_string() }
}

impl Port {
    pub fn open(path: &str, baud: u32, timeout: Duration) -> Result<Port, Lx200Error> {
        let stream = tokio_serial::new(path, baud)
            .timeout(timeout)
            .open_native_async()
            .map_err(|e| Lx200Error::Open { path: path.to_string(), reason: e.to_string() })?;
        let byte_time = Duration::from_secs_f64(10.0 / f64::from(baud));
        Ok(Port {
            stream,
            path: path.to_string(),
            timeout,
            byte_time,
            pending: VecDeque::new(),
            dirty: true, // whatever a previous user left on the line
            silent: false,
            revived: false,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// True once after the mount answered again following a silence.
    pub fn take_revived(&mut self) -> bool {
        std::mem::take(&mut self.revived)
    }

    /// An answer was well framed but meant nothing (e.g. `zz:00:00`): the line may
    /// be out of step, so resynchronise before the next command.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Sends `command` (e.g. `:GR#`) and reads its answer.
    pub async fn command(&mut self, command: &str, reply: Reply) -> Result<String, Lx200Error> {
        if self.dirty {
            self.resync().await?;
        }
        let result = self.exchange(command, reply).await;
        match &result {
            Ok(answer) => tracing::trace!(command, answer, "lx200"),
            Err(e) => {
                tracing::debug!(command, "lx200: {e}");
                self.dirty |= e.desynchronised();
                self.silent |= matches!(e, Lx200Error::Timeout { .. });
            }
        }
        result
    }

    async fn exchange(&mut self, command: &str, reply: Reply) -> Result<String, Lx200Error> {
        self.flush_input()?;
        self.write(command.as_bytes()).await?;
        // The whole answer must come within the timeout, plus its own time on the line.
        let deadline = Instant::now() + self.timeout;
        let mut framer = Framer::new(reply);
        let mut tail = None;
        let mut slow: Option<(usize, Instant)> = None;
        while let Next::Byte(wait) = framer.next() {
            match wait {
                Wait::Answer => {
                    let b = self.byte(command, deadline, framer.got()).await?;
                    framer.push(b).map_err(|Overlong(got)| self.garbage(command, &got))?;
                }
                Wait::Tail => {
                    let until = *tail.get_or_insert_with(|| {
                        (Instant::now() + QUIET + self.byte_time * 40).min(deadline)
                    });
                    match self.byte(command, until, framer.got()).await {
                        Ok(b) => {
                            framer.push(b).map_err(|Overlong(got)| self.garbage(command, &got))?
                        }
                        Err(_) => framer.silence(),
                    }
                }
                Wait::Slow(left) => {
                    let until = match slow {
                        Some((l, t)) if l == left => t,
                        _ => slow.insert((left, Instant::now() + self.timeout * 3)).1,
                    };
                    match self.byte(command, until, &[]).await {
                        Ok(b) => {
                            framer.push(b).map_err(|Overlong(got)| self.garbage(command, &got))?
                        }
                        Err(e) => {
                            tracing::debug!("no planetary-data message after :SC ({e})");
                            framer.silence();
                        }
                    }
                }
            }
        }
        self.dirty |= framer.dirty();
        framer.finish().map_err(|Unreadable(got)| self.garbage(command, &got))
    }

    fn garbage(&self, command: &str, got: &[u8]) -> Lx200Error {
        Lx200Error::Garbage {
            path: self.path.clone(),
            command: shown(command),
            got: String::from_utf8_lossy(got).into_owned(),
        }
    }

    fn flush_input(&mut self) -> Result<(), Lx200Error> {
        self.pending.clear();
        self.stream.clear(ClearBuffer::Input).map_err(|e| gone(&self.path, e))
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Lx200Error> {
        let deadline = Instant::now() + self.timeout + self.byte_time * bytes.len() as u32;
        let path = self.path.clone();
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match timeout_at(deadline, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(gone(&path, e)),
            Err(_) => Err(gone(&path, "write blocked: the port accepts no data")),
        }
    }

    /// The next byte before `deadline`; `so_far` goes into the timeout message.
    async fn byte(
        &mut self,
        command: &str,
        deadline: Instant,
        so_far: &[u8],
    ) -> Result<u8, Lx200Error> {
        if let Some(b) = self.pending.pop_front() {
            return Ok(b);
        }
        let mut buf = [0u8; 64];
        match timeout_at(deadline, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) => Err(gone(&self.path, "end of file")),
            Ok(Ok(n)) => {
                self.pending.extend(&buf[..n]);
                Ok(self.pending.pop_front().unwrap_or(0))
            }
            Ok(Err(e)) => Err(gone(&self.path, e)),
            Err(_) => Err(Lx200Error::Timeout {
                path: self.path.clone(),
                command: shown(command),
                ms: self.timeout.as_millis() as u64,
                partial: if so_far.is_empty() {
                    String::new()
                } else {
                    format!(" (partial answer {:?})", String::from_utf8_lossy(so_far))
                },
            }),
        }
    }

    /// Discards input until the line has been quiet for a while (bounded by the
    /// timeout: a line that never stops talking is noise or the wrong speed).
    async fn drain(&mut self) -> Result<usize, Lx200Error> {
        self.pending.clear();
        let quiet = QUIET + self.byte_time * 4;
        let end = Instant::now() + self.timeout;
        let mut dropped = 0;
        let mut buf = [0u8; 256];
        loop {
            let until = (Instant::now() + quiet).min(end);
            match timeout_at(until, self.stream.read(&mut buf)).await {
                Ok(Ok(0)) => return Err(gone(&self.path, "end of file")),
                Ok(Ok(n)) => dropped += n,
                Ok(Err(e)) => return Err(gone(&self.path, e)),
                Err(_) if Instant::now() >= end && dropped > 0 => {
                    return Err(self.garbage("(resynchronising)", b"endless input"));
                }
                Err(_) => return Ok(dropped),
            }
        }
    }

    /// Brings the line back in step: drain, then ACK until a clean one-letter answer.
    pub async fn resync(&mut self) -> Result<(), Lx200Error> {
        let mut last = None;
        for _ in 0..RESYNC_TRIES {
            let dropped = self.drain().await?;
            if dropped > 0 {
                tracing::info!(port = self.path, dropped, "discarded stray bytes from the mount");
            }
            match self.exchange("\u{6}", Reply::Char).await {
                Ok(a) if a.len() == 1 && a.as_bytes()[0].is_ascii_uppercase() => {
                    self.dirty = false;
                    self.revived |= std::mem::take(&mut self.silent);
                    return Ok(());
                }
                Ok(a) => last = Some(self.garbage("ACK", a.as_bytes())),
                // Silence: a dead or frozen mount does not wake up within milliseconds.
                Err(e) if e.is_gone() || matches!(e, Lx200Error::Timeout { .. }) => {
                    self.silent |= !e.is_gone();
                    return Err(e);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.garbage("ACK", b"")))
    }
}
