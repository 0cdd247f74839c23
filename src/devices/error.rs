use teld_driver_protocol::ErrorCode;
use thiserror::Error;

use super::InterlockError;

#[derive(Debug, Clone, Error)]
pub enum DeviceError {
    #[error(
        "driver `{driver}` is not running (it is being restarted); the operation is retried when it is back"
    )]
    DriverDown { driver: String },
    #[error(
        "driver `{driver}` stopped while `{method}` was pending; the operation is retried when it is back"
    )]
    Interrupted { driver: String, method: String },
    #[error(
        "driver `{driver}` did not answer `{method}` within {after_s} s; it will be restarted if it stays silent"
    )]
    Timeout { driver: String, method: String, after_s: f64 },
    #[error("{driver}/{device} refused `{method}` ({code}): {message}")]
    Device { driver: String, device: String, method: String, code: ErrorCode, message: String },
    #[error(
        "{driver}/{device} answered `{method}` with something teld cannot read ({message}); the driver and teld disagree on the protocol"
    )]
    BadAnswer { driver: String, device: String, method: String, message: String },
    #[error("refused by interlock: {0}")]
    Interlock(#[from] InterlockError),
    #[error("{what} did not happen within {after_s} s; the device may be stuck — check it")]
    WaitTimeout { what: String, after_s: f64 },
    #[error(
        "the mount reports it is {off_deg:.3}° from the target after the slew; check its pointing model and clock"
    )]
    NotArrived { off_deg: f64 },
    #[error(
        "the meridian flip failed ({reason}); {} — check the mount, then resume",
        if *parked { "the mount was stopped and parked" } else { "stopping and parking the mount failed too: park it by hand" }
    )]
    FlipFailed { reason: String, parked: bool },
    #[error(
        "the mount reported itself beyond its limits while tracking ({reason}); tracking was stopped and the mount parked — check its position and clock"
    )]
    TrackingLimit { reason: String },
    #[error("{0} is not available on this telescope")]
    Missing(&'static str),
    #[error(
        "the filter wheel holds no filter `{filter}` (it reports: {have}); put the filter in the wheel or remove it from the telescope's `filters`"
    )]
    NoSuchFilter { filter: String, have: String },
    #[error(
        "the {device} reports {reported}, not {expected}, after the move; check it for slipping or a stuck motor"
    )]
    Misplaced { device: &'static str, expected: String, reported: String },
}

impl DeviceError {
    /// True when the device itself is at fault: it did not answer in time, or its
    /// driver says the device failed (not a refusal of a bad command).
    pub fn is_device_fault(&self) -> bool {
        matches!(
            self,
            DeviceError::Timeout { .. }
                | DeviceError::Device { code: ErrorCode::DeviceFault | ErrorCode::Timeout, .. }
        )
    }

    /// True when the fault is the link to the driver, not the device: the work can be
    /// retried unchanged once the driver is back.
    pub fn is_link_fault(&self) -> bool {
        matches!(
            self,
            DeviceError::DriverDown { .. }
                | DeviceError::Interrupted { .. }
                | DeviceError::Timeout { .. }
        )
    }
}
