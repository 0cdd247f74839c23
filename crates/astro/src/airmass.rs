//! Relative airmass from altitude.
//!
//! teld uses **Young (1994)** ("Air mass and refraction", Applied Optics 33, 1108):
//! a rational function of the *true* (geometric) zenith distance fitted to a model
//! atmosphere; it stays finite at the horizon (≈31.7) and matches the secant to 0.5 %
//! above 30°. It needs no `pow`, so the visibility grid evaluates it from
//! sin(altitude) in a few nanoseconds. The plane-parallel secant is offered for
//! comparison (and for instruments that specify it).

/// Young (1994) from *geometric* altitude in degrees; `None` below the horizon.
pub fn young1994(alt_deg: f64) -> Option<f64> {
    if alt_deg.is_nan() || alt_deg <= 0.0 {
        return None;
    }
    Some(young1994_from_sin_alt(alt_deg.to_radians().sin()))
}

/// Young (1994) from sin(altitude) = cos(zenith distance), for alt > 0.
#[inline]
pub fn young1994_from_sin_alt(c: f64) -> f64 {
    let c2 = c * c;
    (1.002432 * c2 + 0.148386 * c + 0.0096467)
        / (c2 * c + 0.149864 * c2 + 0.0102963 * c + 0.000303978)
}

/// sec z; `None` below the horizon.
pub fn secant(alt_deg: f64) -> Option<f64> {
    (alt_deg > 0.0).then(|| 1.0 / alt_deg.to_radians().sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn young_behaves_like_an_airmass() {
        assert!((young1994(90.0).unwrap() - 1.0).abs() < 1e-4);
        // Close to the secant high up, below it low down (Earth's curvature), finite
        // at the horizon.
        for alt in [30.0, 45.0, 60.0, 75.0] {
            let (y, s) = (young1994(alt).unwrap(), secant(alt).unwrap());
            assert!(y <= s && (s - y) / s < 0.005, "{alt}: {y} vs {s}");
        }
        let at10 = young1994(10.0).unwrap();
        assert!((5.4..5.7).contains(&at10), "{at10}");
        assert!((young1994(1e-9).unwrap() - 31.73).abs() < 0.01);
        let mut last = 1.0;
        for tenth in (1..900).rev() {
            let x = young1994(tenth as f64 / 10.0).unwrap();
            assert!(x >= last, "not monotonic at {}", tenth as f64 / 10.0);
            last = x;
        }
        assert_eq!(young1994(-1.0), None);
        assert_eq!(young1994(f64::NAN), None);
        assert!((secant(30.0).unwrap() - 2.0).abs() < 1e-12);
    }
}
