//! Typed errors shared by both ends of a driver link.

use serde::{Deserialize, Serialize};

/// Error codes a driver may answer with. They mirror ASCOM's error numbers where one
/// exists, so an Alpaca device's error maps without loss of meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The device is not connected (ASCOM 0x407).
    NotConnected,
    /// A parameter is out of range or malformed (ASCOM 0x401).
    InvalidValue,
    /// The call is not valid in the device's current state, e.g. slewing while
    /// parked (ASCOM 0x40B InvalidOperation, 0x408 Parked).
    InvalidOperation,
    /// The device does not implement this call (ASCOM 0x400).
    NotImplemented,
    /// The device did not answer in time.
    Timeout,
    /// The hardware reported a fault.
    DeviceFault,
    /// The request could not be parsed, or names an unknown device.
    BadRequest,
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self).ok();
        let name = s.as_ref().and_then(|v| v.as_str()).unwrap_or("unknown");
        f.write_str(name)
    }
}

/// Errors of the link itself (not of a device).
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error(
        "driver protocol line is not valid JSON of the expected shape ({0}); the peer speaks another protocol or is broken"
    )]
    Malformed(#[from] serde_json::Error),
    #[error(
        "driver protocol line exceeds {limit} bytes; refusing to buffer it (is the peer writing binary data to stdout?)"
    )]
    LineTooLong { limit: usize },
    #[error("I/O error on the driver link: {0}")]
    Io(#[from] std::io::Error),
}
