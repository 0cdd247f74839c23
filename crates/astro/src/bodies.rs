//! Apparent places of solar-system bodies given their barycentric positions: light
//! time, aberration, bias-precession-nutation, then the observed place. Shared by the
//! Sun and the Moon.

use crate::astrometry::{Astrometry, Observed, wrap360};
use crate::coords::{Icrs, TrueOfDate};

/// Speed of light, au/day (IAU 2009/2012 au).
pub(crate) const C_AU_PER_DAY: f64 = 173.144_632_684_669_3;

/// Where a body appears to this observer now.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BodyPlace {
    /// Apparent direction on ICRS axes (what skyfield's `apparent().radec()` gives).
    pub apparent_icrs_axes: Icrs,
    pub true_of_date: TrueOfDate,
    pub observed: Observed,
    /// Observer to body, au, at the time the light left it.
    pub distance_au: f64,
}

/// Barycentric position (au, ICRS axes) of a body as a function of TT Julian date
/// offset (days) from the instant of the observation.
pub(crate) trait Track {
    fn position(&self, dt_days: f64) -> [f64; 3];
}

/// Light-time-corrected apparent place of a body seen from the observer of `a`.
pub(crate) fn apparent(a: &Astrometry, body: &impl Track) -> (BodyPlace, [f64; 3]) {
    let eb = a.sofa().eb;
    let mut tau = 0.0;
    let mut p = [0.0; 3];
    // Two iterations reach micro-arcseconds for anything inside the solar system.
    for _ in 0..3 {
        let b = body.position(-tau);
        p = [b[0] - eb[0], b[1] - eb[1], b[2] - eb[2]];
        tau = norm(p) / C_AU_PER_DAY;
    }
    let dist = norm(p);
    let u = [p[0] / dist, p[1] / dist, p[2] / dist];
    let s = a.sofa();
    let ppr = sofars::astro::ab(&u, &s.v, s.em, s.bm1);
    let mut pi = [0.0; 3];
    sofars::vm::rxp(&s.bpn, &ppr, &mut pi);
    let (ri, di) = sofars::vm::c2s(&pi);
    let place = BodyPlace {
        apparent_icrs_axes: Icrs::from_unit(ppr),
        true_of_date: TrueOfDate {
            ra_deg: wrap360((ri - a.eo()).to_degrees()),
            dec_deg: di.to_degrees(),
        },
        observed: a.observe_cirs(ri, di),
        distance_au: dist,
    };
    (place, body.position(-tau))
}

pub(crate) fn norm(p: [f64; 3]) -> f64 {
    (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt()
}

/// Earth's barycentric and heliocentric position and velocity at the observation's
/// TT (SOFA epv00, ~5 km), au and au/day: the values the astrometry context holds.
pub(crate) struct EarthState {
    pub bary_pos: [f64; 3],
    pub bary_vel: [f64; 3],
    pub helio_pos: [f64; 3],
    pub helio_vel: [f64; 3],
}

pub(crate) fn earth(a: &Astrometry) -> EarthState {
    let (h, b) = a.earth_pv();
    EarthState { helio_pos: h[0], helio_vel: h[1], bary_pos: b[0], bary_vel: b[1] }
}
