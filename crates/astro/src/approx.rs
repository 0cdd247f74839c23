//! Approximate horizontal coordinates (≈1′: IAU 1976 precession and GMST only; no
//! nutation, aberration, polar motion or refraction) at ~100 ns a call.
//!
//! For simulators and rough estimates only — a simulated mount converting alt/az to
//! RA/Dec thousands of times per frame. Never for pointing a real telescope or for a
//! limit check: use [`crate::Astrometry`] or [`crate::visibility`] for those.

use hifitime::Epoch;

use crate::angle::normalize_deg;
use crate::coords::{Horizontal, Icrs};
use crate::{Site, sidereal, time};

fn centuries_tt(e: Epoch) -> f64 {
    let (a, b) = time::jd_tt(e);
    ((a - 2_451_545.0) + b) / 36_525.0
}

/// ICRS → mean equator and equinox of date (Meeus 21.3–21.4), degrees.
fn precess(icrs: Icrs, e: Epoch) -> (f64, f64) {
    let (zeta, z, theta) = angles(centuries_tt(e));
    rotate(icrs.ra_deg, icrs.dec_deg, zeta, z, theta)
}

fn unprecess(ra: f64, dec: f64, e: Epoch) -> Icrs {
    let (zeta, z, theta) = angles(centuries_tt(e));
    let (ra, dec) = rotate(ra, dec, -z, -zeta, -theta);
    Icrs { ra_deg: ra, dec_deg: dec }
}

/// Hour angle of a target, degrees (−180..180).
pub fn hour_angle_deg(icrs: Icrs, site: &Site, e: Epoch) -> f64 {
    let (ra, _) = precess(icrs, e);
    let ha = normalize_deg(lst(site, e) - ra);
    if ha > 180.0 { ha - 360.0 } else { ha }
}

pub fn to_horizontal(icrs: Icrs, site: &Site, e: Epoch) -> Horizontal {
    let (ra, dec) = precess(icrs, e);
    let h = (lst(site, e) - ra).to_radians();
    let (phi, dec) = (site.latitude_deg.to_radians(), dec.to_radians());
    let alt = (phi.sin() * dec.sin() + phi.cos() * dec.cos() * h.cos()).clamp(-1.0, 1.0).asin();
    let az = (-dec.cos() * h.sin()).atan2(dec.sin() * phi.cos() - dec.cos() * h.cos() * phi.sin());
    Horizontal { alt_deg: alt.to_degrees(), az_deg: normalize_deg(az.to_degrees()) }
}

pub fn to_icrs(h: Horizontal, site: &Site, e: Epoch) -> Icrs {
    let (alt, az, phi) =
        (h.alt_deg.to_radians(), h.az_deg.to_radians(), site.latitude_deg.to_radians());
    let dec = (phi.sin() * alt.sin() + phi.cos() * alt.cos() * az.cos()).clamp(-1.0, 1.0).asin();
    let ha =
        (-az.sin() * alt.cos()).atan2(alt.sin() * phi.cos() - alt.cos() * az.cos() * phi.sin());
    unprecess(normalize_deg(lst(site, e) - ha.to_degrees()), dec.to_degrees(), e)
}

fn lst(site: &Site, e: Epoch) -> f64 {
    sidereal::lmst_deg(sidereal::jd_utc(e), site.longitude_deg)
}

fn angles(t: f64) -> (f64, f64, f64) {
    let arcsec = 1.0 / 3600.0;
    let zeta = (2306.2181 * t + 0.30188 * t * t + 0.017998 * t * t * t) * arcsec;
    let z = (2306.2181 * t + 1.09468 * t * t + 0.018203 * t * t * t) * arcsec;
    let theta = (2004.3109 * t - 0.42665 * t * t - 0.041833 * t * t * t) * arcsec;
    (zeta, z, theta)
}

fn rotate(ra_deg: f64, dec_deg: f64, zeta: f64, z: f64, theta: f64) -> (f64, f64) {
    let (a0, d0) = (ra_deg.to_radians(), dec_deg.to_radians());
    let (zeta, z, theta) = (zeta.to_radians(), z.to_radians(), theta.to_radians());
    let a = d0.cos() * (a0 + zeta).sin();
    let b = theta.cos() * d0.cos() * (a0 + zeta).cos() - theta.sin() * d0.sin();
    let c = theta.sin() * d0.cos() * (a0 + zeta).cos() + theta.cos() * d0.sin();
    (normalize_deg((a.atan2(b) + z).to_degrees()), c.clamp(-1.0, 1.0).asin().to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_an_arcminute_of_sofa_and_round_trips() {
        let site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
        let e = time::parse_utc("2026-11-24T22:00:00").unwrap();
        let a = crate::Astrometry::at(&site, e).unwrap();
        for (ra, dec) in [(22.5, 20.1), (300.0, -10.0), (100.0, 60.0), (10.0, 85.0)] {
            let icrs = Icrs { ra_deg: ra, dec_deg: dec };
            let h = to_horizontal(icrs, &site, e);
            let o = a.observe(icrs);
            let sep = crate::angle::separation_deg(h.az_deg, h.alt_deg, o.az_deg, o.alt_deg);
            assert!(sep < 1.0 / 60.0, "{ra},{dec}: {}″ from SOFA", sep * 3600.0);
            let back = to_icrs(h, &site, e);
            assert!(back.separation_deg(icrs) < 1e-9);
        }
    }

    #[test]
    fn meeus_example_21b_theta_persei() {
        let icrs = Icrs { ra_deg: 41.054_063, dec_deg: 49.227_750 };
        let e = Epoch::from_jde_tdb(2_462_088.69);
        let (ra, dec) = precess(icrs, e);
        assert!((ra - 41.547_214).abs() < 2e-6 && (dec - 49.348_483).abs() < 2e-6, "{ra} {dec}");
    }
}
