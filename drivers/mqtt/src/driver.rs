//! The MQTT devices one driver process serves, behind
//! [`teld_driver_protocol::serve`].

use std::collections::BTreeMap;

use hifitime::Epoch;
use serde_json::Value;
use teld_driver_protocol::serve::{CallError, Devices, Polled};
use teld_driver_protocol::{Call, Configure, DeviceInfo, DeviceKind, DeviceState, ErrorCode};
use tokio::time::Instant;

use crate::link::{Link, LinkError};
use crate::settings::{Kind, Settings};
use crate::tracked::Availability;
use crate::weather::{self, Limits, Verdicts};
use crate::{dome, wire};

struct Device {
    kind: Kind,
    limits: Limits,
    verdicts: Verdicts,
}

pub struct MqttDevices {
    link: Link,
    devices: BTreeMap<String, Device>,
}

impl MqttDevices {
    fn device(&self, name: &str) -> Result<&Device, CallError> {
        self.devices.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.devices.keys().map(String::as_str).collect();
            CallError::new(
                ErrorCode::BadRequest,
                format!("no device `{name}` in this driver (it has: {})", known.join(", ")),
            )
        })
    }

    /// The device's state now, from its retained topics. Device clocks are real
    /// clocks, so ages are judged on the system clock, not the daemon's (which may
    /// be simulated).
    fn state(&self, name: &str, d: &Device) -> Result<DeviceState, CallError> {
        let now = (Instant::now(), Epoch::now().unwrap_or_default());
        let computed = self.link.with(name, |t| match d.kind {
            Kind::Dome => (dome::state(t.fresh(now.0, now.1)), None),
            Kind::Weather => {
                let (s, why) = weather::state(t.fresh(now.0, now.1), &d.limits);
                (Ok(DeviceState::Weather(s)), why)
            }
        });
        let Some((state, why)) = computed else {
            return Err(CallError::new(ErrorCode::BadRequest, format!("no device `{name}`")));
        };
        if d.kind == Kind::Weather {
            d.verdicts.note(name, why.as_deref());
        }
        state
    }

    async fn command(&self, name: &str, call: Call) -> Result<Value, CallError> {
        let method = dome::method(&call)?;
        // Known offline: say so now rather than after the timeout. (Unknown
        // availability is tried: the device may not publish it.)
        let offline = self.link.with(name, |t| t.availability == Availability::Offline);
        if offline == Some(true) {
            let prefix = self.link.with(name, |t| t.prefix.clone()).unwrap_or_default();
            return Err(CallError::new(
                ErrorCode::DeviceFault,
                format!(
                    "{name} ({prefix}) is offline: `{method}` not sent; check its power and network"
                ),
            ));
        }
        match self.link.command(name, method).await {
            Ok(reply) => dome::answer(name, method, reply),
            Err(e @ LinkError::Timeout { .. }) => {
                Err(CallError::new(ErrorCode::Timeout, e.to_string()))
            }
            Err(e) => Err(CallError::new(ErrorCode::DeviceFault, e.to_string())),
        }
    }
}

impl Devices for MqttDevices {
    async fn configure(cfg: Configure) -> Result<(Self, Vec<DeviceInfo>), CallError> {
        let settings = Settings::from_json(&cfg.settings)
            .map_err(|e| CallError::new(ErrorCode::InvalidValue, e.to_string()))?;
        let link = Link::connect(&settings)
            .await
            .map_err(|e| CallError::new(ErrorCode::NotConnected, e.to_string()))?;
        let mut devices = BTreeMap::new();
        let mut infos = Vec::new();
        for (name, ds) in &settings.devices {
            let (kind, capabilities) = match ds.kind {
                Kind::Dome => (
                    DeviceKind::Dome,
                    [("can_set_shutter", true), ("can_park", true), ("can_abort_slew", true)]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                ),
                Kind::Weather => (DeviceKind::Weather, BTreeMap::new()),
            };
            infos.push(DeviceInfo {
                name: name.clone(),
                kind,
                description: format!(
                    "MQTT {} at {} on {} (spec v{})",
                    kind,
                    ds.prefix,
                    settings.broker,
                    wire::SPEC_VERSION
                ),
                capabilities,
            });
            let device =
                Device { kind: ds.kind, limits: ds.limits(), verdicts: Verdicts::default() };
            devices.insert(name.clone(), device);
            tracing::info!(device = name, prefix = ds.prefix, "configured");
        }
        Ok((MqttDevices { link, devices }, infos))
    }

    async fn call(&self, device: &str, call: Call) -> Result<Value, CallError> {
        let d = self.device(device)?;
        match (d.kind, call) {
            (_, Call::GetState) => {
                let state = self.state(device, d)?;
                Ok(serde_json::to_value(state).unwrap_or_default())
            }
            (Kind::Dome, call) => self.command(device, call).await,
            (Kind::Weather, call) => Err(CallError::new(
                ErrorCode::NotImplemented,
                format!("`{}` is not a weather call", call.method()),
            )),
        }
    }

    async fn poll(&self) -> Vec<Polled> {
        // Reads only memory: the states arrive on their own.
        self.devices.iter().map(|(name, d)| (name.clone(), self.state(name, d))).collect()
    }

    async fn make_safe(&self) {
        for (name, d) in &self.devices {
            if d.kind == Kind::Dome
                && let Err(e) = self.command(name, Call::CloseShutter).await
            {
                tracing::error!(device = name, "could not close: {}", e.message);
            }
        }
    }
}
