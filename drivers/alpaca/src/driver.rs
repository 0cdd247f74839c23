//! The set of Alpaca devices one driver process serves, behind
//! [`teld_driver_protocol::serve`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use teld_driver_protocol::serve::{CallError, Devices, Polled};
use teld_driver_protocol::{Call, Configure, DeviceInfo, DeviceKind, DeviceState, ErrorCode};

use crate::address::Address;
use crate::camera::Camera;
use crate::client::{Endpoint, Failure, Session, Timeouts};
use crate::dome::Dome;
use crate::filterwheel::FilterWheel;
use crate::focuser::Focuser;
use crate::http::{Server, Wait};
use crate::mount::Mount;
use crate::settings::{DeviceSettings, Settings};
use crate::weather::{Limits, Weather};

pub enum Device {
    Mount(Mount),
    Camera(Camera),
    Dome(Dome),
    Weather(Weather),
    FilterWheel(FilterWheel),
    Focuser(Focuser),
}

impl Device {
    async fn state(&self) -> Result<DeviceState, Failure> {
        match self {
            Device::Mount(d) => d.state().await,
            Device::Camera(d) => d.state().await,
            Device::Dome(d) => d.state().await,
            Device::Weather(d) => d.state().await,
            Device::FilterWheel(d) => d.state().await,
            Device::Focuser(d) => d.state().await,
        }
    }

    async fn call(&self, call: Call) -> Result<Value, CallError> {
        match self {
            Device::Mount(d) => d.call(call).await,
            Device::Camera(d) => d.call(call).await,
            Device::Dome(d) => d.call(call).await,
            Device::Weather(d) => d.call(call).await,
            Device::FilterWheel(d) => d.call(call).await,
            Device::Focuser(d) => d.call(call).await,
        }
    }

    fn kind(&self) -> DeviceKind {
        match self {
            Device::Mount(_) => DeviceKind::Mount,
            Device::Camera(_) => DeviceKind::Camera,
            Device::Dome(_) => DeviceKind::Dome,
            Device::Weather(_) => DeviceKind::Weather,
            Device::FilterWheel(_) => DeviceKind::FilterWheel,
            Device::Focuser(_) => DeviceKind::Focuser,
        }
    }

    fn capabilities(&self) -> BTreeMap<String, bool> {
        match self {
            Device::Mount(d) => d.capabilities(),
            Device::Camera(d) => d.capabilities(),
            Device::Dome(d) => d.capabilities(),
            Device::Focuser(d) => d.capabilities(),
            Device::Weather(_) | Device::FilterWheel(_) => BTreeMap::new(),
        }
    }
}

pub struct AlpacaDevices {
    devices: BTreeMap<String, Arc<Device>>,
}

/// Servers shared by the devices on them, so each has one connection pool.
struct Servers(BTreeMap<String, Arc<Server>>);

impl Servers {
    fn get(&mut self, addr: &Address) -> Arc<Server> {
        self.0
            .entry(addr.server.clone())
            .or_insert_with(|| Arc::new(Server::new(&addr.server)))
            .clone()
    }
}

impl Devices for AlpacaDevices {
    async fn configure(cfg: Configure) -> Result<(Self, Vec<DeviceInfo>), CallError> {
        let settings = Settings::from_json(&cfg.settings)
            .map_err(|e| CallError::new(ErrorCode::InvalidValue, e.to_string()))?;
        let secs = Duration::from_secs_f64;
        let call = Wait { answer: secs(settings.timeout_s), idle: secs(settings.timeout_s) };
        let timeouts = Timeouts {
            call,
            image: Wait { answer: secs(settings.image_timeout_s), idle: call.idle },
        };
        let session = Arc::new(Session::new(settings.client_id));
        let mut servers = Servers(BTreeMap::new());
        let mut endpoint =
            |a: Address| Endpoint::new(a.clone(), servers.get(&a), session.clone(), timeouts);
        let mut devices = BTreeMap::new();
        let mut infos = Vec::new();
        for (name, ds) in &settings.devices {
            let address = ds
                .address(name)
                .map_err(|e| CallError::new(ErrorCode::InvalidValue, e.to_string()))?;
            let label = address.to_string();
            let ep = endpoint(address.clone());
            let description = match ep.get_string("name").await {
                Ok(n) => format!("{n} (Alpaca {label})"),
                Err(e) => return Err(CallError::new(e.code(), format!("device `{name}`: {e}"))),
            };
            let device = connect_device(ep, ds, &cfg, &mut endpoint)
                .await
                .map_err(|e| CallError::new(e.code, format!("device `{name}`: {}", e.message)))?;
            tracing::info!(device = name, address = %label, "connected");
            infos.push(DeviceInfo {
                name: name.clone(),
                kind: device.kind(),
                description,
                capabilities: device.capabilities(),
            });
            devices.insert(name.clone(), Arc::new(device));
        }
        Ok((AlpacaDevices { devices }, infos))
    }

    async fn call(&self, device: &str, call: Call) -> Result<Value, CallError> {
        let Some(d) = self.devices.get(device) else {
            let known: Vec<&str> = self.devices.keys().map(String::as_str).collect();
            return Err(CallError::new(
                ErrorCode::BadRequest,
                format!("no device `{device}` in this driver (it has: {})", known.join(", ")),
            ));
        };
        match call {
            Call::GetState => {
                let state = d.state().await.map_err(CallError::from)?;
                Ok(serde_json::to_value(state).unwrap_or_default())
            }
            call => d.call(call).await,
        }
    }

    async fn poll(&self) -> Vec<Polled> {
        // Concurrently, so one hung device does not delay the others' reports.
        let mut set = tokio::task::JoinSet::new();
        for (name, d) in &self.devices {
            let (name, d) = (name.clone(), d.clone());
            set.spawn(async move { (name, d.state().await.map_err(CallError::from)) });
        }
        let mut out: Vec<Polled> = set.join_all().await;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    async fn make_safe(&self) {
        let mut set = tokio::task::JoinSet::new();
        for d in self.devices.values() {
            let d = d.clone();
            set.spawn(async move {
                match &*d {
                    Device::Mount(m) => m.make_safe().await,
                    Device::Camera(c) => c.make_safe().await,
                    Device::Dome(m) => m.make_safe().await,
                    Device::Focuser(f) => f.make_safe().await,
                    Device::Weather(_) | Device::FilterWheel(_) => {}
                }
            });
        }
        set.join_all().await;
    }
}

async fn connect_device(
    ep: Endpoint,
    ds: &DeviceSettings,
    cfg: &Configure,
    endpoint: &mut impl FnMut(Address) -> Endpoint,
) -> Result<Device, CallError> {
    Ok(match ep.address.device_type {
        "telescope" => {
            let site = ds.set_site.unwrap_or(true).then_some(cfg.site);
            Device::Mount(Mount::connect(ep, ds.equatorial_system, site).await?)
        }
        "camera" => Device::Camera(Camera::connect(ep, PathBuf::from(&cfg.spool_dir)).await?),
        "dome" => Device::Dome(Dome::connect(ep).await?),
        "filterwheel" => Device::FilterWheel(FilterWheel::connect(ep).await?),
        "focuser" => Device::Focuser(Focuser::connect(ep).await?),
        kind => {
            let limits = Limits {
                max_rain_rate: ds.max_rain_rate.unwrap_or(0.0),
                max_wind_speed: ds.max_wind_speed,
                max_humidity: ds.max_humidity,
                max_age_s: ds.max_age_s.unwrap_or(300.0),
            };
            let extra = match &ds.conditions {
                Some(c) => Some(endpoint(
                    Address::parse(c)
                        .map_err(|e| CallError::new(ErrorCode::InvalidValue, e.to_string()))?,
                )),
                None => None,
            };
            let (safety, conditions) =
                if kind == "safetymonitor" { (Some(ep), extra) } else { (None, Some(ep)) };
            Device::Weather(Weather::connect(safety, conditions, limits).await?)
        }
    })
}
