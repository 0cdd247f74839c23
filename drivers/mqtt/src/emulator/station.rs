//! The emulated weather station: readings set by control lines, and the station's
//! own safety verdict (a rain sensor's relay: any rain is unsafe) unless forced.
//! Wind and humidity are left to the driver's limits, as on most real stations.

use crate::wire::WeatherReport;

#[derive(Debug, Clone)]
pub struct Station {
    pub cloud_cover: f64,
    pub humidity: f64,
    pub rain_rate: f64,
    pub wind_speed: f64,
    pub temperature: f64,
    /// A site at ~2400 m: station pressure, not reduced to sea level.
    pub pressure: f64,
    pub sky_quality: f64,
    /// `safe true|false`; None: the rain sensor decides.
    pub forced: Option<bool>,
}

impl Default for Station {
    /// A clear, calm night on a mountain.
    fn default() -> Station {
        Station {
            cloud_cover: 5.0,
            humidity: 40.0,
            rain_rate: 0.0,
            wind_speed: 3.0,
            temperature: 8.0,
            pressure: 770.0,
            sky_quality: 21.5,
            forced: None,
        }
    }
}

impl Station {
    pub fn is_safe(&self) -> bool {
        self.forced.unwrap_or(self.rain_rate <= 0.0)
    }

    /// Sets a reading by its name in the state payload; false for an unknown name.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        let slot = match name {
            "cloud_cover" => &mut self.cloud_cover,
            "humidity" => &mut self.humidity,
            "rain_rate" => &mut self.rain_rate,
            "wind_speed" => &mut self.wind_speed,
            "temperature" => &mut self.temperature,
            _ => return false,
        };
        *slot = value;
        true
    }

    pub fn report(&self, time: String) -> WeatherReport {
        WeatherReport {
            spec: Some(crate::wire::SPEC_VERSION),
            time,
            is_safe: self.is_safe(),
            cloud_cover: Some(self.cloud_cover),
            humidity: Some(self.humidity),
            rain_rate: Some(self.rain_rate),
            wind_speed: Some(self.wind_speed),
            temperature: Some(self.temperature),
            pressure: Some(self.pressure),
            sky_quality: Some(self.sky_quality),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rain_decides_unless_forced() {
        let mut s = Station::default();
        assert!(s.is_safe());
        assert!(s.set("rain_rate", 2.0));
        assert!(!s.is_safe());
        s.forced = Some(true);
        assert!(s.is_safe());
        assert!(!s.set("colour", 1.0));
        let r = s.report("2026-12-06T02:00:00Z".into());
        assert_eq!(r.rain_rate, Some(2.0));
        let json = serde_json::to_vec(&r).unwrap();
        assert_eq!(crate::wire::parse_weather(&json).unwrap(), r, "what it sends follows the spec");
    }
}
