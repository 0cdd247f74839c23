//! Interlocks: rules no caller can bypass, checked in the device layer right before
//! a command that could put the telescope at risk.

use hifitime::Epoch;
use teld_astro::{Horizontal, Icrs, Site, sun};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum InterlockError {
    #[error(
        "target is {separation_deg:.1}° from the Sun; the limit is {limit_deg}° (safety.sun_avoidance_deg)"
    )]
    SunTooClose { separation_deg: f64, limit_deg: f64 },
    #[error("target is at altitude {altitude_deg:.1}°, below the {limit_deg}° limit")]
    BelowLimit { altitude_deg: f64, limit_deg: f64 },
    #[error("the site is not safe ({reason}); the dome stays closed until it is")]
    Unsafe { reason: String },
    #[error(
        "the Sun is at {sun_altitude_deg:.1}°, above the {limit_deg}° limit for opening (observing.sun_altitude_max_deg)"
    )]
    Daylight { sun_altitude_deg: f64, limit_deg: f64 },
}

/// The site-level safety verdict the interlocks consult (kept by the safety monitor
/// from device-reported weather).
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSafety {
    pub safe: bool,
    pub reason: String,
    /// When an unsafe spell last ended: observing resumes only a while after it.
    pub cleared_at: Option<Epoch>,
}

impl SiteSafety {
    /// Before the first weather report: unknown counts as unsafe.
    pub fn unknown() -> Self {
        SiteSafety { safe: false, reason: "no weather report yet".into(), cleared_at: None }
    }
}

#[derive(Debug, Clone)]
pub struct Interlocks {
    pub site: Site,
    pub sun_avoidance_deg: f64,
    /// Mount's lowest allowed altitude for pointing.
    pub min_altitude_deg: f64,
    /// The dome opens only while the Sun is below this.
    pub sun_altitude_max_deg: f64,
}

impl Interlocks {
    /// A pointing is allowed if it keeps clear of the Sun and above the limit.
    pub fn check_pointing(&self, target: Icrs, at: Epoch) -> Result<Horizontal, InterlockError> {
        let of_date = target.to_of_date(at);
        let separation_deg = of_date.separation_deg(sun::position(at));
        if separation_deg < self.sun_avoidance_deg {
            return Err(InterlockError::SunTooClose {
                separation_deg,
                limit_deg: self.sun_avoidance_deg,
            });
        }
        let h = of_date.to_horizontal(&self.site, at);
        if h.alt_deg < self.min_altitude_deg {
            return Err(InterlockError::BelowLimit {
                altitude_deg: h.alt_deg,
                limit_deg: self.min_altitude_deg,
            });
        }
        Ok(h)
    }

    /// Opening needs a safe site and a dark sky.
    pub fn check_open(&self, safety: &SiteSafety, at: Epoch) -> Result<(), InterlockError> {
        if !safety.safe {
            return Err(InterlockError::Unsafe { reason: safety.reason.clone() });
        }
        let sun_altitude_deg = sun::altitude_deg(&self.site, at);
        if sun_altitude_deg > self.sun_altitude_max_deg {
            return Err(InterlockError::Daylight {
                sun_altitude_deg,
                limit_deg: self.sun_altitude_max_deg,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks() -> Interlocks {
        Interlocks {
            site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
            sun_avoidance_deg: 30.0,
            min_altitude_deg: 20.0,
            sun_altitude_max_deg: -12.0,
        }
    }

    #[test]
    fn refuses_the_sun_even_at_night_and_low_targets() {
        let l = locks();
        let noon = Epoch::from_gregorian_utc(2026, 11, 24, 13, 0, 0, 0);
        let sun = sun::position(noon).to_icrs(noon);
        assert!(matches!(l.check_pointing(sun, noon), Err(InterlockError::SunTooClose { .. })));
        let night = Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0);
        // Dec −70° never rises above ~−8° at latitude 28.8°.
        let low = Icrs { ra_deg: 10.0, dec_deg: -70.0 };
        assert!(matches!(l.check_pointing(low, night), Err(InterlockError::BelowLimit { .. })));
    }

    #[test]
    fn opening_needs_safety_and_darkness() {
        let l = locks();
        let night = Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0);
        let day = Epoch::from_gregorian_utc(2026, 11, 24, 13, 0, 0, 0);
        let safe = SiteSafety { safe: true, reason: String::new(), cleared_at: None };
        let wet = SiteSafety { safe: false, reason: "rain".into(), cleared_at: None };
        assert_eq!(l.check_open(&safe, night), Ok(()));
        assert!(matches!(l.check_open(&wet, night), Err(InterlockError::Unsafe { .. })));
        assert!(matches!(l.check_open(&safe, day), Err(InterlockError::Daylight { .. })));
    }
}
