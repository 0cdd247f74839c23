//! A slew's path against the Sun. A target far from the Sun can still be reached
//! through it: the mount sweeps every place between where it stands and where it goes.
//! The path is modelled in the mount's own axes from the position the mount reports,
//! so a wrong cached position cannot hide a sweep past the Sun.

use hifitime::Epoch;
use teld_astro::{Astrometry, Icrs};

use super::{InterlockError, Interlocks};
use crate::config::MountType;

/// Largest step along a path between checked points, degrees. Between two samples the
/// true closest approach `d` can be smaller than the sampled one by at most
/// √(d² + 0.125²) − d: under 0.0003° at a 30° avoidance radius (0.0016° at 5°), and
/// at most 0.125° for a path straight through the Sun.
const PATH_STEP_DEG: f64 = 0.25;

/// A point on the path in the mount's axes: (longitude-like, latitude-like) degrees,
/// i.e. (hour angle, declination) for equatorial mounts or (azimuth, altitude).
type AxisPoint = (f64, f64);

impl Interlocks {
    /// Checks the path from `from` (where the mount reports it points) to `to` at
    /// `at`: it must keep `sun_avoidance_deg` from the Sun unless the Sun is
    /// `sun_path_margin_deg` below the horizon.
    ///
    /// Two paths are checked, because controllers differ: both axes arriving together
    /// (a straight line in axis coordinates) and both axes at the same speed (the
    /// shorter move ends first, then the longer one goes on alone). The hour-angle axis
    /// never wraps through ±180° (under the pole); azimuth takes the short way round as
    /// an alt-az mount without cable wrap does. The few minutes a slew takes turn the
    /// sky by ~1°, small against a 30° avoidance radius, so the path is drawn on the
    /// sky at `at`.
    pub fn check_slew_path(&self, from: Icrs, to: Icrs, at: Epoch) -> Result<(), InterlockError> {
        let a =
            Astrometry::at(&self.site, at).map_err(|e| InterlockError::Astronomy(e.to_string()))?;
        let sun = a.sun().observed;
        if sun.alt_deg <= -self.sun_path_margin_deg {
            return Ok(());
        }
        let (f, t) = (a.observe(from), a.observe(to));
        let (from, to, sun) = match self.mount.kind {
            MountType::Altaz => {
                ((f.az_deg, f.alt_deg), (t.az_deg, t.alt_deg), (sun.az_deg, sun.alt_deg))
            }
            MountType::Equatorial | MountType::German => {
                ((f.ha_deg, f.dec_deg), (t.ha_deg, t.dec_deg), (sun.ha_deg, sun.dec_deg))
            }
        };
        let wrap_short = self.mount.kind == MountType::Altaz;
        let separation_deg = closest_approach(from, to, sun, wrap_short);
        if separation_deg < self.sun_avoidance_deg {
            return Err(InterlockError::SlewPathNearSun {
                separation_deg,
                limit_deg: self.sun_avoidance_deg,
                sun_altitude_deg: a.sun().observed.alt_deg,
                margin_deg: self.sun_path_margin_deg,
            });
        }
        Ok(())
    }
}

/// Smallest angular distance from `sun` along both modelled paths from `from` to `to`.
/// `wrap_short`: the first axis takes the short way round (azimuth); otherwise it
/// moves directly between its values (hour angle in −180..180).
pub fn closest_approach(from: AxisPoint, to: AxisPoint, sun: AxisPoint, wrap_short: bool) -> f64 {
    closest_along(from, to, sun, wrap_short, Path::Together).min(closest_along(
        from,
        to,
        sun,
        wrap_short,
        Path::SameSpeed,
    ))
}

/// How the two axes share a slew.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    /// Both axes at the same fraction of their moves (a straight line in axis space).
    Together,
    /// Both axes at the same speed: the shorter move ends first.
    SameSpeed,
}

fn closest_along(
    from: AxisPoint,
    to: AxisPoint,
    sun: AxisPoint,
    wrap_short: bool,
    path: Path,
) -> f64 {
    let mut d_lon = to.0 - from.0;
    if wrap_short {
        d_lon = (d_lon + 180.0).rem_euclid(360.0) - 180.0;
    }
    let d_lat = to.1 - from.1;
    let longest = d_lon.abs().max(d_lat.abs());
    let n = (longest / PATH_STEP_DEG).ceil().max(1.0) as usize;
    (0..=n)
        .map(|i| {
            let f = i as f64 / n as f64;
            let p = match path {
                Path::Together => (from.0 + f * d_lon, from.1 + f * d_lat),
                Path::SameSpeed => {
                    let s = f * longest;
                    (
                        from.0 + d_lon.signum() * s.min(d_lon.abs()),
                        from.1 + d_lat.signum() * s.min(d_lat.abs()),
                    )
                }
            };
            separation(p, sun)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Great-circle distance between two (longitude, latitude) points, degrees.
pub fn separation(a: AxisPoint, b: AxisPoint) -> f64 {
    let (l1, p1, l2, p2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
    (2.0 * h.sqrt().min(1.0).asin()).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::interlock::tests::locks;

    #[test]
    fn closest_approach_of_both_paths() {
        // Straight along the equator past a point 10° north of its middle.
        let d = closest_approach((-40.0, 0.0), (40.0, 0.0), (0.0, 10.0), false);
        assert!((d - 10.0).abs() < 1e-9, "{d}");
        // Same speed: Dec reaches 40° after 40° of travel, HA goes on alone to 80°;
        // together: a straight diagonal. A Sun at (60, 40) is on the same-speed path.
        let d = closest_approach((0.0, 0.0), (80.0, 40.0), (60.0, 40.0), false);
        assert!(d < 0.01, "{d}");
        // No wrap for hour angle: from −170° to +170° goes through 0°, not ±180°.
        let d = closest_approach((-170.0, 0.0), (170.0, 0.0), (180.0, 0.0), false);
        assert!((d - 10.0).abs() < 1e-9, "{d}");
        // Azimuth wraps the short way: 350° → 10° passes north, not south.
        let d = closest_approach((350.0, 30.0), (10.0, 30.0), (180.0, 30.0), true);
        assert!(d > 100.0, "{d}");
        let d = closest_approach((350.0, 30.0), (10.0, 30.0), (0.0, 30.0), true);
        assert!(d < 1e-9, "{d}");
    }

    /// Reference values from astropy (`tests/fixtures/slew_path_astropy.py`): the
    /// Sun and two targets in astropy's HADec frame at La Palma, 2026-06-21 17:00 UTC,
    /// and the closest approach of the straight hour-angle/declination path.
    #[test]
    fn matches_astropy_and_refuses_a_slew_across_the_sun_unless_it_is_well_down() {
        let l = locks();
        let t = Epoch::from_gregorian_utc(2026, 6, 21, 17, 0, 0, 0);
        let a = Astrometry::at(&l.site, t).unwrap();
        let (east, west) =
            (Icrs { ra_deg: 45.0, dec_deg: 23.4 }, Icrs { ra_deg: 135.0, dec_deg: 23.4 });
        let (sun, e, w) = (a.sun().observed, a.observe(east), a.observe(west));
        for (got, want) in [
            ((sun.ha_deg, sun.dec_deg), (56.654631, 23.436790)),
            ((e.ha_deg, e.dec_deg), (101.643352, 23.504361)),
            ((w.ha_deg, w.dec_deg), (11.642502, 23.297830)),
        ] {
            assert!((got.0 - want.0).abs() < 0.001 && (got.1 - want.1).abs() < 0.001, "{got:?}");
        }
        // Both targets are ~41° from the Sun, clear of the 30° limit…
        assert!(east.separation_deg(a.sun().apparent_icrs_axes) > 40.0);
        assert!(west.separation_deg(a.sun().apparent_icrs_axes) > 40.0);
        // …but the path between them runs across it (astropy: 0.0357°; sampled every
        // 0.25° along the path, teld's closest sample is within 0.125° of that).
        let err = l.check_slew_path(east, west, t).unwrap_err();
        let InterlockError::SlewPathNearSun { separation_deg, limit_deg, .. } = &err else {
            panic!("{err}")
        };
        let excess = separation_deg - 0.035706;
        assert!((-0.001..0.125).contains(&excess), "{separation_deg}");
        assert_eq!(*limit_deg, 30.0);
        let msg = err.to_string();
        assert!(
            msg.contains("safety.sun_avoidance_deg") && msg.contains("safety.sun_path_margin_deg"),
            "{msg}"
        );
        // The same slew is allowed at night (the Sun ~30° down).
        let night = Epoch::from_gregorian_utc(2026, 6, 22, 1, 0, 0, 0);
        assert!(teld_astro::sun::altitude_deg(&l.site, night).unwrap() < -10.0);
        assert!(l.check_slew_path(east, west, night).is_ok());
        // Along Dec 55°, north of the Sun: astropy's closest approach of the straight
        // path is 31.564355°, just outside a 30° radius.
        let (c, d) = (Icrs { ra_deg: 45.0, dec_deg: 55.0 }, Icrs { ra_deg: 135.0, dec_deg: 55.0 });
        let (c, d) = (a.observe(c), a.observe(d));
        let straight = closest_along(
            (c.ha_deg, c.dec_deg),
            (d.ha_deg, d.dec_deg),
            (sun.ha_deg, sun.dec_deg),
            false,
            Path::Together,
        );
        assert!((straight - 31.564355).abs() < 0.001, "{straight}");
        assert!(
            l.check_slew_path(
                Icrs { ra_deg: 45.0, dec_deg: 55.0 },
                Icrs { ra_deg: 135.0, dec_deg: 55.0 },
                t
            )
            .is_ok()
        );
        // A short slew well away from the Sun in daylight is fine.
        let near_east = Icrs { ra_deg: 40.0, dec_deg: 30.0 };
        assert!(l.check_slew_path(east, near_east, t).is_ok());
    }
}
