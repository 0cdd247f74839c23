//! The Sun: SOFA's Earth ephemeris (epv00, ~5 km, i.e. milliarcseconds), light time,
//! aberration for the observer's own velocity, nutation: topocentric apparent to well
//! under 1″.

use hifitime::{Duration, Epoch};

use crate::astrometry::Astrometry;
use crate::bodies::{BodyPlace, Track, apparent, earth};
use crate::{AstroError, Site};

struct Sun {
    bary: [f64; 3],
    vel: [f64; 3],
}

impl Track for Sun {
    // The Sun moves ~13 m/s about the barycentre: linear over 8 minutes is exact enough.
    fn position(&self, dt: f64) -> [f64; 3] {
        [
            self.bary[0] + self.vel[0] * dt,
            self.bary[1] + self.vel[1] * dt,
            self.bary[2] + self.vel[2] * dt,
        ]
    }
}

pub(crate) fn place(a: &Astrometry) -> BodyPlace {
    let e = earth(a);
    let sun = Sun {
        bary: [
            e.bary_pos[0] - e.helio_pos[0],
            e.bary_pos[1] - e.helio_pos[1],
            e.bary_pos[2] - e.helio_pos[2],
        ],
        vel: [
            e.bary_vel[0] - e.helio_vel[0],
            e.bary_vel[1] - e.helio_vel[1],
            e.bary_vel[2] - e.helio_vel[2],
        ],
    };
    apparent(a, &sun).0
}

/// Geometric altitude of the Sun's centre (no refraction), degrees.
pub fn altitude_deg(site: &Site, epoch: Epoch) -> Result<f64, AstroError> {
    Ok(Astrometry::at(site, epoch)?.sun().observed.alt_deg)
}

/// First instant after `from` (within `horizon`) at which the Sun's centre crosses
/// `altitude_deg`, to 0.1 s; `None` if it does not (polar day or night).
pub fn next_crossing(
    site: &Site,
    from: Epoch,
    altitude_deg: f64,
    horizon: Duration,
) -> Result<Option<Epoch>, AstroError> {
    let f = |t: Epoch| Ok(self::altitude_deg(site, t)? - altitude_deg);
    crate::events::first_crossing(f, from, from + horizon, crate::events::SUN_STEP)
}
