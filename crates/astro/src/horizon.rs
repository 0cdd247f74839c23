//! Where a telescope may point: the local horizon mask (trees, buildings, the dome's
//! own limits) and the mount's hard limits.

use serde::{Deserialize, Serialize};

use crate::astrometry::Observed;

/// Minimum altitude as a function of azimuth, linear between points, wrapping at
/// north. An empty mask is a flat horizon at 0°.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HorizonMask {
    /// (azimuth, minimum altitude) in degrees, sorted by azimuth.
    points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "horizon mask point {index}: azimuth {az} must be in [0, 360) and altitude {alt} in [-90, 90]"
    )]
    BadPoint { index: usize, az: f64, alt: f64 },
    #[error("horizon mask has azimuth {az}° twice")]
    Duplicate { az: f64 },
    #[error("mount limit {name}: {message}")]
    BadLimit { name: &'static str, message: String },
}

impl HorizonMask {
    pub fn new(mut points: Vec<(f64, f64)>) -> Result<Self, LimitError> {
        for (index, &(az, alt)) in points.iter().enumerate() {
            if !(az.is_finite()
                && (0.0..360.0).contains(&az)
                && alt.is_finite()
                && (-90.0..=90.0).contains(&alt))
            {
                return Err(LimitError::BadPoint { index, az, alt });
            }
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(w) = points.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(LimitError::Duplicate { az: w[0].0 });
        }
        Ok(HorizonMask { points })
    }

    /// Minimum altitude at `az_deg`.
    pub fn min_alt(&self, az_deg: f64) -> f64 {
        let p = &self.points;
        match p.len() {
            0 => 0.0,
            1 => p[0].1,
            _ => {
                let az = az_deg.rem_euclid(360.0);
                let i = p.partition_point(|q| q.0 <= az);
                // Neighbours, wrapping round north.
                let (a, b) = if i == 0 || i == p.len() {
                    let (last, first) = (p[p.len() - 1], p[0]);
                    (last, (first.0 + 360.0, first.1))
                } else {
                    (p[i - 1], p[i])
                };
                let az = if az < a.0 { az + 360.0 } else { az };
                a.1 + (b.1 - a.1) * (az - a.0) / (b.0 - a.0)
            }
        }
    }
}

/// The mount's hard limits, checked on observed (unrefracted) coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MountLimits {
    pub min_alt_deg: f64,
    /// Hour angle range, degrees (−180..180); equatorial mounts only.
    pub ha_min_deg: f64,
    pub ha_max_deg: f64,
    pub dec_min_deg: f64,
    pub dec_max_deg: f64,
}

impl Default for MountLimits {
    /// No limit beyond the horizon.
    fn default() -> Self {
        MountLimits {
            min_alt_deg: 0.0,
            ha_min_deg: -180.0,
            ha_max_deg: 180.0,
            dec_min_deg: -90.0,
            dec_max_deg: 90.0,
        }
    }
}

impl MountLimits {
    pub fn validate(&self) -> Result<(), LimitError> {
        let range = |name, lo: f64, hi: f64, min: f64, max: f64| {
            if lo.is_finite() && hi.is_finite() && min <= lo && lo < hi && hi <= max {
                Ok(())
            } else {
                Err(LimitError::BadLimit {
                    name,
                    message: format!(
                        "[{lo}, {hi}] must be an increasing range within [{min}, {max}]"
                    ),
                })
            }
        };
        range("hour angle", self.ha_min_deg, self.ha_max_deg, -180.0, 180.0)?;
        range("declination", self.dec_min_deg, self.dec_max_deg, -90.0, 90.0)?;
        range("altitude", self.min_alt_deg, 90.0, -90.0, 90.0)
    }
}

/// Why a pointing is not allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
pub enum Violation {
    #[error(
        "altitude {alt_deg:.2}° is below the horizon mask ({min_deg:.2}° at azimuth {az_deg:.1}°)"
    )]
    BelowMask { alt_deg: f64, az_deg: f64, min_deg: f64 },
    #[error("altitude {alt_deg:.2}° is below the mount's limit {min_deg}°")]
    BelowMountLimit { alt_deg: f64, min_deg: f64 },
    #[error("hour angle {ha_deg:.2}° is outside the mount's range [{min_deg}, {max_deg}]")]
    HourAngle { ha_deg: f64, min_deg: f64, max_deg: f64 },
    #[error("declination {dec_deg:.2}° is outside the mount's range [{min_deg}, {max_deg}]")]
    Declination { dec_deg: f64, min_deg: f64, max_deg: f64 },
}

/// Horizon mask and mount limits together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PointingLimits {
    pub mask: HorizonMask,
    pub mount: MountLimits,
}

impl PointingLimits {
    pub fn check(&self, o: &Observed) -> Result<(), Violation> {
        let min_mask = self.mask.min_alt(o.az_deg);
        if o.alt_deg < min_mask {
            return Err(Violation::BelowMask {
                alt_deg: o.alt_deg,
                az_deg: o.az_deg,
                min_deg: min_mask,
            });
        }
        let m = &self.mount;
        if o.alt_deg < m.min_alt_deg {
            return Err(Violation::BelowMountLimit { alt_deg: o.alt_deg, min_deg: m.min_alt_deg });
        }
        if !(m.ha_min_deg..=m.ha_max_deg).contains(&o.ha_deg) {
            return Err(Violation::HourAngle {
                ha_deg: o.ha_deg,
                min_deg: m.ha_min_deg,
                max_deg: m.ha_max_deg,
            });
        }
        if !(m.dec_min_deg..=m.dec_max_deg).contains(&o.dec_deg) {
            return Err(Violation::Declination {
                dec_deg: o.dec_deg,
                min_deg: m.dec_min_deg,
                max_deg: m.dec_max_deg,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(az: f64, alt: f64, ha: f64, dec: f64) -> Observed {
        Observed { az_deg: az, alt_deg: alt, alt_refracted_deg: None, ha_deg: ha, dec_deg: dec }
    }

    #[test]
    fn mask_interpolates_and_wraps_north() {
        let m = HorizonMask::new(vec![(90.0, 10.0), (270.0, 30.0), (0.0, 20.0)]).unwrap();
        assert_eq!(m.min_alt(45.0), 15.0);
        assert_eq!(m.min_alt(180.0), 20.0);
        // 270° → 360°: 30 → 20; at 315°: 25.
        assert_eq!(m.min_alt(315.0), 25.0);
        assert_eq!(m.min_alt(-45.0), 25.0);
        assert_eq!(HorizonMask::default().min_alt(123.0), 0.0);
        assert!(matches!(HorizonMask::new(vec![(400.0, 1.0)]), Err(LimitError::BadPoint { .. })));
        assert!(matches!(
            HorizonMask::new(vec![(10.0, 1.0), (10.0, 2.0)]),
            Err(LimitError::Duplicate { .. })
        ));
    }

    #[test]
    fn limits_refuse_with_the_reason() {
        let l = PointingLimits {
            mask: HorizonMask::new(vec![(0.0, 15.0)]).unwrap(),
            mount: MountLimits {
                min_alt_deg: 20.0,
                ha_min_deg: -90.0,
                ha_max_deg: 90.0,
                dec_min_deg: -30.0,
                dec_max_deg: 85.0,
            },
        };
        assert!(matches!(l.check(&obs(10.0, 10.0, 0.0, 0.0)), Err(Violation::BelowMask { .. })));
        assert!(matches!(
            l.check(&obs(10.0, 18.0, 0.0, 0.0)),
            Err(Violation::BelowMountLimit { .. })
        ));
        assert!(matches!(l.check(&obs(10.0, 40.0, 100.0, 0.0)), Err(Violation::HourAngle { .. })));
        assert!(matches!(l.check(&obs(10.0, 40.0, 0.0, 88.0)), Err(Violation::Declination { .. })));
        assert_eq!(l.check(&obs(10.0, 40.0, 10.0, 10.0)), Ok(()));
        assert!(
            MountLimits { ha_min_deg: 10.0, ha_max_deg: -10.0, ..MountLimits::default() }
                .validate()
                .is_err()
        );
    }
}
