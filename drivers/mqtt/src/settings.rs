//! The driver's settings (the `[drivers.settings]` table of teld's config): which
//! broker, and which devices under which topic prefixes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::weather::Limits;
use crate::wire;

/// A device answers a command as soon as it has started acting (a roof starts its
/// motor within a second); 5 s covers a busy broker and a Wi-Fi hop, and stays well
/// under the daemon's default 10 s request timeout so the driver always answers first.
pub const DEFAULT_COMMAND_TIMEOUT_S: f64 = 5.0;

/// Devices publish at least every 10 s (spec); three missed publications make a
/// state unknown — one lost packet is no alarm, a dead device is noticed in 30 s.
pub const DEFAULT_MAX_AGE_S: f64 = 30.0;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `host:port` of the MQTT 5 broker (IPv6 in brackets).
    pub broker: String,
    /// MQTT client id. Replies come back on a topic named after it, so two drivers
    /// on one broker need different ids. Default: `teld-mqtt-<pid>`.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Longest wait for a device's reply to a command, seconds.
    #[serde(default = "default_command_timeout")]
    pub command_timeout_s: f64,
    /// A state older than this is unknown, seconds (per device overridable).
    #[serde(default = "default_max_age")]
    pub max_age_s: f64,
    /// teld device name → its MQTT device.
    pub devices: BTreeMap<String, DeviceSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A dome or roll-off roof: shutter open/close/abort.
    Dome,
    /// A weather station / safety monitor.
    Weather,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettings {
    pub kind: Kind,
    /// The device's topic prefix: its topics are `<prefix>/state`, `/availability`,
    /// `/command`, `/reply/<client_id>`.
    pub prefix: String,
    #[serde(default)]
    pub max_age_s: Option<f64>,
    /// Weather only: rain above this (mm/h) is unsafe; default 0 — any rain.
    #[serde(default)]
    pub max_rain_rate: Option<f64>,
    /// Weather only: m/s.
    #[serde(default)]
    pub max_wind_speed: Option<f64>,
    /// Weather only: percent.
    #[serde(default)]
    pub max_humidity: Option<f64>,
}

fn default_command_timeout() -> f64 {
    DEFAULT_COMMAND_TIMEOUT_S
}

fn default_max_age() -> f64 {
    DEFAULT_MAX_AGE_S
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("mqtt driver settings: {0}; see config/examples/mqtt-devices.toml")]
    Shape(String),
    #[error("mqtt driver settings, device `{device}`: {problem}")]
    Device { device: String, problem: String },
}

impl Settings {
    pub fn from_json(v: &serde_json::Value) -> Result<Settings, SettingsError> {
        let s: Settings = serde_path_to_error::deserialize(v)
            .map_err(|e| SettingsError::Shape(format!("at `{}`: {}", e.path(), e.inner())))?;
        s.broker_address()?;
        if s.devices.is_empty() {
            return Err(SettingsError::Shape(
                "no devices: add a [drivers.settings.devices.<name>] table with kind and prefix"
                    .into(),
            ));
        }
        if let Some(id) = &s.client_id
            && (id.is_empty() || id.contains(['+', '#', '/']))
        {
            return Err(SettingsError::Shape(format!(
                "`client_id` = {id:?}: give a non-empty id without `/`, `+` or `#` (it names the reply topic)"
            )));
        }
        if s.password.is_some() && s.username.is_none() {
            return Err(SettingsError::Shape(
                "`password` without `username`: MQTT sends no password without a user name".into(),
            ));
        }
        seconds("command_timeout_s", s.command_timeout_s, 0.1, 600.0)
            .map_err(SettingsError::Shape)?;
        seconds("max_age_s", s.max_age_s, 1.0, 86_400.0).map_err(SettingsError::Shape)?;
        let mut prefixes: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, d) in &s.devices {
            d.check().map_err(|problem| SettingsError::Device { device: name.clone(), problem })?;
            if let Some(other) = prefixes.insert(&d.prefix, name) {
                return Err(SettingsError::Device {
                    device: name.clone(),
                    problem: format!("`prefix` {:?} is also device `{other}`'s", d.prefix),
                });
            }
        }
        Ok(s)
    }

    /// Host and port of the broker.
    pub fn broker_address(&self) -> Result<(String, u16), SettingsError> {
        let bad = || {
            SettingsError::Shape(format!(
                "`broker` = {:?}: give host:port, e.g. \"127.0.0.1:1883\"",
                self.broker
            ))
        };
        let (host, port) = self.broker.rsplit_once(':').ok_or_else(bad)?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok((host.to_string(), port))
    }

    pub fn client_id(&self) -> String {
        self.client_id.clone().unwrap_or_else(|| format!("teld-mqtt-{}", std::process::id()))
    }

    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.command_timeout_s)
    }

    pub fn max_age(&self, d: &DeviceSettings) -> Duration {
        Duration::from_secs_f64(d.max_age_s.unwrap_or(self.max_age_s))
    }
}

impl DeviceSettings {
    fn check(&self) -> Result<(), String> {
        wire::check_prefix(&self.prefix)
            .map_err(|why| format!("`prefix` {:?} {why}", self.prefix))?;
        if let Some(age) = self.max_age_s {
            seconds("max_age_s", age, 1.0, 86_400.0)?;
        }
        let limits = [
            ("max_rain_rate", self.max_rain_rate),
            ("max_wind_speed", self.max_wind_speed),
            ("max_humidity", self.max_humidity),
        ];
        if self.kind == Kind::Dome
            && let Some((key, _)) = limits.iter().find(|(_, v)| v.is_some())
        {
            return Err(format!("`{key}` is a weather limit; this device is a dome"));
        }
        for (key, v) in limits {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!("`{key}` = {v} must be a number of 0 or more"));
            }
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_rain_rate: self.max_rain_rate.unwrap_or(0.0),
            max_wind_speed: self.max_wind_speed,
            max_humidity: self.max_humidity,
        }
    }
}

fn seconds(key: &str, v: f64, min: f64, max: f64) -> Result<(), String> {
    if v.is_finite() && (min..=max).contains(&v) {
        Ok(())
    } else {
        Err(format!("`{key}` = {v}: give a time in seconds between {min} and {max}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn base() -> serde_json::Value {
        json!({"broker": "127.0.0.1:1883", "devices": {
            "roof": {"kind": "dome", "prefix": "obs/roof"},
            "weather": {"kind": "weather", "prefix": "obs/weather", "max_wind_speed": 15.0}}})
    }

    fn refused(v: serde_json::Value) -> String {
        Settings::from_json(&v).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_the_named_constants() {
        let s = Settings::from_json(&base()).unwrap();
        assert_eq!(s.command_timeout_s, DEFAULT_COMMAND_TIMEOUT_S);
        assert_eq!(s.max_age(&s.devices["roof"]), Duration::from_secs(30));
        assert_eq!(s.devices["weather"].limits().max_rain_rate, 0.0);
        assert!(s.client_id().starts_with("teld-mqtt-"));
    }

    #[test]
    fn bad_settings_are_refused_naming_the_key() {
        let mut v = base();
        v["colour"] = json!("red");
        assert!(refused(v).contains("colour"));
        let mut v = base();
        v["broker"] = json!("localhost");
        assert!(refused(v).contains("host:port"));
        let mut v = base();
        v["devices"]["roof"]["kind"] = json!("telescope");
        assert!(refused(v).contains("kind"));
        let mut v = base();
        v["devices"]["roof"]["prefix"] = json!("obs/#");
        assert!(refused(v).contains("wildcard"));
        let mut v = base();
        v["devices"]["roof"]["max_wind_speed"] = json!(3.0);
        assert!(refused(v).contains("weather limit"));
        let mut v = base();
        v["devices"]["weather"]["prefix"] = json!("obs/roof");
        assert!(refused(v).contains("also device"));
        let mut v = base();
        v["command_timeout_s"] = json!(0.0);
        assert!(refused(v).contains("command_timeout_s"));
        let mut v = base();
        v["password"] = json!("x");
        assert!(refused(v).contains("username"));
        assert!(refused(json!({"broker": "h:1", "devices": {}})).contains("no devices"));
    }
}
