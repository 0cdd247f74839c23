//! Devices: driver processes and the typed devices they serve.
//!
//! Each configured driver runs as a child process supervised by [`supervisor`]: spawned,
//! handshaken (`hello`, then `configure`), pinged, restarted with backoff when it dies
//! or falls silent. The rest of the daemon talks to devices through [`Mount`],
//! [`Camera`], [`Dome`], [`Weather`], [`FilterWheel`] and [`Focuser`] handles, and to a whole telescope through
//! [`Telescope`], which enforces the interlocks no caller can bypass.

mod error;
mod guard;
mod handles;
mod interlock;
mod link;
mod meridian;
mod optics;
mod process;
mod slew_path;
mod span;
mod supervisor;
mod telescope;
mod wait;

pub use error::DeviceError;
pub use handles::{Camera, Device, Dome, FilterWheel, Focuser, Mount, Weather};
pub use interlock::{InterlockError, Interlocks, SiteSafety};
pub use meridian::destination_side;
pub use optics::{Optics, OpticsReport};
pub use span::{SPAN_STEP_S, Span, Track};
pub use supervisor::{
    DriverHandle, RunStatus, SupervisorContext, spawn_supervisor, spawn_supervisor_with_slot,
};
pub use telescope::{Pointed, Telescope, Timeouts};
pub use wait::wait_for;
