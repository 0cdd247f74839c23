//! The calls the daemon can make. Device calls are named after the ASCOM interface
//! members they stand for (ITelescopeV4, ICameraV4, IDomeV3, ISafetyMonitor,
//! IObservingConditions, IFilterWheelV3, IFocuserV4), snake_cased, with ASCOM's units: right ascension in hours,
//! angles in degrees, durations in seconds.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::ClockSync;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", content = "params", rename_all = "snake_case")]
pub enum Call {
    // ---- driver level (Request::device is None) ----
    /// Second step of the handshake; answered with `Vec<DeviceInfo>`.
    Configure(Configure),
    /// Heartbeat; answered with `{}`. A driver that hears nothing for
    /// `Configure::heartbeat_timeout_ms` puts its devices in a safe state and exits.
    Ping,
    /// The daemon's clock jumped or changed speed; answered with `{}`.
    SetClock(ClockSync),
    /// Put devices in a safe state and exit after answering.
    Shutdown,
    /// Check every device without moving anything; answered with [`crate::SelfTest`].
    /// Used by the updater to compare a new build with the one it replaces.
    SelfTest,

    // ---- any device ----
    /// Answered with the device's [`crate::DeviceState`], read from the device now.
    GetState,

    // ---- mount (ITelescopeV4) ----
    /// Start a slew and return at once; completion is `slewing == false`.
    /// Coordinates are in the mount's `equatorial_system`.
    SlewToCoordinatesAsync {
        right_ascension: f64,
        declination: f64,
    },
    AbortSlew,
    /// Park the mount (or dome): asynchronous, confirmed by `at_park`.
    Park,
    Unpark,
    SetTracking {
        tracking: bool,
    },

    // ---- camera (ICameraV4) ----
    /// Start an exposure and return at once; completion is `image_ready`. `bin` is
    /// the on-chip binning, the same in x and y (ASCOM BinX = BinY); sent only when
    /// not 1, so drivers that predate it keep working unbinned.
    StartExposure {
        duration: f64,
        light: bool,
        #[serde(default = "one", skip_serializing_if = "is_one")]
        bin: u32,
    },
    AbortExposure,
    /// Write the last image's pixels to `spool_path` and answer with [`crate::ImageInfo`].
    /// Pixels are written raw, little-endian, row-major with x varying fastest (FITS
    /// order: NAXIS1 = width), so the daemon can write them to FITS without transposing.
    ReadImage {
        spool_path: String,
    },

    // ---- dome (IDomeV3) ----
    /// Asynchronous; confirmed by `shutter_status == open`.
    OpenShutter,
    /// Asynchronous; confirmed by `shutter_status == closed`.
    CloseShutter,

    // ---- filter wheel (IFilterWheelV3) ----
    /// Turn to slot `position` (from 0); asynchronous, confirmed by `position`.
    SetPosition {
        position: u32,
    },

    // ---- focuser (IFocuserV4) ----
    /// Asynchronous, confirmed by `is_moving == false`: to step `position` on an
    /// absolute focuser, by `position` steps on a relative one.
    Move {
        position: i32,
    },
    /// Stop the focuser now.
    Halt,
}

fn one() -> u32 {
    1
}

fn is_one(v: &u32) -> bool {
    *v == 1
}

impl Call {
    /// Name as it appears on the wire, for logs and error messages.
    pub fn method(&self) -> &'static str {
        match self {
            Call::Configure(_) => "configure",
            Call::Ping => "ping",
            Call::SetClock(_) => "set_clock",
            Call::Shutdown => "shutdown",
            Call::SelfTest => "self_test",
            Call::GetState => "get_state",
            Call::SlewToCoordinatesAsync { .. } => "slew_to_coordinates_async",
            Call::AbortSlew => "abort_slew",
            Call::Park => "park",
            Call::Unpark => "unpark",
            Call::SetTracking { .. } => "set_tracking",
            Call::StartExposure { .. } => "start_exposure",
            Call::AbortExposure => "abort_exposure",
            Call::ReadImage { .. } => "read_image",
            Call::OpenShutter => "open_shutter",
            Call::CloseShutter => "close_shutter",
            Call::SetPosition { .. } => "set_position",
            Call::Move { .. } => "move",
            Call::Halt => "halt",
        }
    }
}

/// Sent once after `hello`. Settings travel here rather than on the command line so
/// secrets (device passwords) never show up in `ps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configure {
    /// The driver's own settings table from teld's config, as JSON.
    pub settings: Value,
    /// The daemon's clock; drivers that simulate or set device time follow it.
    pub clock: ClockSync,
    /// Site the devices stand at (WGS84), for drivers that must tell the device.
    pub site: Site,
    /// Folder where the daemon names spool files for images.
    pub spool_dir: String,
    /// How often the driver sends unprompted `state` events even without changes.
    pub state_interval_ms: u64,
    /// The driver makes its devices safe and exits when it hears nothing for this long.
    pub heartbeat_timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub height_m: f64,
}
