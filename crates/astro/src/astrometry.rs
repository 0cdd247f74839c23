//! Apparent places with IAU SOFA (via `sofars`): ICRS → observed (azimuth, altitude,
//! hour angle), coordinates of date (JNow), and back. One [`Astrometry`] holds
//! everything that depends on the site and instant (ERFA's `apco13`), so converting
//! many targets for one instant costs little per target.

use hifitime::Epoch;
use sofars::astro::{IauAstrom, apco, atciq, aticq, atioq, atoiq, refco};

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

/// The slowly varying inputs of an apparent place (ERFA apco13's expensive half):
/// Earth's orbit (epv00, ~30 µs) and precession-nutation (pnm06a, ~30 µs). Exact per
/// instant for single conversions; interpolated between exact anchors for planning
/// grids (see [`crate::visibility::frames`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slow {
    /// Earth barycentric position and velocity (au, au/day).
    pub ebpv: [[f64; 3]; 2],
    /// Earth heliocentric position and velocity.
    pub ehpv: [[f64; 3]; 2],
    /// Bias-precession-nutation matrix (equinox based).
    pub rnpb: [[f64; 3]; 3],
    /// CIO locator s.
    pub s: f64,
}

impl Slow {
    pub fn exact(tt: (f64, f64)) -> Slow {
        // Callers checked the date is inside epv00's range.
        let (ehpv, ebpv) = sofars::eph::epv00(tt.0, tt.1).expect("date inside epv00's range");
        let rnpb = sofars::pnp::pnm06a(tt.0, tt.1);
        let (x, y) = sofars::pnp::bpn2xy(&rnpb);
        Slow { ebpv, ehpv, rnpb, s: sofars::pnp::s06(tt.0, tt.1, x, y) }
    }

    /// Between two exact states, `f` of the way from `a` to `b`, `dt_days` apart:
    /// positions by cubic Hermite on the velocities (km over hours), everything else
    /// linearly (it changes by milliarcseconds per hour).
    pub fn interpolate(a: &Slow, b: &Slow, f: f64, dt_days: f64) -> Slow {
        let lerp = |x: f64, y: f64| x + (y - x) * f;
        let hermite = |p0: f64, v0: f64, p1: f64, v1: f64| {
            let (f2, f3) = (f * f, f * f * f);
            (2.0 * f3 - 3.0 * f2 + 1.0) * p0
                + (f3 - 2.0 * f2 + f) * dt_days * v0
                + (-2.0 * f3 + 3.0 * f2) * p1
                + (f3 - f2) * dt_days * v1
        };
        let mut out = *a;
        for i in 0..3 {
            out.ebpv[0][i] = hermite(a.ebpv[0][i], a.ebpv[1][i], b.ebpv[0][i], b.ebpv[1][i]);
            out.ebpv[1][i] = lerp(a.ebpv[1][i], b.ebpv[1][i]);
            out.ehpv[0][i] = hermite(a.ehpv[0][i], a.ehpv[1][i], b.ehpv[0][i], b.ehpv[1][i]);
            out.ehpv[1][i] = lerp(a.ehpv[1][i], b.ehpv[1][i]);
            for j in 0..3 {
                out.rnpb[i][j] = lerp(a.rnpb[i][j], b.rnpb[i][j]);
            }
        }
        out.s = lerp(a.s, b.s);
        out
    }
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
    /// Kept so the Sun and Moon need not evaluate the Earth's orbit again.
    slow: Slow,
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
        let tt = Self::checked_tt(site, at, weather.as_ref())?;
        Ok(Self::with_slow(site, at, eop, weather, tt, Slow::exact(tt)))
    }

    /// Validates the inputs and returns TT, refusing dates outside the Earth
    /// ephemeris's range.
    pub(crate) fn checked_tt(
        site: &Site,
        at: Epoch,
        weather: Option<&Weather>,
    ) -> Result<(f64, f64), AstroError> {
        site.validate()?;
        if let Some(w) = weather {
            w.validate()?;
        }
        let (tt1, tt2) = time::jd_tt(at);
        let years = ((tt1 - 2_451_545.0) + tt2) / 365.25;
        if years.is_nan() || years.abs() > YEARS_FROM_J2000 {
            return Err(AstroError::DateOutOfRange(time::format_utc(at, 0)));
        }
        Ok((tt1, tt2))
    }

    /// ERFA apco13 step by step, with the slow parts given (exact or interpolated).
    pub(crate) fn with_slow(
        site: &Site,
        at: Epoch,
        eop: Eop,
        weather: Option<Weather>,
        tt: (f64, f64),
        slow: Slow,
    ) -> Self {
        let ut1 = time::jd_ut1(at, eop.ut1_utc_s);
        let (elong, phi) = (site.longitude_deg.to_radians(), site.latitude_deg.to_radians());
        let (xp, yp) = (eop.xp_arcsec * ARCSEC, eop.yp_arcsec * ARCSEC);
        let (x, y) = sofars::pnp::bpn2xy(&slow.rnpb);
        let theta = sofars::erst::era00(ut1.0, ut1.1);
        let sp = sofars::pnp::sp00(tt.0, tt.1);
        let (refa, refb) = match &weather {
            Some(w) if w.pressure_hpa > 0.0 => {
                refco(w.pressure_hpa, w.temperature_c, w.humidity, w.wavelength_um)
            }
            _ => (0.0, 0.0),
        };
        let mut astrom = IauAstrom::default();
        apco(
            tt.0,
            tt.1,
            &slow.ebpv,
            &slow.ehpv[0],
            x,
            y,
            slow.s,
            theta,
            elong,
            phi,
            site.height_m,
            xp,
            yp,
            sp,
            refa,
            refb,
            &mut astrom,
        );
        let refracted = (refa != 0.0 || refb != 0.0).then_some(astrom);
        let mut geometric = astrom;
        geometric.refa = 0.0;
        geometric.refb = 0.0;
        Astrometry {
            geometric,
            refracted,
            eo: sofars::pnp::eors(&slow.rnpb, slow.s),
            epoch: at,
            site: *site,
            eop,
            jd_tt: tt,
            jd_ut1: ut1,
            slow,
        }
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

    /// Earth's heliocentric and barycentric state at this instant.
    pub(crate) fn earth_pv(&self) -> (&[[f64; 3]; 2], &[[f64; 3]; 2]) {
        (&self.slow.ehpv, &self.slow.ebpv)
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
