//! The MQTT device spec v1 (`docs/mqtt-devices.md`) in code: topic names and the
//! JSON payloads, shared by the driver and the emulated device so the two cannot
//! drift apart. Parsing is strict and says what was wrong: a device's payload is
//! input from another program, and a bad one must be logged and ignored, never
//! believed and never a panic.

use hifitime::Epoch;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use teld_driver_protocol::ShutterStatus;

/// Version of the topic spec this crate implements. Payloads may carry it as `spec`;
/// absent means 1.
pub const SPEC_VERSION: u32 = 1;

/// Availability payloads (retained, on `<prefix>/availability`).
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

/// The topics of one device under its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    /// `prefix` must be a valid topic name without wildcards or a trailing `/`
    /// (checked by the settings).
    pub fn new(prefix: impl Into<String>) -> Topics {
        Topics { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn state(&self) -> String {
        format!("{}/state", self.prefix)
    }

    pub fn availability(&self) -> String {
        format!("{}/availability", self.prefix)
    }

    pub fn command(&self) -> String {
        format!("{}/command", self.prefix)
    }

    /// Where this device's answers to client `client_id` go. Under the device's
    /// prefix, so one ACL rule per device covers everything about it.
    pub fn reply(&self, client_id: &str) -> String {
        format!("{}/reply/{client_id}", self.prefix)
    }
}

/// Why a topic prefix cannot be used.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("is empty".into());
    }
    if prefix.contains(['+', '#', '\0']) {
        return Err("contains a wildcard (`+`, `#`) or NUL; give a plain topic path".into());
    }
    if prefix.starts_with('$') {
        return Err("starts with `$` (reserved for the broker's own topics)".into());
    }
    if prefix.split('/').any(str::is_empty) {
        return Err("has an empty level (a leading, trailing or doubled `/`)".into());
    }
    if prefix.len() > 1000 {
        return Err("is longer than 1000 bytes".into());
    }
    Ok(())
}

/// A dome or roll-off roof's state as the device publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomeReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<u32>,
    /// The device's clock when it read the state: ISO-8601 UTC, e.g.
    /// `2026-12-06T02:10:00.123Z`.
    pub time: String,
    pub shutter_status: ShutterStatus,
    pub at_park: bool,
    /// A rotating dome turning in azimuth; a roof leaves it out.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub slewing: bool,
}

/// A weather station's state. A quantity the station does not measure is absent,
/// never 0 (a 0 rain rate means "measured: dry").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeatherReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<u32>,
    pub time: String,
    /// The station's own verdict (e.g. its rain sensor's relay).
    pub is_safe: bool,
    /// Percent of sky covered, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_cover: Option<f64>,
    /// Relative humidity, percent, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub humidity: Option<f64>,
    /// mm/h, ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rain_rate: Option<f64>,
    /// m/s, ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wind_speed: Option<f64>,
    /// °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// hPa, station pressure (not reduced to sea level), > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<f64>,
    /// mag/arcsec².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sky_quality: Option<f64>,
}

/// A state payload, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Dome(DomeReport),
    Weather(WeatherReport),
}

impl Report {
    pub fn time(&self) -> &str {
        match self {
            Report::Dome(r) => &r.time,
            Report::Weather(r) => &r.time,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PayloadError {
    #[error("not UTF-8 JSON of the expected shape: {0}")]
    Shape(String),
    #[error("`time` = {time:?} is not an ISO-8601 UTC instant ({why})")]
    Time { time: String, why: String },
    #[error("spec version {0}; this driver speaks version {SPEC_VERSION}")]
    Version(u32),
    #[error("`{field}` = {value} is outside {range}")]
    Range { field: &'static str, value: f64, range: &'static str },
    #[error("availability {0:?} is neither `online` nor `offline`")]
    Availability(String),
}

fn shape<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<T, PayloadError> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        PayloadError::Shape(if at == "." {
            inner.to_string()
        } else {
            format!("at `{at}`: {inner}")
        })
    })
}

fn version(spec: Option<u32>) -> Result<(), PayloadError> {
    match spec {
        None | Some(SPEC_VERSION) => Ok(()),
        Some(v) => Err(PayloadError::Version(v)),
    }
}

/// The device's timestamp as an instant.
pub fn parse_time(time: &str) -> Result<Epoch, PayloadError> {
    teld_driver_protocol::time::parse_utc(time)
        .map_err(|e| PayloadError::Time { time: time.to_string(), why: e.to_string() })
}

/// `2026-12-06T02:10:00.123Z`: what devices (and the emulator) put in `time`.
pub fn format_time(at: Epoch) -> String {
    format!("{}Z", teld_driver_protocol::time::format_utc_digits(at, 3))
}

pub fn parse_dome(payload: &[u8]) -> Result<DomeReport, PayloadError> {
    let r: DomeReport = shape(payload)?;
    version(r.spec)?;
    parse_time(&r.time)?;
    Ok(r)
}

pub fn parse_weather(payload: &[u8]) -> Result<WeatherReport, PayloadError> {
    let r: WeatherReport = shape(payload)?;
    version(r.spec)?;
    parse_time(&r.time)?;
    let checks: [(&'static str, Option<f64>, f64, f64, &'static str); 7] = [
        ("cloud_cover", r.cloud_cover, 0.0, 100.0, "0..=100 %"),
        ("humidity", r.humidity, 0.0, 100.0, "0..=100 %"),
        ("rain_rate", r.rain_rate, 0.0, f64::MAX, "0 mm/h or more"),
        ("wind_speed", r.wind_speed, 0.0, f64::MAX, "0 m/s or more"),
        ("temperature", r.temperature, -90.0, 70.0, "-90..=70 °C"),
        ("pressure", r.pressure, f64::MIN_POSITIVE, 1100.0, "0..=1100 hPa"),
        ("sky_quality", r.sky_quality, -5.0, 30.0, "-5..=30 mag/arcsec²"),
    ];
    for (field, value, min, max, range) in checks {
        if let Some(v) = value
            && !(min..=max).contains(&v)
        {
            return Err(PayloadError::Range { field, value: v, range });
        }
    }
    Ok(r)
}

pub fn parse_availability(payload: &[u8]) -> Result<bool, PayloadError> {
    match std::str::from_utf8(payload).map(str::trim) {
        Ok(ONLINE) => Ok(true),
        Ok(OFFLINE) => Ok(false),
        _ => Err(PayloadError::Availability(String::from_utf8_lossy(payload).into_owned())),
    }
}

/// A command, on `<prefix>/command` with a response topic and correlation data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<u32>,
    pub method: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub params: Value,
    /// When the sender stops waiting (ISO-8601 UTC). A device that receives the
    /// command later (it was frozen, or the broker held it) must not act on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl Command {
    /// True when `expires` has passed at `now` (by the device's clock). An
    /// unreadable `expires` counts as passed: acting on it would be a guess.
    pub fn expired(&self, now: Epoch) -> bool {
        self.expires.as_deref().is_some_and(|e| parse_time(e).map_or(true, |at| now > at))
    }
}

pub fn parse_command(payload: &[u8]) -> Result<Command, PayloadError> {
    let c: Command = shape(payload)?;
    version(c.spec)?;
    Ok(c)
}

/// Error codes in replies, and what teld makes of them.
pub mod code {
    /// The device has no such method (teld: `not_implemented`).
    pub const UNKNOWN_METHOD: &str = "unknown_method";
    /// Missing or malformed params (teld: `invalid_value`).
    pub const BAD_PARAMS: &str = "bad_params";
    /// Not possible in the device's current state, e.g. a roof whose motor is
    /// locked out (teld: `invalid_operation`).
    pub const INVALID_STATE: &str = "invalid_state";
    /// The hardware failed (teld: `device_fault`); also any code teld does not know.
    pub const FAULT: &str = "fault";
    /// The command payload could not be parsed (teld: `bad_request`).
    pub const BAD_COMMAND: &str = "bad_command";
    /// Received after its `expires`; not carried out (teld: `timeout`).
    pub const EXPIRED: &str = "expired";
}

/// The answer to a command, on the command's response topic with its correlation data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyError {
    pub code: String,
    pub message: String,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply { ok: true, error: None }
    }

    pub fn err(code: &str, message: impl Into<String>) -> Reply {
        Reply { ok: false, error: Some(ReplyError { code: code.into(), message: message.into() }) }
    }
}

pub fn parse_reply(payload: &[u8]) -> Result<Reply, PayloadError> {
    let r: Reply = shape(payload)?;
    if !r.ok && r.error.is_none() {
        return Err(PayloadError::Shape("`ok` is false but there is no `error`".into()));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dome_states_parse_and_bad_ones_say_why() {
        let ok =
            br#"{"time":"2026-12-06T02:10:00.123Z","shutter_status":"opening","at_park":false}"#;
        let r = parse_dome(ok).unwrap();
        assert_eq!(r.shutter_status, ShutterStatus::Opening);
        let bad = parse_dome(
            br#"{"time":"2026-12-06T02:10:00Z","shutter_status":"ajar","at_park":false}"#,
        );
        assert!(bad.unwrap_err().to_string().contains("shutter_status"));
        let when = parse_dome(br#"{"time":"yesterday","shutter_status":"open","at_park":false}"#);
        assert!(matches!(when, Err(PayloadError::Time { .. })));
        let v2 = parse_dome(
            br#"{"spec":2,"time":"2026-12-06T02:10:00Z","shutter_status":"open","at_park":false}"#,
        );
        assert_eq!(v2, Err(PayloadError::Version(2)));
        assert!(parse_dome(b"\xff\xfe").is_err());
        assert!(parse_dome(b"").is_err());
    }

    #[test]
    fn weather_readings_are_range_checked_and_absent_means_not_measured() {
        let r = parse_weather(br#"{"time":"2026-12-06T02:10:00Z","is_safe":true,"rain_rate":0.0}"#)
            .unwrap();
        assert_eq!((r.rain_rate, r.humidity), (Some(0.0), None));
        let e = parse_weather(br#"{"time":"2026-12-06T02:10:00Z","is_safe":true,"humidity":140}"#);
        assert!(e.unwrap_err().to_string().contains("humidity"));
        let e = parse_weather(br#"{"time":"2026-12-06T02:10:00Z","is_safe":"yes"}"#);
        assert!(e.unwrap_err().to_string().contains("is_safe"));
    }

    #[test]
    fn availability_and_replies() {
        assert_eq!(parse_availability(b"online"), Ok(true));
        assert_eq!(parse_availability(b"offline"), Ok(false));
        assert!(parse_availability(b"ON").is_err());
        assert_eq!(parse_reply(br#"{"ok":true}"#).unwrap(), Reply::ok());
        assert!(parse_reply(br#"{"ok":false}"#).is_err());
        let t = format_time(parse_time("2026-12-06T02:10:00.5Z").unwrap());
        assert_eq!(t, "2026-12-06T02:10:00.500Z");
    }

    #[test]
    fn commands_expire_by_their_own_deadline() {
        let c = parse_command(br#"{"method":"open","expires":"2026-12-06T02:10:05Z"}"#).unwrap();
        let at = |t: &str| parse_time(t).unwrap();
        assert!(!c.expired(at("2026-12-06T02:10:04Z")));
        assert!(c.expired(at("2026-12-06T02:10:06Z")));
        let never = parse_command(br#"{"method":"open"}"#).unwrap();
        assert!(
            !never.expired(at("2030-01-01T00:00:00Z")),
            "no deadline: the broker's expiry only"
        );
        let garbled = parse_command(br#"{"method":"open","expires":"soon"}"#).unwrap();
        assert!(garbled.expired(at("2026-01-01T00:00:00Z")), "unreadable counts as passed");
    }

    #[test]
    fn prefixes_without_wildcards_or_empty_levels() {
        assert!(check_prefix("obs/roof").is_ok());
        for bad in ["", "obs/+", "obs/#", "/obs", "obs/", "obs//roof", "$SYS/x"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
