//! Sidereal time from a Julian date, for callers without a site context. The full
//! IAU 2006/2000A values (GMST, GAST, ERA with UT1) are on [`crate::Astrometry`].

/// Greenwich mean sidereal time (IAU 2006) in degrees, taking UT1 ≈ TT − 69 s: good
/// to a few arcseconds, which is all a simulated mount needs. Use `Astrometry` for
/// anything that points a real telescope.
pub fn gmst_deg(jd_ut1: f64) -> f64 {
    let tt = jd_ut1 + 69.0 / 86_400.0;
    sofars::erst::gmst06(jd_ut1, 0.0, tt, 0.0).to_degrees().rem_euclid(360.0)
}

/// Local mean sidereal time in degrees for an east-positive longitude.
pub fn lmst_deg(jd_ut1: f64, longitude_deg: f64) -> f64 {
    (gmst_deg(jd_ut1) + longitude_deg).rem_euclid(360.0)
}

/// Julian date (UTC) of an epoch, as one number.
pub fn jd_utc(epoch: hifitime::Epoch) -> f64 {
    let (a, b) = crate::time::jd_utc(epoch);
    a + b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeus_example_12a_within_a_tenth_of_a_second() {
        // 1987 April 10, 0h UT: GMST = 13h10m46.3668s = 197.693195°.
        let g = gmst_deg(2_446_895.5);
        assert!((g - 197.693_195).abs() < 0.1 / 240.0, "{g}");
    }
}
