//! What the observatory looks like right now, as served by `/api/v1/status` and
//! published on MQTT.

use std::collections::BTreeMap;

use serde::Serialize;
use teld_driver_protocol::{
    CameraState, DeviceState, DomeState, FilterWheelState, FocuserState, MountState, WeatherState,
};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    pub telescopes: BTreeMap<String, TelescopeView>,
    pub drivers: BTreeMap<String, DriverView>,
    pub telemetry: TelemetryView,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TelescopeView {
    /// Last state each device reported (events and reads); `None` until it reports.
    pub mount: Option<MountState>,
    pub camera: Option<CameraState>,
    pub dome: Option<DomeState>,
    pub weather: Option<WeatherState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_wheel: Option<FilterWheelState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focuser: Option<FocuserState>,
    pub safety: SafetyView,
    /// What the executor is doing, in words ("waiting for night", "observing").
    pub activity: String,
    pub block: Option<BlockView>,
    /// Who decides what this telescope does: the scheduler (`auto`) or an operator.
    pub control: ControlView,
}

impl TelescopeView {
    pub fn set_device(&mut self, state: DeviceState) {
        match state {
            DeviceState::Mount(s) => self.mount = Some(s),
            DeviceState::Camera(s) => self.camera = Some(s),
            DeviceState::Dome(s) => self.dome = Some(s),
            DeviceState::Weather(s) => self.weather = Some(s),
            DeviceState::FilterWheel(s) => self.filter_wheel = Some(s),
            DeviceState::Focuser(s) => self.focuser = Some(s),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SafetyView {
    /// `level == safe`, kept for clients that only want yes or no.
    pub safe: bool,
    pub level: crate::safety::SafetyLevel,
    pub reason: Option<String>,
    /// UTC of the last change.
    pub since: Option<String>,
    /// Times each level was entered since start, by rank (for the metric).
    #[serde(skip)]
    pub entered: [u64; 4],
}

impl Default for SafetyView {
    /// Unknown counts as unsafe until the weather sensor has spoken.
    fn default() -> Self {
        SafetyView {
            safe: false,
            level: crate::safety::SafetyLevel::Stop,
            reason: Some("no weather report yet".into()),
            since: None,
            entered: [0; 4],
        }
    }
}

/// The control mode of a telescope. Only `auto` lets the executor ask the planner
/// for work; the safety monitor closes and parks in every mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlMode {
    #[default]
    Auto,
    /// Nothing runs; any operator may resume.
    Paused,
    /// One operator (the holder) drives the telescope by hand.
    Manual,
}

impl ControlMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlMode::Auto => "auto",
            ControlMode::Paused => "paused",
            ControlMode::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(ControlMode::Auto),
            "paused" => Some(ControlMode::Paused),
            "manual" => Some(ControlMode::Manual),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ControlView {
    pub mode: ControlMode,
    /// Who set the mode (in `manual`, who holds the telescope): a token's name or
    /// `local`; `None` for the start-up default.
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_token_id: Option<i64>,
    pub reason: Option<String>,
    /// UTC (daemon clock) of the last change.
    pub since: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockView {
    pub request_id: i64,
    pub observation_id: i64,
    pub target: String,
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub started_at: String,
    pub frames_done: u32,
    pub frames_total: u32,
    /// `opening`, `slewing`, `settling`, `exposing`, `reading`.
    pub phase: String,
    /// When `phase` began (the daemon's clock, UTC).
    pub phase_since: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriverStatus {
    Starting,
    Up,
    Down,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriverView {
    pub kind: String,
    pub status: DriverStatus,
    pub pid: Option<u32>,
    pub version: Option<String>,
    pub restarts: u32,
    pub last_error: Option<String>,
    /// Devices of this driver whose last call timed out or failed as a device fault,
    /// with what happened; a device leaves the list when it next answers or reports.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub faulted: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TelemetryView {
    pub enabled: bool,
    pub broker: String,
    pub connected: bool,
    pub last_error: Option<String>,
}
