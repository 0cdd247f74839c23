//! Slews of the simulated alt/az mount: each axis moves independently with a
//! trapezoidal speed profile (accelerate, cruise at the slew rate, decelerate), and the
//! slew is over when the slower axis arrives. The position in between is exact at any
//! instant, so a state read mid-slew shows where the mount really is.

use hifitime::{Duration, Epoch};
use teld_astro::{Horizontal, Icrs};

/// Where a slew goes and what the mount does on arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Track these ICRS coordinates on arrival (or hold there if tracking is off).
    Target(Icrs),
    /// Stop at the park position and report `at_park`.
    Park,
}

/// A slew in progress from `from` at `start` to `to` at `end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slew {
    pub start: Epoch,
    pub end: Epoch,
    pub from: Horizontal,
    pub to: Horizontal,
    /// Signed azimuth travel, the short way round (no cable wrap in this model).
    pub d_az: f64,
    pub d_alt: f64,
    pub rate: f64,
    pub accel: f64,
    pub goal: Goal,
}

/// Iterations of "where will the target be when we arrive": the sky turns 0.004°/s, so
/// each pass shrinks the error by the ratio of sky speed to slew speed, 1000× per pass.
const ARRIVAL_ITERATIONS: usize = 4;

impl Slew {
    /// Plans a slew from `from` at `start` to wherever `target_at(arrival)` is.
    pub fn plan(
        start: Epoch,
        from: Horizontal,
        goal: Goal,
        rate: f64,
        accel: f64,
        target_at: impl Fn(Epoch) -> Horizontal,
    ) -> Slew {
        let mut to = target_at(start);
        let mut seconds = 0.0;
        for _ in 0..ARRIVAL_ITERATIONS {
            to = target_at(start + Duration::from_seconds(seconds));
            let (d_alt, d_az) = deltas(from, to);
            seconds = axis_time(d_alt.abs(), rate, accel).max(axis_time(d_az.abs(), rate, accel));
        }
        let (d_alt, d_az) = deltas(from, to);
        let seconds = axis_time(d_alt.abs(), rate, accel).max(axis_time(d_az.abs(), rate, accel));
        Slew {
            start,
            end: start + Duration::from_seconds(seconds),
            from,
            to,
            d_az,
            d_alt,
            rate,
            accel,
            goal,
        }
    }

    /// Axis positions at `t`, clamped to the slew's ends.
    pub fn position(&self, t: Epoch) -> Horizontal {
        let tau = (t - self.start).to_seconds().max(0.0);
        let along = |d: f64| d.signum() * axis_travel(d.abs(), self.rate, self.accel, tau);
        Horizontal {
            alt_deg: self.from.alt_deg + along(self.d_alt),
            az_deg: (self.from.az_deg + along(self.d_az)).rem_euclid(360.0),
        }
    }
}

/// Altitude and (shortest, signed) azimuth difference.
fn deltas(from: Horizontal, to: Horizontal) -> (f64, f64) {
    let mut d_az = (to.az_deg - from.az_deg).rem_euclid(360.0);
    if d_az > 180.0 {
        d_az -= 360.0;
    }
    (to.alt_deg - from.alt_deg, d_az)
}

/// Seconds for one axis to travel `d` degrees from rest to rest.
pub fn axis_time(d: f64, rate: f64, accel: f64) -> f64 {
    let t_ramp = rate / accel;
    let d_ramps = rate * t_ramp; // both ramps together: 2 × ½·a·t²
    if d <= d_ramps { 2.0 * (d / accel).sqrt() } else { 2.0 * t_ramp + (d - d_ramps) / rate }
}

/// Degrees covered `tau` seconds after the start of a `d`-degree move.
fn axis_travel(d: f64, rate: f64, accel: f64, tau: f64) -> f64 {
    let total = axis_time(d, rate, accel);
    if tau >= total {
        return d;
    }
    let peak = rate.min((d * accel).sqrt()); // triangle profiles never reach `rate`
    let t_ramp = peak / accel;
    if tau < t_ramp {
        0.5 * accel * tau * tau
    } else if tau <= total - t_ramp {
        0.5 * accel * t_ramp * t_ramp + peak * (tau - t_ramp)
    } else {
        let left = total - tau;
        d - 0.5 * accel * left * left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_and_triangle_profiles() {
        // 90° at 3°/s with 1.5°/s²: 2 s ramps cover 6°, 84° cruise takes 28 s.
        assert!((axis_time(90.0, 3.0, 1.5) - 32.0).abs() < 1e-12);
        // 1.5° never reaches full speed: 2·√(1.5/1.5) = 2 s.
        assert!((axis_time(1.5, 3.0, 1.5) - 2.0).abs() < 1e-12);
        for &d in &[0.5, 1.5, 6.0, 90.0] {
            let total = axis_time(d, 3.0, 1.5);
            let mut last = 0.0;
            for i in 0..=100 {
                let x = axis_travel(d, 3.0, 1.5, total * i as f64 / 100.0);
                assert!(x >= last - 1e-12, "monotonic");
                assert!(x - last <= 3.0 * total / 100.0 + 1e-9, "never faster than the rate");
                last = x;
            }
            assert!((last - d).abs() < 1e-9);
        }
    }

    #[test]
    fn azimuth_goes_the_short_way_round() {
        let t0 = Epoch::from_gregorian_utc_at_midnight(2026, 11, 24);
        let from = Horizontal { alt_deg: 40.0, az_deg: 350.0 };
        let to = Horizontal { alt_deg: 40.0, az_deg: 10.0 };
        let s = Slew::plan(t0, from, Goal::Park, 3.0, 1.5, |_| to);
        assert!((s.d_az - 20.0).abs() < 1e-9);
        let mid = s.position(t0 + Duration::from_seconds((s.end - s.start).to_seconds() / 2.0));
        assert!(mid.az_deg < 0.5 || mid.az_deg > 359.5, "{mid:?}");
        assert_eq!(s.position(s.end), Horizontal { alt_deg: 40.0, az_deg: 10.0 });
    }
}
