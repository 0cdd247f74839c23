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
