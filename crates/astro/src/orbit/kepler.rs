//! Two-body heliocentric orbits from MPC elements, in ICRS axes.

use std::f64::consts::PI;

use super::vector::{V3, add, scale};
use super::{AU_KM, DAY_S, MpcElements, OrbitError, StateVector};

/// The Sun's GM, km³/s² (Pitjeva 2005): what skyfield's documentation passes to
/// `mpcorb_orbit`, so propagation differs from it only by algorithm. DE440's value
/// differs by 5e-12, i.e. < 1 mas per decade for a main-belt asteroid.
pub const GM_SUN_KM3_S2: f64 = 132_712_440_042.0;

/// Obliquity of the ecliptic at J2000 (IAU 1976), arcseconds: the ecliptic of MPC
/// elements, and of SPICE's ECLIPJ2000 frame that skyfield rotates them with.
pub const OBLIQUITY_J2000_ARCSEC: f64 = 84_381.448;

/// GM in au³/day², the units of everything below.
const GM_AU3_D2: f64 = GM_SUN_KM3_S2 * DAY_S * DAY_S / (AU_KM * AU_KM * AU_KM);

/// Newton-Halley steps stop when the eccentric anomaly changes by less than this
/// (radians, ≈ 2e-11″: far below float64 noise in the position).
const KEPLER_TOLERANCE: f64 = 1e-15;
/// Bisection safeguarding makes this bound generous; it is never reached in practice.
const KEPLER_MAX_ITERATIONS: usize = 100;

/// Solves Kepler's equation M = E − e·sin E for the eccentric anomaly E (radians),
/// for 0 ≤ e < 1 and any M. Halley's method from a start that is good at every e,
/// kept inside a bracket that always contains the root, so even e → 1 near
/// perihelion converges (to within a few ulp of E) instead of oscillating.
pub fn solve_kepler(mean_anomaly: f64, e: f64) -> f64 {
    // Reduce to [-π, π]; f(E) = E − e sin E − M rises monotonically there and
    // f(−π) ≤ 0 ≤ f(π), so [−π, π] brackets the root.
    let m = (mean_anomaly + PI).rem_euclid(2.0 * PI) - PI;
    let turns = mean_anomaly - m;
    let (mut lo, mut hi) = (-PI, PI);
    // Danby's start: within the bracket and close for both small and large e.
    let mut x = m + 0.85 * e * m.signum();
    for _ in 0..KEPLER_MAX_ITERATIONS {
        let (s, c) = x.sin_cos();
        let f = x - e * s - m;
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let f1 = 1.0 - e * c;
        let f2 = e * s;
        let step = f * f1 / (f1 * f1 - 0.5 * f * f2);
        let mut next = x - step;
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        let done = (next - x).abs() <= KEPLER_TOLERANCE || hi - lo <= KEPLER_TOLERANCE;
        x = next;
        if done {
            break;
        }
    }
    x + turns
}

/// An elliptic two-body orbit about the Sun, ready to propagate.
#[derive(Debug, Clone, PartialEq)]
pub struct KeplerOrbit {
    pub semimajor_axis_au: f64,
    pub eccentricity: f64,
    /// Mean motion from a and [`GM_SUN_KM3_S2`] (radians/day). MPC's column n is not
    /// used: skyfield does not use it either, and the two agree to rounding.
    pub mean_motion_rad_per_day: f64,
    pub mean_anomaly_at_epoch_rad: f64,
    /// Julian date (TT) of the epoch.
    pub epoch_jd_tt: f64,
    /// Perifocal unit vectors in ICRS axes: towards perihelion (P) and 90° ahead in
    /// the direction of motion (Q).
    p: V3,
    q: V3,
}

impl KeplerOrbit {
    /// The orbit of MPC elements: ecliptic J2000 rotated to the equator by
    /// [`OBLIQUITY_J2000_ARCSEC`] about the equinox; the result is taken as ICRS (the
    /// frame bias, ≈ 0.02″, is below this model's accuracy and skyfield omits it too).
    pub fn from_elements(el: &MpcElements) -> Result<KeplerOrbit, OrbitError> {
        let e = el.eccentricity;
        if !(0.0..1.0).contains(&e) {
            let shape = if e == 1.0 { "parabolic" } else { "hyperbolic" };
            return Err(OrbitError::NotElliptic { eccentricity: e, shape });
        }
        let a = el.semimajor_axis_au;
        for (what, v) in [
            ("semimajor axis (au)", a),
            ("mean anomaly (°)", el.mean_anomaly_deg),
            ("argument of perihelion (°)", el.arg_perihelion_deg),
            ("longitude of the node (°)", el.node_deg),
            ("inclination (°)", el.inclination_deg),
            ("epoch (JD TT)", el.epoch_jd_tt),
        ] {
            if !v.is_finite() {
                return Err(OrbitError::BadInput {
                    what,
                    value: v,
                    fix: "orbital elements must be finite numbers",
                });
            }
        }
        if a <= 0.0 {
            return Err(OrbitError::BadInput {
                what: "semimajor axis (au)",
                value: a,
                fix: "must be positive for an elliptic orbit",
            });
        }
        let (so, co) = el.arg_perihelion_deg.to_radians().sin_cos();
        let (sn, cn) = el.node_deg.to_radians().sin_cos();
        let (si, ci) = el.inclination_deg.to_radians().sin_cos();
        // Perifocal axes in ecliptic coordinates.
        let p_ecl = [co * cn - so * sn * ci, co * sn + so * cn * ci, so * si];
        let q_ecl = [-so * cn - co * sn * ci, -so * sn + co * cn * ci, co * si];
        Ok(KeplerOrbit {
            semimajor_axis_au: a,
            eccentricity: e,
            mean_motion_rad_per_day: (GM_AU3_D2 / (a * a * a)).sqrt(),
            mean_anomaly_at_epoch_rad: el.mean_anomaly_deg.to_radians(),
            epoch_jd_tt: el.epoch_jd_tt,
            p: ecliptic_to_equatorial(p_ecl),
            q: ecliptic_to_equatorial(q_ecl),
        })
    }

    /// Heliocentric position (au) and velocity (au/day), ICRS axes, at a TT Julian
    /// date given in two parts (`jd1 + jd2`, any split) so the time since the epoch
    /// keeps full precision.
    pub fn state_at_tt(&self, jd1: f64, jd2: f64) -> StateVector {
        let dt = (jd1 - self.epoch_jd_tt) + jd2;
        let m = self.mean_anomaly_at_epoch_rad + self.mean_motion_rad_per_day * dt;
        let (a, e, n) = (self.semimajor_axis_au, self.eccentricity, self.mean_motion_rad_per_day);
        let big_e = solve_kepler(m, e);
        let (s, c) = big_e.sin_cos();
        let root = (1.0 - e * e).sqrt();
        let edot = n / (1.0 - e * c);
        let (x, y) = (a * (c - e), a * root * s);
        let (vx, vy) = (-a * s * edot, a * root * c * edot);
        StateVector {
            position_au: add(scale(x, self.p), scale(y, self.q)),
            velocity_au_per_day: add(scale(vx, self.p), scale(vy, self.q)),
        }
    }
}

/// Rotation from ecliptic J2000 to equatorial J2000 axes about the equinox direction.
fn ecliptic_to_equatorial(v: V3) -> V3 {
    let (s, c) = (OBLIQUITY_J2000_ARCSEC / 3600.0).to_radians().sin_cos();
    [v[0], c * v[1] - s * v[2], s * v[1] + c * v[2]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orbit::vector::{dot, norm};

    #[test]
    fn kepler_solution_meeus_example_30a() {
        // Meeus, Astronomical Algorithms, example 30.a: e = 0.100, M = 5° → E = 5.554589°.
        let e = solve_kepler(5f64.to_radians(), 0.1);
        assert!((e.to_degrees() - 5.554_589).abs() < 1e-6, "{}", e.to_degrees());
    }

    #[test]
    fn kepler_residual_is_tiny_at_every_eccentricity_and_anomaly() {
        for &ecc in &[0.0, 1e-6, 0.1, 0.5, 0.9, 0.99, 0.999, 0.999_999] {
            for k in -400..=400 {
                let m = f64::from(k) * 0.0271 + 1e-9 * f64::from(k % 3);
                let big_e = solve_kepler(m, ecc);
                let resid = big_e - ecc * big_e.sin() - m;
                assert!(resid.abs() < 1e-13, "e={ecc} M={m}: residual {resid}");
            }
        }
    }

    #[test]
    fn skyfields_eclipj2000_matrix_is_this_obliquity() {
        // skyfield.data.spice.inertial_frames['ECLIPJ2000'] rows 2-3.
        let (s, c) = (OBLIQUITY_J2000_ARCSEC / 3600.0).to_radians().sin_cos();
        assert!((c - 0.917_482_062_069_181_8).abs() < 1e-15);
        assert!((s - 0.397_777_155_931_913_7).abs() < 1e-15);
    }

    fn circular(a: f64, incl: f64) -> KeplerOrbit {
        let line = format!(
            "TEST001 15.00  0.15 K2555   0.00000    0.00000    0.00000  {incl:9.5}  0.0000000 {:11.8} {a:11.7}",
            (0.017_202_098_95 / a.powf(1.5)).to_degrees()
        );
        KeplerOrbit::from_elements(&MpcElements::parse_line(&line).unwrap()).unwrap()
    }

    #[test]
    fn circular_orbit_keeps_its_radius_and_speed_and_closes_after_a_period() {
        let orbit = circular(1.5, 30.0);
        let period = 2.0 * PI / orbit.mean_motion_rad_per_day;
        let v_circ = (GM_AU3_D2 / 1.5).sqrt();
        let s0 = orbit.state_at_tt(orbit.epoch_jd_tt, 0.0);
        for k in 0..12 {
            let s = orbit.state_at_tt(orbit.epoch_jd_tt, period * f64::from(k) / 12.0);
            assert!((norm(s.position_au) - 1.5).abs() < 1e-14);
            assert!((norm(s.velocity_au_per_day) - v_circ).abs() < 1e-15);
            assert!(dot(s.position_au, s.velocity_au_per_day).abs() < 1e-15);
        }
        let s1 = orbit.state_at_tt(orbit.epoch_jd_tt, period);
        for i in 0..3 {
            assert!((s1.position_au[i] - s0.position_au[i]).abs() < 1e-12);
        }
        // Node and perihelion at the equinox: the object starts on the x axis, moving
        // in a plane inclined 30° to the ecliptic, i.e. 30° + 23.44° to the equator.
        assert!((s0.position_au[0] - 1.5).abs() < 1e-14);
        let v = s0.velocity_au_per_day;
        let tilt = v[2].atan2(v[1]).to_degrees();
        assert!((tilt - (30.0 + OBLIQUITY_J2000_ARCSEC / 3600.0)).abs() < 1e-9, "{tilt}");
    }

    #[test]
    fn velocity_is_the_derivative_of_position() {
        let line = "03200   14.32  0.15 K26B3 312.44781  322.19376  265.21483   22.25712  0.8999870  0.68753758   1.2713694";
        let orbit = KeplerOrbit::from_elements(&MpcElements::parse_line(line).unwrap()).unwrap();
        // Sweep through perihelion, where e = 0.9 makes the motion fastest.
        for k in 0..200 {
            let t = f64::from(k) * 0.37;
            let h = 1e-4;
            let (a, b) = (
                orbit.state_at_tt(orbit.epoch_jd_tt, t - h),
                orbit.state_at_tt(orbit.epoch_jd_tt, t + h),
            );
            let v = orbit.state_at_tt(orbit.epoch_jd_tt, t).velocity_au_per_day;
            for i in 0..3 {
                let fd = (b.position_au[i] - a.position_au[i]) / (2.0 * h);
                assert!((fd - v[i]).abs() < 1e-7 * norm(v).max(1e-3), "t={t} {fd} vs {}", v[i]);
            }
        }
    }
}
