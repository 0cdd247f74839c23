//! Coordinate frames as distinct types, so ICRS (J2000) and coordinates of date can
//! never be mixed silently: converting between them needs the epoch.

use hifitime::Epoch;
use serde::{Deserialize, Serialize};

use crate::angle::normalize_deg;
use crate::{centuries_tt, jd_utc, sidereal};

/// Where a telescope stands (WGS84; longitude east-positive).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub height_m: f64,
}

/// ICRS right ascension and declination in degrees (treated as FK5 J2000 at this
/// accuracy: the two differ by < 0.02″).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Icrs {
    pub ra_deg: f64,
    pub dec_deg: f64,
}

/// Right ascension and declination on the equator and equinox of date (JNow), degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OfDate {
    pub ra_deg: f64,
    pub dec_deg: f64,
}

/// Altitude above the horizon and azimuth north through east, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Horizontal {
    pub alt_deg: f64,
    pub az_deg: f64,
}

impl Icrs {
    /// Precesses to the mean equator and equinox of `epoch` (IAU 1976, Meeus 21.3–21.4).
    pub fn to_of_date(self, epoch: Epoch) -> OfDate {
        let (zeta, z, theta) = precession_angles(centuries_tt(epoch));
        let (ra, dec) = rotate(self.ra_deg, self.dec_deg, zeta, z, theta);
        OfDate { ra_deg: ra, dec_deg: dec }
    }

    pub fn to_horizontal(self, site: &Site, epoch: Epoch) -> Horizontal {
        self.to_of_date(epoch).to_horizontal(site, epoch)
    }

    pub fn separation_deg(self, other: Icrs) -> f64 {
        crate::angle::separation_deg(self.ra_deg, self.dec_deg, other.ra_deg, other.dec_deg)
    }
}

impl OfDate {
    /// Inverse of [`Icrs::to_of_date`].
    pub fn to_icrs(self, epoch: Epoch) -> Icrs {
        let (zeta, z, theta) = precession_angles(centuries_tt(epoch));
        let (ra, dec) = rotate(self.ra_deg, self.dec_deg, -z, -zeta, -theta);
        Icrs { ra_deg: ra, dec_deg: dec }
    }

    pub fn hour_angle_deg(self, site: &Site, epoch: Epoch) -> f64 {
        let lst = sidereal::lmst_deg(jd_utc(epoch), site.longitude_deg);
        let ha = normalize_deg(lst - self.ra_deg);
        if ha > 180.0 { ha - 360.0 } else { ha }
    }

    pub fn to_horizontal(self, site: &Site, epoch: Epoch) -> Horizontal {
        let h = self.hour_angle_deg(site, epoch).to_radians();
        let (phi, dec) = (site.latitude_deg.to_radians(), self.dec_deg.to_radians());
        let sin_alt = phi.sin() * dec.sin() + phi.cos() * dec.cos() * h.cos();
        let alt = sin_alt.clamp(-1.0, 1.0).asin();
        let az =
            (-dec.cos() * h.sin()).atan2(dec.sin() * phi.cos() - dec.cos() * h.cos() * phi.sin());
        Horizontal { alt_deg: alt.to_degrees(), az_deg: normalize_deg(az.to_degrees()) }
    }

    pub fn separation_deg(self, other: OfDate) -> f64 {
        crate::angle::separation_deg(self.ra_deg, self.dec_deg, other.ra_deg, other.dec_deg)
    }
}

impl Horizontal {
    /// Relative airmass by Kasten & Young (1989), finite down to the horizon; `None`
    /// below it.
    pub fn airmass(self) -> Option<f64> {
        let h = self.alt_deg;
        if h <= 0.0 {
            return None;
        }
        Some(1.0 / (h.to_radians().sin() + 0.50572 * (h + 6.07995).powf(-1.6364)))
    }

    /// Inverse of [`OfDate::to_horizontal`].
    pub fn to_of_date(self, site: &Site, epoch: Epoch) -> OfDate {
        let (alt, az, phi) =
            (self.alt_deg.to_radians(), self.az_deg.to_radians(), site.latitude_deg.to_radians());
        let sin_dec = phi.sin() * alt.sin() + phi.cos() * alt.cos() * az.cos();
        let dec = sin_dec.clamp(-1.0, 1.0).asin();
        let h =
            (-az.sin() * alt.cos()).atan2(alt.sin() * phi.cos() - alt.cos() * az.cos() * phi.sin());
        let lst = sidereal::lmst_deg(jd_utc(epoch), site.longitude_deg);
        OfDate { ra_deg: normalize_deg(lst - h.to_degrees()), dec_deg: dec.to_degrees() }
    }
}

/// ζ, z, θ in degrees for precession from J2000.0 to `t` Julian centuries (TT) later.
fn precession_angles(t: f64) -> (f64, f64, f64) {
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
    let ra = a.atan2(b) + z;
    (normalize_deg(ra.to_degrees()), c.clamp(-1.0, 1.0).asin().to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tt_epoch(jde_tt: f64) -> Epoch {
        Epoch::from_jde_tdb(jde_tt) // TDB−TT < 2 ms: irrelevant here
    }

    #[test]
    fn meeus_example_21b_theta_persei() {
        // J2000 place already moved by proper motion to 2028 Nov 13.19 TD.
        let icrs = Icrs { ra_deg: 41.054_063, dec_deg: 49.227_750 };
        let e = tt_epoch(2_462_088.69);
        let d = icrs.to_of_date(e);
        assert!((d.ra_deg - 41.547_214).abs() < 2e-6, "{}", d.ra_deg);
        assert!((d.dec_deg - 49.348_483).abs() < 2e-6, "{}", d.dec_deg);
        let back = d.to_icrs(e);
        assert!(
            (back.ra_deg - icrs.ra_deg).abs() < 1e-9 && (back.dec_deg - icrs.dec_deg).abs() < 1e-9
        );
    }

    #[test]
    fn horizontal_round_trip_and_meridian_transit() {
        let site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
        let e = Epoch::from_gregorian_utc(2026, 11, 24, 22, 0, 0, 0);
        // A star on the meridian culminates at altitude 90 − |φ − δ|, due south for δ < φ.
        let lst = sidereal::lmst_deg(jd_utc(e), site.longitude_deg);
        let star = OfDate { ra_deg: lst, dec_deg: 10.0 };
        let h = star.to_horizontal(&site, e);
        assert!((h.alt_deg - (90.0 - (28.7606 - 10.0))).abs() < 1e-9, "{h:?}");
        assert!((h.az_deg - 180.0).abs() < 1e-9, "{h:?}");
        let odd = OfDate { ra_deg: 123.4, dec_deg: -5.6 };
        let back = odd.to_horizontal(&site, e).to_of_date(&site, e);
        assert!(odd.separation_deg(back) < 1e-9, "{back:?}");
    }

    #[test]
    fn kasten_young_airmass() {
        let at = |alt| Horizontal { alt_deg: alt, az_deg: 0.0 }.airmass();
        assert!((at(90.0).unwrap() - 1.0).abs() < 1e-3);
        assert!((at(30.0).unwrap() - 1.995).abs() < 0.01);
        assert!(at(0.5).unwrap() > 20.0);
        assert_eq!(at(-1.0), None);
    }
}
