//! Is it night? The Sun's altitude against the observing limit.

use hifitime::{Duration, Epoch};
use teld_astro::{Site, sun};

#[derive(Debug, Clone, Copy)]
pub struct Night {
    pub sun_altitude_deg: f64,
    pub is_night: bool,
    /// When `is_night` next flips; `None` in polar day or night.
    pub next_change: Option<Epoch>,
}

/// How far ahead to look for the next dusk or dawn: a day covers every latitude
/// that has one.
const SEARCH: f64 = 86_400.0 * 1.05;

pub fn night(site: &Site, at: Epoch, sun_altitude_max_deg: f64) -> Night {
    // Outside 1901–2099 the Sun cannot be computed; "day" is the safe answer.
    let sun_altitude_deg = sun::altitude_deg(site, at).unwrap_or(90.0);
    let next_change =
        sun::next_crossing(site, at, sun_altitude_max_deg, Duration::from_seconds(SEARCH))
            .ok()
            .flatten();
    Night { sun_altitude_deg, is_night: sun_altitude_deg < sun_altitude_max_deg, next_change }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_night_on_la_palma() {
        let site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
        let evening = Epoch::from_gregorian_utc(2026, 11, 24, 20, 0, 0, 0);
        let n = night(&site, evening, -12.0);
        assert!(n.is_night);
        let dawn = n.next_change.unwrap();
        let (_, _, d, h, ..) = dawn.to_gregorian_utc();
        assert_eq!((d, h), (25, 6), "dawn (−12°) on La Palma late November is ~06:30 UTC");
        let noon = night(&site, Epoch::from_gregorian_utc(2026, 11, 24, 13, 0, 0, 0), -12.0);
        assert!(!noon.is_night);
    }
}
