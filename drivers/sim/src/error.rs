//! How the simulator's typed errors reach the wire: every device error enum says which
//! protocol [`ErrorCode`] it is, and its `Display` is the message the operator reads.

use teld_driver_protocol::ErrorCode;

/// An error that can answer a request.
pub trait Coded: std::error::Error {
    fn code(&self) -> ErrorCode;
}

/// The answer to a failed request: code plus a message saying what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    pub code: ErrorCode,
    pub message: String,
}

impl CallError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CallError { code, message: message.into() }
    }
}

impl<E: Coded> From<E> for CallError {
    fn from(e: E) -> Self {
        CallError { code: e.code(), message: e.to_string() }
    }
}
