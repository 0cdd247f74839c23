//! Apparent places with IAU SOFA (via `sofars`): ICRS → observed (azimuth, altitude,
//! hour angle), coordinates of date (JNow), and back. One [`Astrometry`] holds
//! everything that depends on the site and instant (ERFA's `apco13`), so converting
//! many targets for one instant costs little per target.

use hifitime::Epoch;
use sofars::astro::{IauAstrom, apco13, atciq, aticq, atioq, atoiq};

use crate::coords::{Horizontal, Icrs, TrueOfDate};
use crate::iers::{self, Eop};
use crate::site::{Site, Weather};
use crate::{AstroError, time};

const ARCSEC: f64 = std::f64::consts::PI / 648_000.0;

/// SOFA's Earth ephemeris (epv00) is valid within a century of J2000.
const YEARS_FROM_J2000: f64 = 99.0;

/// The observed place of a target.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Observed {
    /// North through east.
    pub az_deg: f64,
    /// Geometric altitude (no refraction).
    pub alt_deg: f64,
    /// Apparent altitude with refraction, when weather was given.
    pub alt_refracted_deg: Option<f64>,
    /// Local hour angle (CIO-based, observed), −180..180.
    pub ha_deg: f64,
    pub dec_deg: f64,
}

#[derive(Debug, Clone)]
pub struct Astrometry {
    /// Without refraction (ERFA's parameters with refraction constants zeroed).
    geometric: IauAstrom,
    /// With refraction, when weather was given.
    refracted: Option<IauAstrom>,
    /// Equation of the origins, radians (ERA − GST).
    eo: f64,
    pub epoch: Epoch,
    pub site: Site,
    pub eop: Eop,
    jd_tt: (f64, f64),
    jd_ut1: (f64, f64),
}

impl Astrometry {
    /// For `site` at `at`, with Earth orientation from the process-wide IERS table
    /// and no refraction.
    pub fn at(site: &Site, at: Epoch) -> Result<Self, AstroError> {
        Self::new(site, at, iers::active().at(at), None)
    }

    pub fn new(
        site: &Site,
        at: Epoch,
        eop: Eop,
        weather: Option<Weather>,
    ) -> Result<Self, AstroError> {
        site.validate()?;
        if let Some(w) = &weather {
            w.validate()?;
        }
        let (tt1, tt2) = time::jd_tt(at);
        let years = ((tt1 - 2_451_545.0) + tt2) / 365.25;
        if years.is_nan() || years.abs() > YEARS_FROM_J2000 {
            return Err(AstroError::DateOutOfRange(time::format_utc(at, 0)));
        }
        let (u1, u2) = time::jd_utc(at);
        let (elong, phi) = (site.longitude_deg.to_radians(), site.latitude_deg.to_radians());
        let (xp, yp) = (eop.xp_arcsec * ARCSEC, eop.yp_arcsec * ARCSEC);
        let w = weather.unwrap_or(Weather {
            pressure_hpa: 0.0,
            temperature_c: 0.0,
            humidity: 0.0,
            wavelength_um: 0.55,
        });
        let mut astrom = IauAstrom::default();
        let mut eo = 0.0;
        apco13(
            u1,
            u2,
            eop.ut1_utc_s,
            elong,
            phi,
            site.height_m,
            xp,
            yp,
            w.pressure_hpa,
            w.temperature_c,
            w.humidity,
            w.wavelength_um,
            &mut astrom,
            &mut eo,
        )
        .map_err(|code| AstroError::Sofa { what: "apco13", code })?;
        let refracted = (weather.is_some() && w.pressure_hpa > 0.0).then_some(astrom);
        let mut geometric = astrom;
        geometric.refa = 0.0;
        geometric.refb = 0.0;
        Ok(Astrometry {
            geometric,
            refracted,
            eo,
            epoch: at,
            site: *site,
            eop,
            jd_tt: (tt1, tt2),
            jd_ut1: time::jd_ut1(at, eop.ut1_utc_s),
        })
    }

    /// ICRS → observed.
    pub fn observe(&self, icrs: Icrs) -> Observed {
        let mut a = self.geometric;
        let (ri, di) =
            atciq(icrs.ra_deg.to_radians(), icrs.dec_deg.to_radians(), 0.0, 0.0, 0.0, 0.0, &mut a);
        self.observe_cirs(ri, di)
    }

    /// CIRS (CIO-based apparent) → observed: the second half of [`Self::observe`], also
    /// used for the Sun and Moon whose apparent places are formed differently.
    pub(crate) fn observe_cirs(&self, ri: f64, di: f64) -> Observed {
        let (az, zen, ha, dec, _) = atioq(ri, di, &self.geometric);
        let alt_refracted_deg =
            self.refracted.as_ref().map(|r| 90.0 - atioq(ri, di, r).1.to_degrees());
        Observed {
            az_deg: az.to_degrees(),
            alt_deg: 90.0 - zen.to_degrees(),
            alt_refracted_deg,
            ha_deg: wrap180(ha.to_degrees()),
            dec_deg: dec.to_degrees(),
        }
    }

    /// Observed (azimuth, refracted altitude if weather was given, else geometric)
    /// → ICRS: for pointing corrections from where a mount says it looks.
    pub fn icrs_from_observed(&self, h: Horizontal) -> Icrs {
        let astrom = self.refracted.as_ref().unwrap_or(&self.geometric);
        let (ri, di) = atoiq("A", h.az_deg.to_radians(), (90.0 - h.alt_deg).to_radians(), astrom);
        let mut a = self.geometric;
        let (rc, dc) = aticq(ri, di, &mut a);
        Icrs { ra_deg: wrap360(rc.to_degrees()), dec_deg: dc.to_degrees() }
    }

    /// ICRS → topocentric apparent place on the true equator and equinox of date
    /// (JNow; ASCOM `equTopocentric`, what LX200 mounts take).
    pub fn true_of_date(&self, icrs: Icrs) -> TrueOfDate {
        let mut a = self.geometric;
        let (ri, di) =
            atciq(icrs.ra_deg.to_radians(), icrs.dec_deg.to_radians(), 0.0, 0.0, 0.0, 0.0, &mut a);
        TrueOfDate { ra_deg: wrap360((ri - self.eo).to_degrees()), dec_deg: di.to_degrees() }
    }

    /// Inverse of [`Self::true_of_date`].
    pub fn icrs_from_true_of_date(&self, tod: TrueOfDate) -> Icrs {
        let mut a = self.geometric;
        let (rc, dc) = aticq(tod.ra_deg.to_radians() + self.eo, tod.dec_deg.to_radians(), &mut a);
        Icrs { ra_deg: wrap360(rc.to_degrees()), dec_deg: dc.to_degrees() }
    }

    /// Earth rotation angle, degrees.
    pub fn era_deg(&self) -> f64 {
        wrap360(sofars::erst::era00(self.jd_ut1.0, self.jd_ut1.1).to_degrees())
    }

    /// Greenwich mean sidereal time (IAU 2006), degrees.
    pub fn gmst_deg(&self) -> f64 {
        wrap360(
            sofars::erst::gmst06(self.jd_ut1.0, self.jd_ut1.1, self.jd_tt.0, self.jd_tt.1)
                .to_degrees(),
        )
    }

    /// Greenwich apparent sidereal time (IAU 2006/2000A), degrees.
    pub fn gast_deg(&self) -> f64 {
        wrap360(
            sofars::erst::gst06a(self.jd_ut1.0, self.jd_ut1.1, self.jd_tt.0, self.jd_tt.1)
                .to_degrees(),
        )
    }

    /// Local apparent sidereal time (GAST + longitude; polar motion not included).
    pub fn last_deg(&self) -> f64 {
        wrap360(self.gast_deg() + self.site.longitude_deg)
    }

    /// Parallactic angle of an observed place, degrees.
    pub fn parallactic_deg(&self, o: &Observed) -> f64 {
        sofars::coords::hd2pa(
            o.ha_deg.to_radians(),
            o.dec_deg.to_radians(),
            self.site.latitude_deg.to_radians(),
        )
        .to_degrees()
    }

    pub(crate) fn sofa(&self) -> &IauAstrom {
        &self.geometric
    }

    /// The Sun's apparent place (see [`crate::sun`]).
    pub fn sun(&self) -> crate::bodies::BodyPlace {
        crate::sun::place(self)
    }

    /// The Moon's apparent place (see [`crate::moon`]).
    pub fn moon(&self) -> crate::moon::MoonPlace {
        crate::moon::place(self)
    }

    pub(crate) fn eo(&self) -> f64 {
        self.eo
    }

    pub(crate) fn jd_tt(&self) -> (f64, f64) {
        self.jd_tt
    }
}

pub(crate) fn wrap360(d: f64) -> f64 {
    let w = d.rem_euclid(360.0);
    if w >= 360.0 { 0.0 } else { w }
}

pub(crate) fn wrap180(d: f64) -> f64 {
    let w = wrap360(d);
    if w > 180.0 { w - 360.0 } else { w }
}
