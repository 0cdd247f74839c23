//! teld's driver protocol: what the daemon and a driver process say to each other.
//!
//! The wire format is newline-delimited JSON on the driver's stdin (daemon → driver)
//! and stdout (driver → daemon); stderr is the driver's log. The normative spec is
//! `PROTOCOL.md` next to this crate; this crate is its executable form, shared by the
//! daemon and every driver so the two sides cannot drift apart.

pub mod call;
pub mod clock;
pub mod codec;
pub mod error;
pub mod input;
pub mod message;
pub mod process;
pub mod serve;
pub mod state;
pub mod time;

pub use call::{Call, Configure, Site};
pub use clock::{ClockSync, DriverClock};
pub use error::{ErrorCode, ProtocolError};
pub use message::{
    DaemonMessage, DeviceInfo, DriverMessage, Event, Hello, Request, Response, SelfTest,
    SelfTestFailure,
};
pub use state::{
    CameraState, CameraStatus, DeviceKind, DeviceState, DomeState, EquatorialSystem,
    FilterWheelState, FocuserState, ImageInfo, MountState, PierSide, PixelType, ShutterStatus,
    WeatherState,
};

/// Version of the protocol spoken by this crate. The daemon refuses a driver whose
/// `hello` names another major version: a mismatched driver could misread a command
/// and move hardware in ways nobody asked for.
pub const PROTOCOL_VERSION: u32 = 1;

/// Commit this build came from (see `build.rs`): `TELD_GIT_SHA` at build time, else
/// the checkout's `HEAD`, else `None` (a build from a tarball).
pub const GIT_SHA: Option<&str> = option_env!("TELD_DRIVER_GIT_SHA");
