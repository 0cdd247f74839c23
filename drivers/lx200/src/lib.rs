//! teld's LX200 serial mount driver, and an LX200 mount emulator to test it with.
//!
//! - [`sexagesimal`]: the mount's text formats, both precisions.
//! - [`framing`]: which bytes make up an answer, on plain bytes (tested and fuzzed).
//! - [`port`]: the serial line — timeouts, garbage, resynchronisation.
//! - [`answers`]: what the mount's answers mean, as plain functions.
//! - [`mount`]: the Meade command set and the OnStep dialect; coordinates are JNow.
//! - [`link`]: one command at a time, reconnect with backoff when the port vanishes.
//! - [`driver`]: the `mount` device behind teld's driver protocol.
//! - [`emulator`]: a simulated mount on a pseudo-terminal (`teld-lx200-emulator`).

pub mod answers;
pub mod driver;
pub mod emulator;
pub mod error;
pub mod framing;
pub mod link;
pub mod mount;
pub mod port;
pub mod settings;
pub mod sexagesimal;
