//! The Sun by the Astronomical Almanac's low-precision formulae (≈0.01° in 1950–2050).

use hifitime::{Duration, Epoch};

use crate::angle::normalize_deg;
use crate::coords::{OfDate, Site};

/// Apparent place of the Sun on the equator and equinox of date.
pub fn position(epoch: Epoch) -> OfDate {
    let n = epoch.to_jde_tt_days() - 2_451_545.0;
    let l = normalize_deg(280.460 + 0.985_647_4 * n);
    let g = normalize_deg(357.528 + 0.985_600_3 * n).to_radians();
    let lambda = (l + 1.915 * g.sin() + 0.020 * (2.0 * g).sin()).to_radians();
    let eps = (23.439 - 0.000_000_4 * n).to_radians();
    let ra = (eps.cos() * lambda.sin()).atan2(lambda.cos());
    let dec = (eps.sin() * lambda.sin()).asin();
    OfDate { ra_deg: normalize_deg(ra.to_degrees()), dec_deg: dec.to_degrees() }
}

/// Geometric altitude of the Sun's centre, degrees.
pub fn altitude_deg(site: &Site, epoch: Epoch) -> f64 {
    position(epoch).to_horizontal(site, epoch).alt_deg
}

/// First instant after `from` (within `horizon`) at which the Sun's altitude crosses
/// `altitude_deg`, found by 10-minute steps and bisection to one second.
pub fn next_crossing(
    site: &Site,
    from: Epoch,
    altitude_deg: f64,
    horizon: Duration,
) -> Option<Epoch> {
    let step = Duration::from_seconds(600.0);
    let f = |e: Epoch| self::altitude_deg(site, e) - altitude_deg;
    let mut a = from;
    let mut fa = f(a);
    while a - from < horizon {
        let b = a + step;
        let fb = f(b);
        if fa == 0.0 {
            return Some(a);
        }
        if fa.signum() != fb.signum() {
            let (mut lo, mut hi, mut flo) = (a, b, fa);
            while (hi - lo).to_seconds() > 1.0 {
                let mid = lo + (hi - lo) * 0.5;
                let fm = f(mid);
                if fm.signum() == flo.signum() {
                    lo = mid;
                    flo = fm;
                } else {
                    hi = mid;
                }
            }
            return Some(hi);
        }
        a = b;
        fa = fb;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeus_example_25a() {
        // 1992 October 13.0 TD: apparent α = 198.38083°, δ = −7.78507°.
        let p = position(Epoch::from_jde_tdb(2_448_908.5));
        assert!((p.ra_deg - 198.380_83).abs() < 0.01, "{}", p.ra_deg);
        assert!((p.dec_deg + 7.785_07).abs() < 0.01, "{}", p.dec_deg);
    }

    #[test]
    fn la_palma_nautical_dusk_on_the_demo_night() {
        // Almanac for 28°45′N 17°53′W on 2026-11-24: sunset ≈18:08 UTC, astronomical
        // twilight ends ≈19:29 UTC. Check the −12° crossing lies between.
        let site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
        let from = Epoch::from_gregorian_utc(2026, 11, 24, 12, 0, 0, 0);
        let t = next_crossing(&site, from, -12.0, Duration::from_seconds(86_400.0)).unwrap();
        let (_, _, _, h, m, _, _) = t.to_gregorian_utc();
        let minutes = h as i32 * 60 + m as i32;
        assert!((18 * 60 + 30..=19 * 60 + 15).contains(&minutes), "{h}:{m}");
        assert!(altitude_deg(&site, Epoch::from_gregorian_utc(2026, 11, 25, 0, 0, 0, 0)) < -40.0);
        assert!(altitude_deg(&site, Epoch::from_gregorian_utc(2026, 11, 24, 13, 0, 0, 0)) > 30.0);
    }

    #[test]
    fn polar_night_has_no_crossing() {
        let site = Site { latitude_deg: 78.2, longitude_deg: 15.6, height_m: 0.0 };
        let from = Epoch::from_gregorian_utc(2026, 12, 21, 0, 0, 0, 0);
        assert_eq!(next_crossing(&site, from, 0.0, Duration::from_seconds(86_400.0)), None);
    }
}
