//! Envelopes: every line on the wire is one of these.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::call::Call;
use crate::error::ErrorCode;
use crate::state::{DeviceKind, DeviceState};

/// A line the daemon writes to a driver's stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DaemonMessage {
    Request(Request),
}

/// A line a driver writes to its stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DriverMessage {
    /// First line a driver writes, unprompted.
    Hello(Hello),
    Response(Response),
    Event(Event),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// [`crate::PROTOCOL_VERSION`] of the driver's build.
    pub protocol: u32,
    /// Driver name, e.g. `sim`, `alpaca`.
    pub driver: String,
    /// Driver version (semver), reported in the daemon's status and used by updates.
    pub version: String,
    /// Commit the driver was built from ([`crate::GIT_SHA`]); the updater requires it to
    /// equal the signed metadata's. Absent from drivers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_sha: Option<String>,
}

impl Hello {
    /// The hello of a driver built from this crate: its protocol and build commit.
    pub fn new(driver: &str, version: &str) -> Self {
        Hello {
            protocol: crate::PROTOCOL_VERSION,
            driver: driver.to_string(),
            version: version.to_string(),
            git_sha: crate::GIT_SHA.map(str::to_string),
        }
    }
}

/// The answer to `self_test`: which devices passed their check and which failed
/// (with why). The updater compares a new build's answer with the old build's, so a
/// device that is switched off fails both and does not block the update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTest {
    #[serde(default)]
    pub passed: Vec<String>,
    #[serde(default)]
    pub failed: Vec<SelfTestFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTestFailure {
    pub device: String,
    pub why: String,
}

impl SelfTest {
    /// Devices that fail here but passed in `baseline`: what makes this build worse.
    pub fn regressions(&self, baseline: &SelfTest) -> Vec<String> {
        self.failed
            .iter()
            .map(|f| &f.device)
            .filter(|d| !baseline.failed.iter().any(|b| &b.device == *d))
            .cloned()
            .collect()
    }
}

/// A command to a driver. `device` is `None` for driver-level calls
/// (`configure`, `ping`, `set_clock`, `shutdown`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(flatten)]
    pub call: Call,
}

/// The answer to the request with the same `id`: exactly one of `result` and `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<WireError>,
}

impl Response {
    pub fn ok(id: u64, result: impl Serialize) -> Self {
        let result = serde_json::to_value(result).unwrap_or(Value::Null);
        Response { id, result: Some(result), error: None }
    }

    pub fn err(id: u64, code: ErrorCode, message: impl Into<String>) -> Self {
        Response { id, result: None, error: Some(WireError { code, message: message.into() }) }
    }
}

/// A typed error as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireError {
    pub code: ErrorCode,
    pub message: String,
}

/// Something a driver reports without being asked. Events carry no id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A device's full state: sent when it changes and periodically.
    State { device: String, state: DeviceState },
    /// Something an operator should see (a device fault, a limit hit).
    Alert { device: Option<String>, message: String },
}

/// One device a driver serves, as listed in its answer to `configure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Name unique within the driver, used as `Request::device`.
    pub name: String,
    pub kind: DeviceKind,
    pub description: String,
    /// ASCOM `Can*` flags, snake_cased (`can_park`, `can_abort_exposure`, ...).
    /// The daemon never issues a call whose capability is absent or false.
    #[serde(default)]
    pub capabilities: std::collections::BTreeMap<String, bool>,
}
