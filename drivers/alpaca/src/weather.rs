//! ISafetyMonitor and IObservingConditions over Alpaca, as one teld weather device.
//!
//! The site is safe only when the safety monitor says so **and** the conditions are
//! inside the configured limits **and** fresh: a reading older than `max_age_s`
//! counts as unknown, and unknown counts as unsafe. A sensor the device does not
//! have is absent from the state, never zero.

use serde_json::Value;
use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, DeviceState, WeatherState};

use crate::client::{Endpoint, Failure};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_rain_rate: f64,
    pub max_wind_speed: Option<f64>,
    pub max_humidity: Option<f64>,
    pub max_age_s: f64,
}

/// The sensors teld reports, by Alpaca member.
const SENSORS: [&str; 7] =
    ["cloudcover", "humidity", "rainrate", "windspeed", "temperature", "pressure", "skyquality"];

impl Conditions {
    /// Age of the oldest reading a limit is applied to (ASCOM TimeSinceLastUpdate per
    /// sensor): one stale sensor makes the verdict unknown. `None` when the device
    /// does not tell.
    async fn oldest_limited_reading(&self) -> Result<Option<f64>, Failure> {
        let mut oldest: Option<f64> = None;
        for sensor in ["RainRate", "WindSpeed", "Humidity"] {
            if !self.present.contains(&sensor.to_ascii_lowercase().as_str()) {
                continue;
            }
            let v = match self
                .ep
                .get_with("timesincelastupdate", &[("SensorName", sensor.into())])
                .await
            {
                Ok(v) => v,
                Err(e) if e.not_implemented() => continue,
                Err(e) => return Err(e),
            };
            let age =
                v.as_f64().ok_or_else(|| self.ep.shape("timesincelastupdate", "a number", &v))?;
            // A negative age (never updated) must win over any positive one.
            oldest = Some(match oldest {
                Some(o) if o < 0.0 || (age >= 0.0 && o >= age) => o,
                _ => age,
            });
        }
        Ok(oldest)
    }
}

pub struct Weather {
    safety: Option<Endpoint>,
    conditions: Option<Conditions>,
    limits: Limits,
}

struct Conditions {
    ep: Endpoint,
    /// The members of [`SENSORS`] this device implements, found at connect.
    present: Vec<&'static str>,
}

impl Weather {
    pub async fn connect(
        safety: Option<Endpoint>,
        conditions: Option<Endpoint>,
        limits: Limits,
    ) -> Result<Weather, CallError> {
        if let Some(ep) = &safety {
            crate::connect(ep).await?;
        }
        let conditions = match conditions {
            Some(ep) => {
                crate::connect(&ep).await?;
                let mut present = Vec::new();
                for member in SENSORS {
                    match ep.get_f64(member).await {
                        Ok(_) => present.push(member),
                        Err(e) if e.not_implemented() => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Some(Conditions { ep, present })
            }
            None => None,
        };
        Ok(Weather { safety, conditions, limits })
    }

    pub async fn state(&self) -> Result<DeviceState, Failure> {
        let monitor_safe = match &self.safety {
            Some(ep) => ep.get_bool("issafe").await?,
            None => true,
        };
        let mut w = WeatherState {
            connected: true,
            is_safe: monitor_safe,
            cloud_cover: None,
            humidity: None,
            rain_rate: None,
            wind_speed: None,
            temperature: None,
            pressure: None,
            sky_quality: None,
        };
        if let Some(c) = &self.conditions {
            for member in &c.present {
                let v = Some(c.ep.get_f64(member).await?);
                match *member {
                    "cloudcover" => w.cloud_cover = v,
                    "humidity" => w.humidity = v,
                    "rainrate" => w.rain_rate = v,
                    "windspeed" => w.wind_speed = v,
                    "temperature" => w.temperature = v,
                    "pressure" => w.pressure = v,
                    _ => w.sky_quality = v,
                }
            }
            let age = c.oldest_limited_reading().await?;
            w.is_safe = w.is_safe && within(&w, age, &self.limits);
        }
        Ok(DeviceState::Weather(w))
    }

    pub async fn call(&self, call: Call) -> Result<Value, CallError> {
        Err(crate::not_for("weather", &call))
    }
}

/// The conditions are inside the limits and fresh. A negative age is ASCOM's "never
/// updated": unknown.
fn within(w: &WeatherState, age_s: Option<f64>, l: &Limits) -> bool {
    let fresh = age_s.is_none_or(|a| (0.0..=l.max_age_s).contains(&a));
    let below = |v: Option<f64>, max: Option<f64>| match (v, max) {
        (Some(v), Some(max)) => v <= max,
        _ => true,
    };
    fresh
        && below(w.rain_rate, Some(l.max_rain_rate))
        && below(w.wind_speed, l.max_wind_speed)
        && below(w.humidity, l.max_humidity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(rain: Option<f64>, wind: Option<f64>) -> WeatherState {
        WeatherState {
            connected: true,
            is_safe: true,
            cloud_cover: None,
            humidity: Some(50.0),
            rain_rate: rain,
            wind_speed: wind,
            temperature: None,
            pressure: None,
            sky_quality: None,
        }
    }

    const LIMITS: Limits = Limits {
        max_rain_rate: 0.0,
        max_wind_speed: Some(15.0),
        max_humidity: None,
        max_age_s: 300.0,
    };

    #[test]
    fn rain_wind_and_stale_readings_are_unsafe() {
        assert!(within(&state(Some(0.0), Some(3.0)), Some(1.0), &LIMITS));
        assert!(!within(&state(Some(0.2), Some(3.0)), Some(1.0), &LIMITS), "any rain");
        assert!(!within(&state(Some(0.0), Some(25.0)), Some(1.0), &LIMITS), "wind");
        assert!(!within(&state(Some(0.0), Some(3.0)), Some(301.0), &LIMITS), "stale");
        assert!(!within(&state(Some(0.0), Some(3.0)), Some(-1.0), &LIMITS), "never updated");
        assert!(within(&state(None, None), None, &LIMITS), "sensors it does not have");
    }
}
