//! Sidereal time.

use crate::angle::normalize_deg;

/// Greenwich mean sidereal time in degrees (IAU 1982, Meeus 12.4), from a UT1 Julian
/// date. Good to ~0.1 s of time over this century.
pub fn gmst_deg(jd_ut1: f64) -> f64 {
    let t = (jd_ut1 - 2_451_545.0) / 36_525.0;
    normalize_deg(
        280.460_618_37 + 360.985_647_366_29 * (jd_ut1 - 2_451_545.0) + 0.000_387_933 * t * t
            - t * t * t / 38_710_000.0,
    )
}

/// Local mean sidereal time in degrees for an east-positive longitude.
pub fn lmst_deg(jd_ut1: f64, longitude_deg: f64) -> f64 {
    normalize_deg(gmst_deg(jd_ut1) + longitude_deg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeus_example_12a() {
        // 1987 April 10, 0h UT: GMST = 13h10m46.3668s = 197.693195°.
        let g = gmst_deg(2_446_895.5);
        assert!((g - 197.693_195).abs() < 1e-5, "{g}");
    }

    #[test]
    fn meeus_example_12b() {
        // 1987 April 10, 19:21:00 UT: GMST = 8h34m57.0896s = 128.737_873°.
        let g = gmst_deg(2_446_896.306_25);
        assert!((g - 128.737_873_3).abs() < 1e-5, "{g}");
    }
}
