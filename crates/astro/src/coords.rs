//! Coordinate frames as distinct types, so ICRS (J2000) and coordinates of date can
//! never be mixed silently: converting between them needs the site and the instant.
//!
//! The convenience methods here build an [`Astrometry`] per call (tens of µs): fine
//! for one pointing; for many targets per instant use one `Astrometry`, and for
//! planning grids use [`crate::visibility`].

use hifitime::Epoch;
use serde::{Deserialize, Serialize};

use crate::AstroError;
use crate::astrometry::Astrometry;
pub use crate::site::Site;

/// ICRS right ascension and declination, degrees (catalogue place, J2000 equinox).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Icrs {
    pub ra_deg: f64,
    pub dec_deg: f64,
}

/// Topocentric apparent right ascension and declination on the true equator and
/// equinox of date ("JNow"), degrees: what LX200 mounts and ASCOM `equTopocentric`
/// use. Includes precession, nutation, aberration and light deflection; no
/// refraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrueOfDate {
    pub ra_deg: f64,
    pub dec_deg: f64,
}

/// Observed altitude (geometric unless said otherwise) and azimuth north through
/// east, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Horizontal {
    pub alt_deg: f64,
    pub az_deg: f64,
}

impl Icrs {
    pub fn to_horizontal(self, site: &Site, epoch: Epoch) -> Result<Horizontal, AstroError> {
        let o = Astrometry::at(site, epoch)?.observe(self);
        Ok(Horizontal { alt_deg: o.alt_deg, az_deg: o.az_deg })
    }

    pub fn to_true_of_date(self, site: &Site, epoch: Epoch) -> Result<TrueOfDate, AstroError> {
        Ok(Astrometry::at(site, epoch)?.true_of_date(self))
    }

    pub fn separation_deg(self, other: Icrs) -> f64 {
        crate::angle::separation_deg(self.ra_deg, self.dec_deg, other.ra_deg, other.dec_deg)
    }

    /// Unit vector (ICRS axes).
    pub fn unit(self) -> [f64; 3] {
        let (ra, dec) = (self.ra_deg.to_radians(), self.dec_deg.to_radians());
        [dec.cos() * ra.cos(), dec.cos() * ra.sin(), dec.sin()]
    }

    pub fn from_unit(p: [f64; 3]) -> Icrs {
        let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
        Icrs {
            ra_deg: crate::astrometry::wrap360(p[1].atan2(p[0]).to_degrees()),
            dec_deg: p[2].atan2(r).to_degrees(),
        }
    }
}

impl TrueOfDate {
    pub fn to_icrs(self, site: &Site, epoch: Epoch) -> Result<Icrs, AstroError> {
        Ok(Astrometry::at(site, epoch)?.icrs_from_true_of_date(self))
    }

    pub fn separation_deg(self, other: TrueOfDate) -> f64 {
        crate::angle::separation_deg(self.ra_deg, self.dec_deg, other.ra_deg, other.dec_deg)
    }
}

impl Horizontal {
    /// Relative airmass (Young 1994), see [`crate::airmass`]; `None` below the horizon.
    pub fn airmass(self) -> Option<f64> {
        crate::airmass::young1994(self.alt_deg)
    }

    pub fn to_icrs(self, site: &Site, epoch: Epoch) -> Result<Icrs, AstroError> {
        Ok(Astrometry::at(site, epoch)?.icrs_from_observed(self))
    }
}
