//! IFilterWheel over Alpaca. Turning is asynchronous: `Position` reads -1 until the
//! wheel has stopped, and the slot it then reports is the only word on where it is.

use serde_json::{Value, json};
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, DeviceState, ErrorCode, FilterWheelState};

use crate::client::{Endpoint, Failure};

pub struct FilterWheel {
    ep: Endpoint,
    /// Names and offsets are fixed by the wheel's own setup: read once at connect.
    names: Vec<String>,
    focus_offsets: Vec<i32>,
}

impl FilterWheel {
    pub async fn connect(ep: Endpoint) -> Result<FilterWheel, CallError> {
        crate::connect(&ep).await?;
        let v = ep.get("names").await?;
        let names: Vec<String> = serde_json::from_value(v.clone())
            .map_err(|_| ep.shape("names", "a list of filter names", &v))?;
        let v = ep.get("focusoffsets").await?;
        let focus_offsets: Vec<i32> = serde_json::from_value(v.clone())
            .map_err(|_| ep.shape("focusoffsets", "a list of whole numbers", &v))?;
        if names.is_empty() || focus_offsets.len() != names.len() {
            return Err(CallError::new(
                ErrorCode::DeviceFault,
                format!(
                    "{}: the wheel reports {} names and {} focus offsets; set up one name and one offset per slot in its own settings",
                    ep.address,
                    names.len(),
                    focus_offsets.len()
                ),
            ));
        }
        Ok(FilterWheel { ep, names, focus_offsets })
    }

    pub async fn state(&self) -> Result<DeviceState, Failure> {
        let raw = self.ep.get_i64("position").await?;
        let position = match u32::try_from(raw) {
            Ok(p) if (p as usize) < self.names.len() => Some(p),
            Ok(_) => {
                let v = Value::from(raw);
                return Err(self.ep.shape("position", "a slot of the wheel, or -1", &v));
            }
            // -1: turning. Anything else negative is not a position either.
            Err(_) => None,
        };
        Ok(DeviceState::FilterWheel(FilterWheelState {
            connected: true,
            position,
            names: self.names.clone(),
            focus_offsets: self.focus_offsets.clone(),
        }))
    }

    pub async fn call(&self, call: Call) -> Result<Value, CallError> {
        match call {
            Call::SetPosition { position } => {
                if position as usize >= self.names.len() {
                    return Err(CallError::new(
                        ErrorCode::InvalidValue,
                        format!(
                            "{}: slot {position} does not exist; the wheel has slots 0 to {}",
                            self.ep.address,
                            self.names.len() - 1
                        ),
                    ));
                }
                self.ep.put("position", &[("Position", position.to_string())]).await?;
                Ok(json!({}))
            }
            other => Err(crate::not_for("filter wheel", &other)),
        }
    }
}
