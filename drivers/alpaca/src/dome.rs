//! IDome over Alpaca: the shutter, confirmed by `ShutterStatus`. Opening is only ever
//! the daemon's explicit `open_shutter`; closing is always allowed.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, DeviceState, DomeState, ErrorCode, ShutterStatus};

use crate::client::{Endpoint, Failure};

pub struct Dome {
    ep: Endpoint,
    caps: BTreeMap<String, bool>,
}

impl Dome {
    pub async fn connect(ep: Endpoint) -> Result<Dome, CallError> {
        crate::connect(&ep).await?;
        let mut caps = BTreeMap::new();
        for (name, member) in [("can_set_shutter", "cansetshutter"), ("can_park", "canpark")] {
            caps.insert(name.to_string(), ep.can(member).await?);
        }
        Ok(Dome { ep, caps })
    }

    pub fn capabilities(&self) -> BTreeMap<String, bool> {
        self.caps.clone()
    }

    fn can(&self, cap: &str) -> bool {
        self.caps.get(cap).copied().unwrap_or(false)
    }

    pub async fn state(&self) -> Result<DeviceState, Failure> {
        let ep = &self.ep;
        let shutter = ep.get_i64("shutterstatus").await?;
        let (at_park, slewing) = tokio::try_join!(ep.get_bool("atpark"), ep.get_bool("slewing"))?;
        let shutter_status = match shutter {
            0 => ShutterStatus::Open,
            1 => ShutterStatus::Closed,
            2 => ShutterStatus::Opening,
            3 => ShutterStatus::Closing,
            _ => ShutterStatus::Error,
        };
        Ok(DeviceState::Dome(DomeState { connected: true, shutter_status, at_park, slewing }))
    }

    pub async fn call(&self, call: Call) -> Result<Value, CallError> {
        let member = match call {
            Call::OpenShutter => "openshutter",
            Call::CloseShutter => "closeshutter",
            Call::Park => "park",
            other => return Err(crate::not_for("dome", &other)),
        };
        let cap = if member == "park" { "can_park" } else { "can_set_shutter" };
        if !self.can(cap) {
            return Err(CallError::new(
                ErrorCode::NotImplemented,
                format!("{}: the dome cannot {member} ({cap} is false)", self.ep.address),
            ));
        }
        self.ep.put(member, &[]).await?;
        Ok(json!({}))
    }

    pub async fn make_safe(&self) {
        if self.can("can_set_shutter")
            && let Err(e) = self.ep.put("closeshutter", &[]).await
        {
            tracing::error!("could not close {}: {e}", self.ep.address);
        }
    }
}
