//! Branch-light maths for the visibility grid's inner loop, in f64: in single
//! precision sin(altitude) cannot resolve altitude near the zenith (an f32 step of
//! 6e-8 is 70″ of zenith distance there), in double it is milliarcseconds.

const RAD_TO_DEG: f64 = 180.0 / std::f64::consts::PI;

/// arcsin in degrees, |error| < 2e-8 rad (0.004″) over [−1, 1]: Abramowitz & Stegun
/// 4.4.46. Inputs are clamped to [−1, 1].
#[inline(always)]
pub fn asin_deg(x: f64) -> f64 {
    let a = x.abs().min(1.0);
    let p = -0.001_262_491_1_f64;
    let p = p.mul_add(a, 0.006_670_090_1);
    let p = p.mul_add(a, -0.017_088_125_6);
    let p = p.mul_add(a, 0.030_891_881_0);
    let p = p.mul_add(a, -0.050_174_304_6);
    let p = p.mul_add(a, 0.088_978_987_4);
    let p = p.mul_add(a, -0.214_598_801_6);
    let p = p.mul_add(a, 1.570_796_305_0);
    let r = std::f64::consts::FRAC_PI_2 - (1.0 - a).sqrt() * p;
    (r * RAD_TO_DEG).copysign(x)
}

/// Young (1994) airmass from sin(altitude); +∞ at or below the horizon.
#[inline(always)]
pub fn airmass(s: f64) -> f64 {
    let c = s.max(0.0);
    let x = crate::airmass::young1994_from_sin_alt(c);
    if s > 0.0 { x } else { f64::INFINITY }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asin_is_accurate_everywhere() {
        let mut worst: f64 = 0.0;
        for i in -20_000..=20_000 {
            let x = i as f64 / 20_000.0;
            worst = worst.max((asin_deg(x) - x.asin().to_degrees()).abs());
        }
        assert!(worst * 3600.0 < 0.005, "worst error {}″", worst * 3600.0);
    }

    #[test]
    fn airmass_matches_the_scalar_formula() {
        for alt in [1.0_f64, 5.0, 20.0, 45.0, 89.0] {
            let want = crate::airmass::young1994(alt).unwrap();
            assert!((airmass(alt.to_radians().sin()) - want).abs() < 1e-12);
        }
        assert_eq!(airmass(-0.1), f64::INFINITY);
    }
}
