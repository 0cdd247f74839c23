//! The driver's settings (the `[drivers.settings]` table of teld's config): which
//! serial port, at what speed, speaking which LX200 dialect.

use std::time::Duration;

use serde::Deserialize;

/// The power-on speed of every Meade LX200 and Autostar, and OnStep's default.
pub const DEFAULT_BAUD: u32 = 9600;
/// Meade's slowest ordinary answer (`:GR#` on a classic while it slews) comes well
/// within half a second; 2 s leaves margin without letting a dead mount hide for long.
pub const DEFAULT_TIMEOUT_S: f64 = 2.0;
/// Reconnect attempts back off up to this: a replugged USB adapter is found within a
/// few seconds, and a port that stays gone costs one failed open(2) per period.
pub const DEFAULT_RECONNECT_MAX_S: f64 = 5.0;
/// The device name teld's config refers to (`mount = "lx200/mount"`).
pub const DEVICE: &str = "mount";

/// Line speeds termios can set; anything else is a typo.
const BAUDS: [u32; 9] = [1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400];

/// Which LX200 command set beyond Meade's generic one the mount speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialectSetting {
    /// Ask the mount (`:GVP#`): `On-Step` means OnStep, anything else generic.
    Auto,
    Generic,
    Onstep,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Serial device path, e.g. `/dev/ttyUSB0`; prefer the stable
    /// `/dev/serial/by-id/...` name, which survives replugging into another socket.
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default = "default_dialect")]
    pub dialect: DialectSetting,
    /// Longest wait for one answer, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Longest pause between reconnect attempts after the port vanished, seconds.
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_s: f64,
    /// Tell the mount the site's latitude and longitude at every (re)connect.
    #[serde(default = "yes")]
    pub set_site: bool,
    /// Set the mount's date and time from teld's clock at every (re)connect and on
    /// every clock change.
    #[serde(default = "yes")]
    pub set_time: bool,
}

fn default_baud() -> u32 {
    DEFAULT_BAUD
}
fn default_dialect() -> DialectSetting {
    DialectSetting::Auto
}
fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT_S
}
fn default_reconnect_max() -> f64 {
    DEFAULT_RECONNECT_MAX_S
}
fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
#[error(
    "lx200 driver settings: {0}; see drivers/lx200/README.md and config/examples/lx200-pty.toml"
)]
pub struct SettingsError(String);

impl Settings {
    pub fn from_json(v: &serde_json::Value) -> Result<Settings, SettingsError> {
        let s: Settings = serde_path_to_error::deserialize(v)
            .map_err(|e| SettingsError(format!("at `{}`: {}", e.path(), e.inner())))?;
        if s.port.trim().is_empty() {
            return Err(SettingsError(
                "`port` is empty: give the serial device, e.g. \"/dev/ttyUSB0\"".into(),
            ));
        }
        if !BAUDS.contains(&s.baud) {
            return Err(SettingsError(format!(
                "`baud` = {} is not a serial line speed; LX200 mounts use 9600 (OnStep also 19200..115200); one of {BAUDS:?}",
                s.baud
            )));
        }
        for (key, v, max) in
            [("timeout_s", s.timeout_s, 60.0), ("reconnect_max_s", s.reconnect_max_s, 600.0)]
        {
            if !(v.is_finite() && v >= 0.05 && v <= max) {
                return Err(SettingsError(format!(
                    "`{key}` = {v}: give a time in seconds between 0.05 and {max}"
                )));
            }
        }
        Ok(s)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_in() {
        let s = Settings::from_json(&json!({"port": "/dev/ttyUSB0"})).unwrap();
        assert_eq!(s.baud, 9600);
        assert_eq!(s.dialect, DialectSetting::Auto);
        assert!(s.set_site && s.set_time);
    }

    #[test]
    fn bad_settings_say_what_to_fix() {
        for (v, needle) in [
            (json!({}), "missing field `port`"),
            (json!({"port": "/dev/x", "speed": 9600}), "unknown field `speed`"),
            (json!({"port": "/dev/x", "baud": 9601}), "not a serial line speed"),
            (json!({"port": "/dev/x", "dialect": "10micron"}), "dialect"),
            (json!({"port": " "}), "`port` is empty"),
            (json!({"port": "/dev/x", "timeout_s": 0.0}), "`timeout_s` = 0"),
        ] {
            let e = Settings::from_json(&v).unwrap_err().to_string();
            assert!(e.contains(needle), "{v}: {e}");
        }
    }
}
