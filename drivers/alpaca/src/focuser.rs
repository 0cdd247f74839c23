//! IFocuser over Alpaca. `Move` is asynchronous and confirmed by `IsMoving`; an
//! absolute focuser reports `Position`, a relative one only moves by steps. Limits
//! (`MaxStep`, `MaxIncrement`) are read at connect and a move beyond them is refused
//! before it is sent.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, DeviceState, ErrorCode, FocuserState};

use crate::client::{Endpoint, Failure};

pub struct Focuser {
    ep: Endpoint,
    absolute: bool,
    max_step: u32,
    max_increment: u32,
    /// Read at connect: a probe that is not there stays absent, never 0 °C.
    has_temperature: bool,
    temp_comp_available: bool,
}

impl Focuser {
    pub async fn connect(ep: Endpoint) -> Result<Focuser, CallError> {
        crate::connect(&ep).await?;
        let absolute = ep.get_bool("absolute").await?;
        let steps = |member: &'static str, v: i64| {
            u32::try_from(v).map_err(|_| ep.shape(member, "a positive whole number", &v.into()))
        };
        let max_step = steps("maxstep", ep.get_i64("maxstep").await?)?;
        let max_increment = steps("maxincrement", ep.get_i64("maxincrement").await?)?;
        let has_temperature = match ep.get_f64("temperature").await {
            Ok(_) => true,
            Err(e) if e.not_implemented() => false,
            Err(e) => return Err(e.into()),
        };
        let temp_comp_available = ep.can("tempcompavailable").await?;
        Ok(Focuser { ep, absolute, max_step, max_increment, has_temperature, temp_comp_available })
    }

    pub fn capabilities(&self) -> BTreeMap<String, bool> {
        [("absolute", self.absolute), ("temp_comp_available", self.temp_comp_available)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    pub async fn state(&self) -> Result<DeviceState, Failure> {
        let ep = &self.ep;
        let (is_moving, temp_comp) = tokio::try_join!(ep.get_bool("ismoving"), self.temp_comp())?;
        let position = match self.absolute {
            true => {
                let p = ep.get_i64("position").await?;
                Some(i32::try_from(p).map_err(|_| ep.shape("position", "a step", &p.into()))?)
            }
            false => None,
        };
        let temperature = match self.has_temperature {
            true => Some(ep.get_f64("temperature").await?),
            false => None,
        };
        Ok(DeviceState::Focuser(FocuserState {
            connected: true,
            absolute: self.absolute,
            position,
            is_moving,
            max_step: self.max_step,
            temperature,
            temp_comp,
        }))
    }

    async fn temp_comp(&self) -> Result<bool, Failure> {
        match self.temp_comp_available {
            true => self.ep.get_bool("tempcomp").await,
            false => Ok(false),
        }
    }

    pub async fn call(&self, call: Call) -> Result<Value, CallError> {
        match call {
            Call::Move { position } => {
                self.check_move(position)?;
                self.ep.put("move", &[("Position", position.to_string())]).await?;
                Ok(json!({}))
            }
            Call::Halt => {
                self.ep.put("halt", &[]).await?;
                Ok(json!({}))
            }
            other => Err(crate::not_for("focuser", &other)),
        }
    }

    fn check_move(&self, position: i32) -> Result<(), CallError> {
        let addr = &self.ep.address;
        let bad = |m: String| CallError::new(ErrorCode::InvalidValue, format!("{addr}: {m}"));
        if self.absolute && (position < 0 || position as u32 > self.max_step) {
            return Err(bad(format!(
                "step {position} is outside the focuser's travel 0..={}; check focus_position and the filter offsets",
                self.max_step
            )));
        }
        if !self.absolute && position.unsigned_abs() > self.max_increment {
            return Err(bad(format!(
                "a move of {position} steps is more than the focuser's MaxIncrement {}",
                self.max_increment
            )));
        }
        Ok(())
    }

    pub async fn make_safe(&self) {
        if let Err(e) = self.ep.put("halt", &[]).await {
            tracing::warn!("could not halt {}: {e}", self.ep.address);
        }
    }
}
