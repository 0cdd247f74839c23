//! Device states, as devices report them. Field names follow ASCOM properties.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Mount,
    Camera,
    Dome,
    /// Safety monitor and observing conditions in one (ISafetyMonitor + IObservingConditions).
    Weather,
    /// IFilterWheelV3.
    FilterWheel,
    /// IFocuserV4.
    Focuser,
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceKind::Mount => "mount",
            DeviceKind::Camera => "camera",
            DeviceKind::Dome => "dome",
            DeviceKind::Weather => "weather",
            DeviceKind::FilterWheel => "filter wheel",
            DeviceKind::Focuser => "focuser",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeviceState {
    Mount(MountState),
    Camera(CameraState),
    Dome(DomeState),
    Weather(WeatherState),
    FilterWheel(FilterWheelState),
    Focuser(FocuserState),
}

impl DeviceState {
    pub fn kind(&self) -> DeviceKind {
        match self {
            DeviceState::Mount(_) => DeviceKind::Mount,
            DeviceState::Camera(_) => DeviceKind::Camera,
            DeviceState::Dome(_) => DeviceKind::Dome,
            DeviceState::Weather(_) => DeviceKind::Weather,
            DeviceState::FilterWheel(_) => DeviceKind::FilterWheel,
            DeviceState::Focuser(_) => DeviceKind::Focuser,
        }
    }
}

/// ASCOM `EquatorialSystem`: which frame `right_ascension`/`declination` are in.
/// LX200 mounts work in coordinates of date; the daemon stores ICRS and converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EquatorialSystem {
    /// Topocentric true equator and equinox of date (JNow), ASCOM `equTopocentric`.
    Topocentric,
    /// ICRS/J2000, ASCOM `equJ2000`.
    J2000,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PierSide {
    East,
    West,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountState {
    pub connected: bool,
    /// Hours, in `equatorial_system`.
    pub right_ascension: f64,
    /// Degrees, in `equatorial_system`.
    pub declination: f64,
    /// Degrees above the horizon, as the mount computes it.
    pub altitude: f64,
    /// Degrees, north through east.
    pub azimuth: f64,
    pub tracking: bool,
    pub slewing: bool,
    pub at_park: bool,
    pub side_of_pier: PierSide,
    pub equatorial_system: EquatorialSystem,
}

/// ASCOM `CameraStates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraStatus {
    Idle,
    Waiting,
    Exposing,
    Reading,
    Download,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraState {
    pub connected: bool,
    pub camera_state: CameraStatus,
    pub image_ready: bool,
    /// Percent of the current operation done (ASCOM `PercentCompleted`).
    pub percent_completed: u8,
    pub ccd_temperature: f64,
    pub camera_x_size: u32,
    pub camera_y_size: u32,
    /// Micrometres.
    pub pixel_size_x: f64,
    pub pixel_size_y: f64,
    pub bin_x: u32,
    pub bin_y: u32,
    pub sensor_name: String,
    /// Electrons per ADU.
    pub electrons_per_adu: f64,
}

/// ASCOM `ShutterState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShutterStatus {
    Open,
    Closed,
    Opening,
    Closing,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomeState {
    pub connected: bool,
    pub shutter_status: ShutterStatus,
    pub at_park: bool,
    pub slewing: bool,
}

/// ISafetyMonitor.IsSafe plus the IObservingConditions values the device has.
/// A value the device does not measure is absent, never zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeatherState {
    pub connected: bool,
    pub is_safe: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_cover: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub humidity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rain_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wind_speed: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sky_quality: Option<f64>,
}

/// IFilterWheelV3: where the wheel is and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterWheelState {
    pub connected: bool,
    /// Slot in the beam, from 0; `None` while the wheel turns (ASCOM `Position == -1`).
    pub position: Option<u32>,
    /// Filter name of each slot (ASCOM `Names`), as the device reports it.
    pub names: Vec<String>,
    /// Focus offset of each slot in focuser steps (ASCOM `FocusOffsets`), relative to
    /// the telescope's best focus.
    pub focus_offsets: Vec<i32>,
}

impl FilterWheelState {
    /// The filter in the beam, by the device's own word; `None` while turning.
    pub fn filter(&self) -> Option<&str> {
        self.position.and_then(|p| self.names.get(p as usize)).map(String::as_str)
    }
}

/// IFocuserV4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FocuserState {
    pub connected: bool,
    /// ASCOM `Absolute`: positions are steps from a fixed zero. A relative focuser
    /// only moves by steps and has no `position`.
    pub absolute: bool,
    /// Steps, absolute focusers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
    pub is_moving: bool,
    /// Highest position (absolute) or largest single move (relative), steps.
    pub max_step: u32,
    /// °C, where the focuser has a probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Temperature compensation on (ASCOM `TempComp`): the focuser moves by itself.
    pub temp_comp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelType {
    U16,
    I32,
    F32,
}

impl PixelType {
    pub fn bytes(self) -> usize {
        match self {
            PixelType::U16 => 2,
            PixelType::I32 | PixelType::F32 => 4,
        }
    }
}

/// Answer to `read_image`: what the spool file holds and how it was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// Pixels along x (FITS NAXIS1), varying fastest in the spool file.
    pub width: u32,
    pub height: u32,
    pub pixel_type: PixelType,
    /// Start of the exposure by the device's clock (ASCOM `LastExposureStartTime`),
    /// ISO-8601 UTC. The daemon records its own start time too.
    pub exposure_start: String,
    /// Actual exposure length, seconds (ASCOM `LastExposureDuration`).
    pub duration: f64,
    pub light: bool,
    pub bin_x: u32,
    pub bin_y: u32,
}
