//! A dome or roll-off roof behind MQTT as a teld dome (IDomeV3's shutter).
//!
//! The device's own published state is the only truth: a command returns when the
//! device acknowledges it, and the motion's end is seen in `shutter_status`. A state
//! that cannot be believed (stale, offline, never heard) fails the read with
//! `device_fault`, so the daemon's safety logic and the operator see it.

use serde_json::{Value, json};
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, DeviceState, DomeState, ErrorCode};

use crate::wire::{Reply, Report, code};

/// The device method for a teld call, or the refusal.
pub fn method(call: &Call) -> Result<&'static str, CallError> {
    match call {
        Call::OpenShutter => Ok("open"),
        // A roll-off roof's park position is closed.
        Call::CloseShutter | Call::Park => Ok("close"),
        // IDomeV3.AbortSlew stops all motion, the shutter's included.
        Call::AbortSlew => Ok("abort"),
        other => Err(CallError::new(
            ErrorCode::NotImplemented,
            format!("`{}` is not a call an MQTT dome/roof answers", other.method()),
        )),
    }
}

/// The teld state from what the driver knows.
pub fn state(fresh: Result<&Report, String>) -> Result<DeviceState, CallError> {
    match fresh {
        Ok(Report::Dome(r)) => Ok(DeviceState::Dome(DomeState {
            connected: true,
            shutter_status: r.shutter_status,
            at_park: r.at_park,
            slewing: r.slewing,
        })),
        Ok(Report::Weather(_)) => Err(CallError::new(
            ErrorCode::DeviceFault,
            "the device published a weather state; check the `kind` in the settings",
        )),
        Err(why) => Err(CallError::new(ErrorCode::DeviceFault, why)),
    }
}

/// The device's reply as the answer to teld's call.
pub fn answer(device: &str, method: &str, reply: Reply) -> Result<Value, CallError> {
    if reply.ok {
        return Ok(json!({}));
    }
    let e = reply.error.unwrap_or_else(|| crate::wire::ReplyError {
        code: code::FAULT.into(),
        message: "no reason given".into(),
    });
    let teld = match e.code.as_str() {
        code::UNKNOWN_METHOD => ErrorCode::NotImplemented,
        code::BAD_PARAMS => ErrorCode::InvalidValue,
        code::INVALID_STATE => ErrorCode::InvalidOperation,
        code::BAD_COMMAND => ErrorCode::BadRequest,
        code::EXPIRED => ErrorCode::Timeout,
        _ => ErrorCode::DeviceFault,
    };
    Err(CallError::new(teld, format!("{device} refused `{method}` ({}): {}", e.code, e.message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::DomeReport;
    use teld_driver_protocol::ShutterStatus;

    #[test]
    fn calls_map_to_device_methods_and_the_rest_is_not_implemented() {
        assert_eq!(method(&Call::OpenShutter).unwrap(), "open");
        assert_eq!(method(&Call::Park).unwrap(), "close");
        assert_eq!(method(&Call::AbortSlew).unwrap(), "abort");
        let e = method(&Call::Unpark).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotImplemented);
    }

    #[test]
    fn replies_and_states_map_to_teld() {
        assert!(answer("roof", "open", Reply::ok()).is_ok());
        let e =
            answer("roof", "open", Reply::err(code::INVALID_STATE, "motor locked")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidOperation);
        assert!(e.message.contains("motor locked"));
        let e = answer("roof", "open", Reply::err("smoke", "x")).unwrap_err();
        assert_eq!(e.code, ErrorCode::DeviceFault, "an unknown code is a fault");
        let r = Report::Dome(DomeReport {
            spec: None,
            time: "2026-12-06T02:00:00Z".into(),
            shutter_status: ShutterStatus::Opening,
            at_park: false,
            slewing: false,
        });
        let DeviceState::Dome(d) = state(Ok(&r)).unwrap() else { panic!() };
        assert_eq!(d.shutter_status, ShutterStatus::Opening);
        assert_eq!(state(Err("stale".into())).unwrap_err().code, ErrorCode::DeviceFault);
    }
}
