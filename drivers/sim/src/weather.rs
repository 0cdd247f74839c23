//! The simulated weather station (ASCOM ISafetyMonitor + IObservingConditions).
//!
//! Bad weather is scripted in the settings as `[from, to)` intervals; outside them the
//! night is clear, with values that drift slowly and deterministically so a test run
//! is repeatable. Units are ASCOM's: °C, %, hPa, m/s, mm/h, mag/arcsec².

use std::f64::consts::TAU;

use hifitime::Epoch;
use teld_astro::Site;
use teld_driver_protocol::WeatherState;

use crate::settings::{UnsafeInterval, UnsafeReason};
use crate::sky;

/// Scale height of the standard atmosphere; gives ≈ 760 hPa at La Palma's 2400 m.
const PRESSURE_SCALE_HEIGHT_M: f64 = 8434.0;
const SEA_LEVEL_PRESSURE_HPA: f64 = 1013.25;
/// Mean and day–night swing of a mountain site's air temperature.
const MEAN_TEMPERATURE_C: f64 = 9.0;
const DAILY_TEMPERATURE_SWING_C: f64 = 4.0;
/// Rain rate reported during scripted rain: moderate rain in mm/h.
const RAIN_RATE_MM_H: f64 = 2.0;
/// Wind speed during scripted high wind: above the usual 15–20 m/s closing limit.
const GALE_WIND_M_S: f64 = 22.0;
/// Wind during scripted gusts: over a 12 m/s "start nothing new" threshold, under a
/// 15 m/s closing limit.
const GUST_WIND_M_S: f64 = 13.5;
/// Relative humidity during scripted high humidity: above the usual 90 % limit.
const DAMP_HUMIDITY_PCT: f64 = 95.0;

#[derive(Debug, Clone)]
pub struct Weather {
    site: Site,
    intervals: Vec<UnsafeInterval>,
    /// The camera's dark-sky brightness, which the sky-quality meter also reads.
    dark_sky_mag: f64,
}

impl Weather {
    pub fn new(site: Site, intervals: Vec<UnsafeInterval>, dark_sky_mag: f64) -> Self {
        Weather { site, intervals, dark_sky_mag }
    }

    /// The scripted interval `t` falls in, if any.
    pub fn unsafe_interval(&self, t: Epoch) -> Option<&UnsafeInterval> {
        self.intervals.iter().find(|iv| iv.from <= t && t < iv.to)
    }

    /// The next interval edge after `t`: the instant `is_safe` may flip.
    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        self.intervals.iter().flat_map(|iv| [iv.from, iv.to]).filter(|e| *e > t).min()
    }

    pub fn state(&self, t: Epoch) -> WeatherState {
        let secs = t.to_unix_seconds();
        let wave = |period_s: f64, phase: f64| (TAU * secs / period_s + phase).sin();
        // Warmest mid-afternoon local solar time, coolest before dawn.
        let solar_hours = (secs / 3600.0 + self.site.longitude_deg / 15.0).rem_euclid(24.0);
        let mut temperature = MEAN_TEMPERATURE_C
            + DAILY_TEMPERATURE_SWING_C * (TAU * (solar_hours - 15.0) / 24.0).cos()
            + 0.3 * wave(5400.0, 0.0);
        let mut humidity = 30.0 + 8.0 * wave(4.0 * 3600.0, 1.0);
        let pressure = SEA_LEVEL_PRESSURE_HPA
            * (-self.site.height_m / PRESSURE_SCALE_HEIGHT_M).exp()
            + 1.5 * wave(86_400.0, 2.0);
        let mut wind_speed = (4.0 + 2.0 * wave(2300.0, 0.5) + 0.8 * wave(700.0, 1.5)).max(0.0);
        let mut cloud_cover = 0.0;
        let mut rain_rate = 0.0;
        let sun_alt = teld_astro::sun::altitude_deg(&self.site, t)
            .unwrap_or(crate::scene::SUN_ALT_UNKNOWN_DEG);
        let mut sky_quality = sky::sky_mag_arcsec2(self.dark_sky_mag, sun_alt);
        let bad = self.unsafe_interval(t);
        match bad.map(|iv| iv.reason) {
            Some(UnsafeReason::Rain) => {
                rain_rate = RAIN_RATE_MM_H;
                humidity = 97.0;
                cloud_cover = 100.0;
                temperature -= 2.0;
                sky_quality += 1.0; // overcast hides the stars at a dark site
            }
            Some(UnsafeReason::Clouds) => {
                cloud_cover = 90.0;
                sky_quality += 1.0;
            }
            Some(UnsafeReason::Wind) => wind_speed = GALE_WIND_M_S,
            Some(UnsafeReason::Humidity) => humidity = DAMP_HUMIDITY_PCT,
            Some(UnsafeReason::Gusts) => wind_speed = GUST_WIND_M_S,
            Some(UnsafeReason::Other) | None => {}
        }
        WeatherState {
            connected: true,
            is_safe: bad.is_none_or(|iv| iv.reason == UnsafeReason::Gusts),
            cloud_cover: Some(cloud_cover),
            humidity: Some(humidity.clamp(0.0, 100.0)),
            rain_rate: Some(rain_rate),
            wind_speed: Some(wind_speed),
            temperature: Some(temperature),
            pressure: Some(pressure),
            sky_quality: Some(sky_quality),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hifitime::Duration;
    use teld_driver_protocol::time::parse_utc;

    fn site() -> Site {
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
    }

    fn rainy() -> Weather {
        let iv = |from: &str, to: &str, reason| UnsafeInterval {
            from: parse_utc(from).unwrap(),
            to: parse_utc(to).unwrap(),
            reason,
        };
        Weather::new(
            site(),
            vec![
                iv("2026-11-24T22:00:00", "2026-11-24T23:00:00", UnsafeReason::Rain),
                iv("2026-11-25T02:00:00", "2026-11-25T02:30:00", UnsafeReason::Wind),
            ],
            20.8,
        )
    }

    #[test]
    fn unsafe_exactly_inside_the_intervals() {
        let w = rainy();
        let at = |s: &str| parse_utc(s).unwrap();
        let eps = Duration::from_seconds(1e-3);
        assert!(w.state(at("2026-11-24T22:00:00") - eps).is_safe);
        let rain = w.state(at("2026-11-24T22:00:00"));
        assert!(!rain.is_safe);
        assert!(rain.rain_rate.unwrap() > 0.0 && rain.humidity.unwrap() > 90.0);
        assert!(!w.state(at("2026-11-24T23:00:00") - eps).is_safe);
        assert!(w.state(at("2026-11-24T23:00:00")).is_safe);
        let gale = w.state(at("2026-11-25T02:10:00"));
        assert!(!gale.is_safe && gale.wind_speed.unwrap() > 15.0 && gale.rain_rate == Some(0.0));
    }

    #[test]
    fn next_change_walks_the_edges_in_order() {
        let w = rainy();
        let mut t = parse_utc("2026-11-24T20:00:00").unwrap();
        let mut edges = Vec::new();
        while let Some(e) = w.next_change_after(t) {
            edges.push(teld_driver_protocol::time::format_utc_digits(e, 0));
            t = e;
        }
        assert_eq!(
            edges,
            [
                "2026-11-24T22:00:00",
                "2026-11-24T23:00:00",
                "2026-11-25T02:00:00",
                "2026-11-25T02:30:00"
            ]
        );
    }

    #[test]
    fn clear_night_values_are_plausible_and_deterministic() {
        let w = rainy();
        let t = parse_utc("2026-11-25T00:30:00").unwrap();
        let s = w.state(t);
        assert_eq!(s, w.state(t));
        assert!(s.is_safe && s.rain_rate == Some(0.0) && s.cloud_cover == Some(0.0));
        assert!((700.0..800.0).contains(&s.pressure.unwrap()), "{s:?}");
        assert!((-5.0..20.0).contains(&s.temperature.unwrap()), "{s:?}");
        assert!((0.0..15.0).contains(&s.wind_speed.unwrap()), "{s:?}");
        assert!((s.sky_quality.unwrap() - 20.8).abs() < 0.05, "dark at 1 a.m.: {s:?}");
        let dusk = w.state(parse_utc("2026-11-24T18:45:00").unwrap());
        assert!(dusk.sky_quality.unwrap() < 19.0, "twilight is brighter: {dusk:?}");
    }
}
