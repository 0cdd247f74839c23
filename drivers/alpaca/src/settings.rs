//! The driver's settings (the `[drivers.settings]` table of teld's config): which
//! Alpaca devices, at which static addresses, serve which teld device.

use std::collections::BTreeMap;

use serde::Deserialize;
use teld_driver_protocol::EquatorialSystem;

use crate::address::{Address, AddressError};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Alpaca ClientID sent with every call (servers use it to tell clients apart).
    #[serde(default = "default_client_id")]
    pub client_id: u32,
    /// Longest wait for any answer but an image, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Longest wait for an image download to start, seconds (large frames take the
    /// server a while to prepare). Once it flows, gaps longer than `timeout_s` fail it.
    #[serde(default = "default_image_timeout")]
    pub image_timeout_s: f64,
    /// teld device name → its Alpaca device.
    pub devices: BTreeMap<String, DeviceSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettings {
    /// `host:port/type/number`; the type says what teld device it is (telescope →
    /// mount, camera, dome, filterwheel, focuser, safetymonitor or
    /// observingconditions → weather).
    pub address: String,
    /// Mount only: the frame the mount's coordinates are in, when the device reports
    /// none or `equOther` (the PyPI simulators report 0 but work in J2000).
    #[serde(default)]
    pub equatorial_system: Option<EquatorialSystem>,
    /// Mount only: tell the mount the site's coordinates at connect (default true).
    #[serde(default)]
    pub set_site: Option<bool>,
    /// Weather only: an ObservingConditions device read alongside the safety monitor.
    #[serde(default)]
    pub conditions: Option<String>,
    /// Weather only: limits that make the site unsafe even when the safety monitor
    /// says safe. Rain above `max_rain_rate` (mm/h; default 0: any rain).
    #[serde(default)]
    pub max_rain_rate: Option<f64>,
    /// m/s.
    #[serde(default)]
    pub max_wind_speed: Option<f64>,
    /// Percent.
    #[serde(default)]
    pub max_humidity: Option<f64>,
    /// Weather only: conditions older than this (ASCOM TimeSinceLastUpdate, seconds)
    /// are unknown, and unknown is unsafe. Default 300.
    #[serde(default)]
    pub max_age_s: Option<f64>,
}

fn default_client_id() -> u32 {
    // Stable per process, distinct between drivers on one machine.
    std::process::id() % 65_536
}

fn default_timeout() -> f64 {
    5.0
}

fn default_image_timeout() -> f64 {
    60.0
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("alpaca driver settings: {0}; see config/examples/alpaca-sim.toml")]
    Shape(String),
    #[error("alpaca driver settings, device `{device}`: {source}")]
    Address { device: String, source: AddressError },
    #[error("alpaca driver settings, device `{device}`: {problem}")]
    Device { device: String, problem: String },
}

impl Settings {
    pub fn from_json(v: &serde_json::Value) -> Result<Settings, SettingsError> {
        let s: Settings = serde_path_to_error::deserialize(v)
            .map_err(|e| SettingsError::Shape(format!("at `{}`: {}", e.path(), e.inner())))?;
        if s.devices.is_empty() {
            return Err(SettingsError::Shape(
                "no devices: add a [drivers.settings.devices.<name>] table with an address".into(),
            ));
        }
        for (what, t) in [("timeout_s", s.timeout_s), ("image_timeout_s", s.image_timeout_s)] {
            if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
                return Err(SettingsError::Shape(format!(
                    "`{what}` = {t}: give a time in seconds between 0 and 3600"
                )));
            }
        }
        for (name, d) in &s.devices {
            d.check(name)?;
        }
        Ok(s)
    }
}

impl DeviceSettings {
    pub fn address(&self, device: &str) -> Result<Address, SettingsError> {
        Address::parse(&self.address)
            .map_err(|source| SettingsError::Address { device: device.into(), source })
    }

    fn check(&self, device: &str) -> Result<(), SettingsError> {
        let address = self.address(device)?;
        let problem = |p: String| SettingsError::Device { device: device.into(), problem: p };
        let weather = matches!(address.device_type, "safetymonitor" | "observingconditions");
        let mount = address.device_type == "telescope";
        if !mount && (self.equatorial_system.is_some() || self.set_site.is_some()) {
            return Err(problem(
                "`equatorial_system` and `set_site` apply to a telescope only".into(),
            ));
        }
        let weather_keys =
            [self.max_rain_rate, self.max_wind_speed, self.max_humidity, self.max_age_s];
        if !weather && (self.conditions.is_some() || weather_keys.iter().any(Option::is_some)) {
            return Err(problem(
                "`conditions` and the weather limits apply to a safetymonitor or observingconditions device only"
                    .into(),
            ));
        }
        if let Some(c) = &self.conditions {
            let a = Address::parse(c)
                .map_err(|source| SettingsError::Address { device: device.into(), source })?;
            if a.device_type != "observingconditions" {
                return Err(problem(format!(
                    "`conditions` = {c} is not an observingconditions device"
                )));
            }
        }
        for (key, v) in [
            ("max_rain_rate", self.max_rain_rate),
            ("max_wind_speed", self.max_wind_speed),
            ("max_humidity", self.max_humidity),
            ("max_age_s", self.max_age_s),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(problem(format!("`{key}` = {v} must be a number of 0 or more")));
            }
        }
        Ok(())
    }
}
