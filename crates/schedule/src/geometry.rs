//! Sky positions and separations, exactly as the benchmark validator computes them.

/// Unit vector of (ra, dec) in degrees.
#[inline]
pub fn unit(ra_deg: f64, dec_deg: f64) -> [f64; 3] {
    let (ra, dec) = (ra_deg.to_radians(), dec_deg.to_radians());
    let c = dec.cos();
    [c * ra.cos(), c * ra.sin(), dec.sin()]
}

/// Great-circle angle between unit vectors, degrees: atan2(|a×b|, a·b), the same
/// formula as Vincenty's (and astropy's `angular_separation`), well conditioned at
/// every angle.
#[inline]
pub fn separation_deg(a: [f64; 3], b: [f64; 3]) -> f64 {
    let cx = a[1] * b[2] - a[2] * b[1];
    let cy = a[2] * b[0] - a[0] * b[2];
    let cz = a[0] * b[1] - a[1] * b[0];
    let s = (cx * cx + cy * cy + cz * cz).sqrt();
    let c = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    s.atan2(c).to_degrees()
}

/// [`separation_deg`] to within [`FAST_SEPARATION_ERROR_DEG`], several times faster
/// (a polynomial arctangent instead of libm's): what the planner uses in its inner
/// loop, with that error added as margin.
#[inline]
pub fn separation_deg_fast(a: [f64; 3], b: [f64; 3]) -> f64 {
    let cx = a[1] * b[2] - a[2] * b[1];
    let cy = a[2] * b[0] - a[0] * b[2];
    let cz = a[0] * b[1] - a[1] * b[0];
    let s = (cx * cx + cy * cy + cz * cz).sqrt();
    let c = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    atan2_nonneg(s, c).to_degrees()
}

/// Bound on |[`separation_deg_fast`] − [`separation_deg`]| (the test measures it).
pub const FAST_SEPARATION_ERROR_DEG: f64 = 1e-5;

/// atan2(y, x) for y ≥ 0: reduce to atan on [0, 1] and use a polynomial.
#[inline]
fn atan2_nonneg(y: f64, x: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI};
    let ax = x.abs();
    let (num, den, swap) = if y <= ax { (y, ax, false) } else { (ax, y, true) };
    if den == 0.0 {
        return 0.0;
    }
    let t = num / den;
    let t2 = t * t;
    // Abramowitz & Stegun 4.4.49: |error| ≤ 2e-8 rad on [0, 1].
    let p = t
        * (1.0
            + t2 * (-0.333_331_452_8
                + t2 * (0.199_935_508_5
                    + t2 * (-0.142_088_994_4
                        + t2 * (0.106_562_639_3
                            + t2 * (-0.075_289_640_0
                                + t2 * (0.042_909_613_8
                                    + t2 * (-0.016_165_736_7 + t2 * 0.002_866_225_7))))))));
    let r = if swap { FRAC_PI_2 - p } else { p };
    if x < 0.0 { PI - r } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separations() {
        assert!((separation_deg(unit(0.0, 0.0), unit(90.0, 0.0)) - 90.0).abs() < 1e-12);
        assert!((separation_deg(unit(10.0, 89.0), unit(190.0, 89.0)) - 2.0).abs() < 1e-9);
        assert!(separation_deg(unit(123.0, -45.0), unit(123.0, -45.0)) < 1e-12);
        assert!((separation_deg(unit(0.0, 0.0), unit(180.0, 0.0)) - 180.0).abs() < 1e-9);
    }

    #[test]
    fn fast_separation_is_within_its_stated_error() {
        let mut x = 0x1234_5678_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut worst: f64 = 0.0;
        for i in 0..200_000 {
            let a = unit(360.0 * next(), 180.0 * next() - 90.0);
            // Every other pair close together, where most slews are.
            let b = if i % 2 == 0 {
                unit(360.0 * next(), 180.0 * next() - 90.0)
            } else {
                let d = [
                    a[0] + 0.1 * (next() - 0.5),
                    a[1] + 0.1 * (next() - 0.5),
                    a[2] + 0.1 * (next() - 0.5),
                ];
                let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                [d[0] / n, d[1] / n, d[2] / n]
            };
            worst = worst.max((separation_deg_fast(a, b) - separation_deg(a, b)).abs());
        }
        assert!(worst < FAST_SEPARATION_ERROR_DEG, "worst error {worst} deg");
    }
}
