//! Interlocks: rules no caller can bypass, checked in the device layer right before
//! a command that could put the telescope at risk.

use hifitime::Epoch;
use teld_astro::horizon::{PointingLimits, Violation};
use teld_astro::{Astrometry, Icrs, Observed, Site};
use teld_driver_protocol::ShutterStatus;
use thiserror::Error;

use crate::config::{Enclosure, MountGeometry};
use crate::safety::SafetyLevel;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum InterlockError {
    #[error(
        "target is {separation_deg:.1}° from the Sun; the limit is {limit_deg}° (safety.sun_avoidance_deg)"
    )]
    SunTooClose { separation_deg: f64, limit_deg: f64 },
    #[error("target is at altitude {altitude_deg:.1}°, below the {limit_deg}° limit")]
    BelowLimit { altitude_deg: f64, limit_deg: f64 },
    #[error("{0} (telescope horizon / mount_limits)")]
    Pointing(Violation),
    #[error(
        "the site is at `{level}` ({reason}); the dome opens only when it is safe: see /api/v1/status safety"
    )]
    Unsafe { level: SafetyLevel, reason: String },
    #[error(
        "the Sun is at {sun_altitude_deg:.1}°, above the {limit_deg}° limit for opening (observing.sun_altitude_max_deg)"
    )]
    Daylight { sun_altitude_deg: f64, limit_deg: f64 },
    #[error("cannot compute where the target is ({0}); refusing to move")]
    Astronomy(String),
    #[error(
        "{reason} at {at} UTC, {minutes:.0} min into the block: the whole block, tracking included, must stay inside the limits; shorten the block or observe the target when it stays clear"
    )]
    LeavesLimits { at: String, minutes: f64, reason: Box<InterlockError> },
    #[error(
        "the target's place at {at} UTC cannot be computed (outside its ephemeris table?); extend the ephemeris over the whole block"
    )]
    NoPlace { at: String },
    #[error(
        "the slew from where the mount reports it points passes {separation_deg:.1}° from the Sun; the limit is {limit_deg}° (safety.sun_avoidance_deg) while the Sun is at {sun_altitude_deg:.1}°, less than {margin_deg}° below the horizon (safety.sun_path_margin_deg); slew when the Sun is lower or from a position clear of it"
    )]
    SlewPathNearSun { separation_deg: f64, limit_deg: f64, sun_altitude_deg: f64, margin_deg: f64 },
    #[error(
        "the dome shutter reports {status}, not open: the mount stays parked until it is open; open the dome first (or set the telescope's enclosure = \"roll_off_park_safe\" if the parked telescope clears the closed roof)"
    )]
    ShutterNotOpen { status: String },
    #[error(
        "the block would track {limit_deg}° past the meridian (meridian_limit_deg) at {at} UTC on a German mount that may not flip (meridian_flip = false); shorten the block, or allow flips"
    )]
    MeridianLimit { at: String, limit_deg: f64 },
    #[error(
        "the German mount reports its pier side as unknown, so teld can neither plan nor verify a meridian flip; fix the driver's SideOfPier (Alpaca) / :Gm# (OnStep), or set mount_type if the mount is not German"
    )]
    PierSideUnknown,
}

/// The site-level safety verdict the interlocks consult (kept by the safety monitor
/// from device-reported weather).
#[derive(Debug, Clone, PartialEq)]
pub struct SiteSafety {
    pub level: SafetyLevel,
    pub reason: String,
    /// When an unsafe spell last ended: observing resumes only a while after it.
    pub cleared_at: Option<Epoch>,
}

impl SiteSafety {
    /// Before the first weather report: unknown counts as unsafe.
    pub fn unknown() -> Self {
        SiteSafety {
            level: SafetyLevel::Stop,
            reason: "no weather report yet".into(),
            cleared_at: None,
        }
    }

    /// Observing may go on: nothing at `warn` or worse.
    pub fn safe(&self) -> bool {
        self.level == SafetyLevel::Safe
    }
}

#[derive(Debug, Clone)]
pub struct Interlocks {
    pub site: Site,
    pub sun_avoidance_deg: f64,
    /// Lowest altitude for science pointing (on top of the mask and mount limits).
    pub min_altitude_deg: f64,
    /// Horizon mask and the mount's hard limits.
    pub limits: PointingLimits,
    /// The dome opens only while the Sun is below this.
    pub sun_altitude_max_deg: f64,
    /// A slew's path may pass the Sun closer than `sun_avoidance_deg` only while the
    /// Sun is this far below the horizon.
    pub sun_path_margin_deg: f64,
    /// Mount type and meridian limit.
    pub mount: MountGeometry,
    /// Whether the mount may unpark under a closed roof.
    pub enclosure: Enclosure,
}

impl Interlocks {
    /// A pointing is allowed if it keeps clear of the Sun, above the limit and the
    /// horizon mask, and inside the mount's limits — computed with the full SOFA
    /// chain for this instant, never from a cache.
    pub fn check_pointing(&self, target: Icrs, at: Epoch) -> Result<Observed, InterlockError> {
        let a =
            Astrometry::at(&self.site, at).map_err(|e| InterlockError::Astronomy(e.to_string()))?;
        let separation_deg = target.separation_deg(a.sun().apparent_icrs_axes);
        if separation_deg < self.sun_avoidance_deg {
            return Err(InterlockError::SunTooClose {
                separation_deg,
                limit_deg: self.sun_avoidance_deg,
            });
        }
        let o = a.observe(target);
        if o.alt_deg < self.min_altitude_deg {
            return Err(InterlockError::BelowLimit {
                altitude_deg: o.alt_deg,
                limit_deg: self.min_altitude_deg,
            });
        }
        self.limits.check(&o).map_err(InterlockError::Pointing)?;
        Ok(o)
    }

    /// Where `target` is seen from the site at `at` (hour angle, altitude…).
    pub fn observed(&self, target: Icrs, at: Epoch) -> Result<Observed, InterlockError> {
        let a =
            Astrometry::at(&self.site, at).map_err(|e| InterlockError::Astronomy(e.to_string()))?;
        Ok(a.observe(target))
    }

    /// Unparking needs the shutter open as the dome reports it (`None`: no dome),
    /// unless the telescope's park position is safe under a closed roll-off roof.
    pub fn check_unpark(&self, shutter: Option<ShutterStatus>) -> Result<(), InterlockError> {
        match shutter {
            None | Some(ShutterStatus::Open) => Ok(()),
            Some(_) if self.enclosure == Enclosure::RollOffParkSafe => Ok(()),
            Some(s) => {
                Err(InterlockError::ShutterNotOpen { status: format!("{s:?}").to_lowercase() })
            }
        }
    }

    /// Opening needs a safe site and a dark sky.
    pub fn check_open(&self, safety: &SiteSafety, at: Epoch) -> Result<(), InterlockError> {
        if !safety.safe() {
            return Err(InterlockError::Unsafe {
                level: safety.level,
                reason: safety.reason.clone(),
            });
        }
        let sun_altitude_deg = teld_astro::sun::altitude_deg(&self.site, at)
            .map_err(|e| InterlockError::Astronomy(e.to_string()))?;
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
pub(super) mod tests {
    use super::*;

    pub(in crate::devices) fn locks() -> Interlocks {
        Interlocks {
            site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
            sun_avoidance_deg: 30.0,
            min_altitude_deg: 20.0,
            limits: PointingLimits::default(),
            sun_altitude_max_deg: -12.0,
            sun_path_margin_deg: 10.0,
            mount: MountGeometry::default(),
            enclosure: Enclosure::Dome,
        }
    }

    #[test]
    fn unpark_needs_the_shutter_open_unless_park_safe_under_a_roll_off() {
        let mut l = locks();
        assert_eq!(l.check_unpark(None), Ok(()), "no dome");
        assert_eq!(l.check_unpark(Some(ShutterStatus::Open)), Ok(()));
        for s in [ShutterStatus::Closed, ShutterStatus::Opening, ShutterStatus::Error] {
            let e = l.check_unpark(Some(s)).unwrap_err();
            assert!(e.to_string().contains("roll_off_park_safe"), "{e}");
        }
        l.enclosure = Enclosure::RollOffParkSafe;
        assert_eq!(l.check_unpark(Some(ShutterStatus::Closed)), Ok(()));
    }

    #[test]
    fn refuses_the_sun_even_at_night_and_low_targets() {
        let l = locks();
        let noon = Epoch::from_gregorian_utc(2026, 11, 24, 13, 0, 0, 0);
        let sun = Astrometry::at(&l.site, noon).unwrap().sun().apparent_icrs_axes;
        assert!(matches!(l.check_pointing(sun, noon), Err(InterlockError::SunTooClose { .. })));
        let night = Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0);
        // Dec −70° never rises above ~−8° at latitude 28.8°.
        let low = Icrs { ra_deg: 10.0, dec_deg: -70.0 };
        assert!(matches!(l.check_pointing(low, night), Err(InterlockError::BelowLimit { .. })));
    }

    #[test]
    fn horizon_mask_and_mount_limits_refuse() {
        use teld_astro::horizon::{HorizonMask, MountLimits};
        let mut l = locks();
        let night = Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0);
        // Due south, ~70° high at 23:00 (the demo target region): blocked by a 80° wall.
        let target = Icrs { ra_deg: 22.5, dec_deg: 20.1 };
        assert!(l.check_pointing(target, night).is_ok());
        l.limits.mask = HorizonMask::new(vec![(0.0, 80.0)]).unwrap();
        assert!(matches!(l.check_pointing(target, night), Err(InterlockError::Pointing(_))));
        l.limits.mask = HorizonMask::default();
        l.limits.mount = MountLimits { dec_max_deg: 10.0, ..MountLimits::default() };
        let e = l.check_pointing(target, night).unwrap_err();
        assert!(e.to_string().contains("declination"), "{e}");
    }

    #[test]
    fn opening_needs_safety_and_darkness() {
        let l = locks();
        let night = Epoch::from_gregorian_utc(2026, 11, 24, 23, 0, 0, 0);
        let day = Epoch::from_gregorian_utc(2026, 11, 24, 13, 0, 0, 0);
        let safe = SiteSafety { level: SafetyLevel::Safe, reason: String::new(), cleared_at: None };
        let wet =
            SiteSafety { level: SafetyLevel::Emergency, reason: "rain".into(), ..safe.clone() };
        let windy = SiteSafety { level: SafetyLevel::Warn, reason: "wind".into(), ..safe.clone() };
        assert!(matches!(l.check_open(&windy, night), Err(InterlockError::Unsafe { .. })));
        assert_eq!(l.check_open(&safe, night), Ok(()));
        assert!(matches!(l.check_open(&wet, night), Err(InterlockError::Unsafe { .. })));
        assert!(matches!(l.check_open(&safe, day), Err(InterlockError::Daylight { .. })));
    }
}
