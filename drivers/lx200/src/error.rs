//! What can go wrong between the driver and an LX200 mount, each with what the user
//! should do about it, and how each maps to a protocol error code.

use teld_driver_protocol::ErrorCode;
use teld_driver_protocol::serve::CallError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Lx200Error {
    #[error(
        "cannot open serial port {path}: {reason}; check the port path (ls -l /dev/serial/by-id), that the mount is powered and its USB cable plugged in, and that no other program holds the port"
    )]
    Open { path: String, reason: String },
    #[error(
        "serial port {path} failed ({reason}): the mount was unplugged or lost power; check its cable and power — the driver reconnects by itself"
    )]
    Gone { path: String, reason: String },
    #[error(
        "the mount on {path} is not connected ({last}); the driver keeps trying to reconnect: check that it is plugged in and powered"
    )]
    Disconnected { path: String, last: String },
    #[error(
        "no answer from the mount on {path} to `{command}` within {ms} ms{partial}: check that the mount is powered, the cable, the baud rate (setting `baud`) and the dialect (setting `dialect`)"
    )]
    Timeout { path: String, command: String, ms: u64, partial: String },
    #[error(
        "unreadable answer {got:?} from the mount on {path} to `{command}`: line noise or a wrong baud rate (setting `baud`); the driver resynchronised the line"
    )]
    Garbage { path: String, command: String, got: String },
    #[error("the mount on {path} refused `{command}`: {why}")]
    Refused { path: String, command: String, why: String },
    #[error("the mount on {path} {what}")]
    Invalid { path: String, what: String },
}

impl Lx200Error {
    /// The port itself failed: drop it and reconnect.
    pub fn is_gone(&self) -> bool {
        matches!(self, Lx200Error::Gone { .. })
    }

    /// The line is out of step (an answer may still be on its way): resynchronise
    /// before the next command.
    pub fn desynchronised(&self) -> bool {
        matches!(self, Lx200Error::Timeout { .. } | Lx200Error::Garbage { .. })
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Lx200Error::Timeout { .. } => ErrorCode::Timeout,
            Lx200Error::Refused { .. } => ErrorCode::InvalidOperation,
            Lx200Error::Invalid { .. } => ErrorCode::InvalidOperation,
            Lx200Error::Open { .. }
            | Lx200Error::Gone { .. }
            | Lx200Error::Disconnected { .. }
            | Lx200Error::Garbage { .. } => ErrorCode::DeviceFault,
        }
    }
}

impl From<Lx200Error> for CallError {
    fn from(e: Lx200Error) -> Self {
        CallError::new(e.code(), e.to_string())
    }
}
