//! `teld-driver-sim`: teld's simulated observatory, a driver process speaking the
//! driver protocol on stdin/stdout. It serves six devices — `mount`, `camera`, `dome`,
//! `weather`, `filter_wheel` and `focuser` — with ASCOM semantics, runs on the daemon's (possibly accelerated
//! or stepped) clock, and renders camera frames of a fixed synthetic star field.
//!
//! [`run`] is the whole driver over any reader and writer, so tests can drive it
//! in-process; `main.rs` only wires it to the real stdin/stdout.

pub mod camera;
pub mod dome;
pub mod driver;
pub mod error;
pub mod filterwheel;
pub mod focuser;
pub mod mount;
pub mod observatory;
pub mod render;
pub mod scene;
pub mod settings;
pub mod sky;
pub mod slew;
pub mod spool;
pub mod starfield;
pub mod timeline;
pub mod trail;
pub mod weather;

pub use driver::{DriverError, Exit, Identity, run, run_as};
pub use settings::Settings;
