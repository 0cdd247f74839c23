//! A weather station behind MQTT as a teld weather device.
//!
//! Safe only when the station says so **and** its readings are inside the limits
//! **and** its state is fresh (see [`crate::tracked`]). Unknown is unsafe: a stale,
//! offline or never-heard station reads as not connected and unsafe, with the reason
//! logged each time the verdict changes.

use std::sync::Mutex;

use teld_driver_protocol::WeatherState;

use crate::wire::{Report, WeatherReport};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// mm/h; above it the site is unsafe. 0 by default: any rain.
    pub max_rain_rate: f64,
    /// m/s.
    pub max_wind_speed: Option<f64>,
    /// Percent.
    pub max_humidity: Option<f64>,
}

const UNKNOWN: &str = "state unknown";

/// Remembers the last verdict's kind so a change is logged once, not every poll.
#[derive(Default)]
pub struct Verdicts {
    last: Mutex<Option<String>>,
}

impl Verdicts {
    /// Logs `reason` (None: safe) for `device` when it is a new kind of verdict: a
    /// state unknown for whatever reason (its age ticking up, judged by arrival or by
    /// its own time) is one spell, and so are limits whose numbers change.
    pub fn note(&self, device: &str, reason: Option<&str>) {
        let kind = reason.map(|r| {
            if r.starts_with(UNKNOWN) {
                UNKNOWN.to_string()
            } else {
                r.replace(|c: char| c.is_ascii_digit() || c == '.', "")
            }
        });
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if *last == kind {
            return;
        }
        match reason {
            Some(r) => tracing::warn!(device, "weather unsafe: {r}"),
            None => tracing::info!(device, "weather safe"),
        }
        *last = kind;
    }
}

/// The teld state for a fresh report, and why it is unsafe (None when safe).
pub fn judge(r: &WeatherReport, l: &Limits) -> (WeatherState, Option<String>) {
    let mut why = Vec::new();
    if !r.is_safe {
        why.push("the station reports unsafe".to_string());
    }
    let mut over = |name: &str, v: Option<f64>, max: Option<f64>, unit: &str| {
        if let (Some(v), Some(max)) = (v, max)
            && v > max
        {
            why.push(format!("{name} {v} {unit} above the limit {max}"));
        }
    };
    over("rain rate", r.rain_rate, Some(l.max_rain_rate), "mm/h");
    over("wind speed", r.wind_speed, l.max_wind_speed, "m/s");
    over("humidity", r.humidity, l.max_humidity, "%");
    let state = WeatherState {
        connected: true,
        is_safe: why.is_empty(),
        cloud_cover: r.cloud_cover,
        humidity: r.humidity,
        rain_rate: r.rain_rate,
        wind_speed: r.wind_speed,
        temperature: r.temperature,
        pressure: r.pressure,
        sky_quality: r.sky_quality,
    };
    (state, (!why.is_empty()).then(|| why.join("; ")))
}

/// The teld state when the station's state cannot be believed: unknown is unsafe,
/// and no reading is shown (an old one would pass for current).
pub fn unknown() -> WeatherState {
    WeatherState {
        connected: false,
        is_safe: false,
        cloud_cover: None,
        humidity: None,
        rain_rate: None,
        wind_speed: None,
        temperature: None,
        pressure: None,
        sky_quality: None,
    }
}

/// The state from what the driver knows: a fresh report, or why there is none.
pub fn state(fresh: Result<&Report, String>, l: &Limits) -> (WeatherState, Option<String>) {
    match fresh {
        Ok(Report::Weather(r)) => judge(r, l),
        Ok(Report::Dome(_)) => (unknown(), Some("the device published a dome state".into())),
        Err(why) => (unknown(), Some(format!("{UNKNOWN}, counted as unsafe: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(safe: bool, rain: Option<f64>, wind: Option<f64>) -> WeatherReport {
        WeatherReport {
            spec: None,
            time: "2026-12-06T02:00:00Z".into(),
            is_safe: safe,
            cloud_cover: None,
            humidity: Some(50.0),
            rain_rate: rain,
            wind_speed: wind,
            temperature: Some(8.0),
            pressure: None,
            sky_quality: None,
        }
    }

    const LIMITS: Limits =
        Limits { max_rain_rate: 0.0, max_wind_speed: Some(15.0), max_humidity: None };

    #[test]
    fn rain_wind_the_station_and_unknown_make_it_unsafe() {
        assert_eq!(judge(&report(true, Some(0.0), Some(3.0)), &LIMITS).1, None);
        let (s, why) = judge(&report(true, Some(0.2), Some(3.0)), &LIMITS);
        assert!(!s.is_safe && why.unwrap().contains("rain rate 0.2"));
        assert!(judge(&report(true, Some(0.0), Some(25.0)), &LIMITS).1.unwrap().contains("wind"));
        assert!(judge(&report(false, None, None), &LIMITS).1.unwrap().contains("station"));
        let (s, _) = judge(&report(true, None, None), &LIMITS);
        assert!(s.is_safe, "sensors it does not have are not limits");
        assert_eq!((s.rain_rate, s.temperature), (None, Some(8.0)), "absent stays absent");
        let (s, why) = state(Err("no state yet".into()), &LIMITS);
        assert!(!s.is_safe && !s.connected && s.humidity.is_none());
        assert!(why.unwrap().contains("no state yet"));
    }
}
