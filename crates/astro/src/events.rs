//! Rise, set and twilight: crossings of an altitude, found by stepping and bisection.

use hifitime::{Duration, Epoch};
use serde::Serialize;

use crate::astrometry::Astrometry;
use crate::{AstroError, Site, time};

/// Sampling step when searching for crossings: the Sun or Moon moves at most ~4° in
/// altitude in 10 minutes, so a crossing and its neighbour (hours apart) cannot fall
/// between two samples; only a grazing touch can, which is not a rise or set.
pub(crate) const SUN_STEP: Duration = Duration::from_seconds(600.0);
/// Bisection stops at this, well inside the 2 s (Sun) and 10 s (Moon) targets.
const RESOLUTION_S: f64 = 0.05;

/// Sun altitudes (centre, geometric) that define the events.
/// Sunrise and sunset: the centre at −50′ (34′ refraction + 16′ semidiameter).
pub const SUNSET_DEG: f64 = -50.0 / 60.0;
pub const CIVIL_DEG: f64 = -6.0;
pub const NAUTICAL_DEG: f64 = -12.0;
pub const ASTRONOMICAL_DEG: f64 = -18.0;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Crossing {
    #[serde(serialize_with = "ser_epoch")]
    pub at: Epoch,
    pub rising: bool,
}

fn ser_epoch<S: serde::Serializer>(e: &Epoch, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time::format_utc(*e, 3))
}

/// All crossings of zero by `f` in `[from, to)`, sampled every `step`.
pub fn crossings(
    mut f: impl FnMut(Epoch) -> Result<f64, AstroError>,
    from: Epoch,
    to: Epoch,
    step: Duration,
) -> Result<Vec<Crossing>, AstroError> {
    let mut out = Vec::new();
    let mut a = from;
    let mut fa = f(a)?;
    while a < to {
        let b = (a + step).min(to);
        let fb = f(b)?;
        if (fa < 0.0) != (fb < 0.0) {
            let (mut lo, mut hi, flo) = (a, b, fa);
            while (hi - lo).to_seconds() > RESOLUTION_S {
                let mid = lo + (hi - lo) * 0.5;
                let fm = f(mid)?;
                if (fm < 0.0) == (flo < 0.0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(Crossing { at: lo + (hi - lo) * 0.5, rising: fb >= 0.0 });
        }
        a = b;
        fa = fb;
    }
    Ok(out)
}

pub(crate) fn first_crossing(
    f: impl FnMut(Epoch) -> Result<f64, AstroError>,
    from: Epoch,
    to: Epoch,
    step: Duration,
) -> Result<Option<Epoch>, AstroError> {
    Ok(crossings(f, from, to, step)?.first().map(|c| c.at))
}

/// An event that may not happen, with the reason when it does not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    #[serde(serialize_with = "ser_epoch")]
    At(Epoch),
    None {
        none: String,
    },
}

impl Event {
    pub fn at(&self) -> Option<Epoch> {
        match self {
            Event::At(e) => Some(*e),
            Event::None { .. } => None,
        }
    }
}

/// The events of one night at a site (local civil date of its evening).
#[derive(Debug, Clone, Serialize)]
pub struct NightEvents {
    #[serde(serialize_with = "ser_epoch")]
    pub window_start: Epoch,
    #[serde(serialize_with = "ser_epoch")]
    pub window_end: Epoch,
    pub sunset: Event,
    pub sunrise: Event,
    pub civil_dusk: Event,
    pub civil_dawn: Event,
    pub nautical_dusk: Event,
    pub nautical_dawn: Event,
    pub astronomical_dusk: Event,
    pub astronomical_dawn: Event,
    pub moonrise: Vec<Crossing>,
    pub moonset: Vec<Crossing>,
    /// Illuminated fraction at local mean midnight.
    pub moon_illumination_midnight: f64,
}

/// Events from local mean noon of `date` to the next local mean noon.
pub fn night(site: &Site, year: i32, month: u32, day: u32) -> Result<NightEvents, AstroError> {
    site.validate()?;
    let noon = time::utc(year, month, day, 12, 0, 0.0).map_err(AstroError::Time)?;
    let start = noon - Duration::from_seconds(site.longitude_deg / 15.0 * 3600.0);
    let end = start + Duration::from_seconds(86_400.0);
    let midnight = start + Duration::from_seconds(43_200.0);
    let sun_alt = |t: Epoch| -> Result<f64, AstroError> {
        Ok(Astrometry::at(site, t)?.sun().observed.alt_deg)
    };
    let moon_alt = |t: Epoch| -> Result<f64, AstroError> {
        let m = Astrometry::at(site, t)?.moon();
        Ok(m.place.observed.alt_deg - crate::moon::horizon_deg(m.distance_km))
    };
    let alt_midnight = sun_alt(midnight)?;
    let pair = |h0: f64, name: &str| -> Result<(Event, Event), AstroError> {
        let c = crossings(|t| Ok(sun_alt(t)? - h0), start, end, SUN_STEP)?;
        // Dusk: the first setting in the window; dawn: the first rising after it (or
        // after the window start when there is no dusk).
        let dusk = c.iter().find(|x| !x.rising).map(|x| x.at);
        let after = dusk.unwrap_or(start);
        let dawn = c.iter().find(|x| x.rising && x.at > after).map(|x| x.at);
        let why = |what: &str| {
            let none = if alt_midnight > h0 {
                format!("the Sun stays above {h0}° all night: no {name} {what}")
            } else {
                format!("the Sun stays below {h0}° all day: no {name} {what}")
            };
            Event::None { none }
        };
        Ok((
            dusk.map_or_else(|| why("dusk"), Event::At),
            dawn.map_or_else(|| why("dawn"), Event::At),
        ))
    };
    let (sunset, sunrise) = pair(SUNSET_DEG, "sunset/sunrise")?;
    let (civil_dusk, civil_dawn) = pair(CIVIL_DEG, "civil")?;
    let (nautical_dusk, nautical_dawn) = pair(NAUTICAL_DEG, "nautical")?;
    let (astronomical_dusk, astronomical_dawn) = pair(ASTRONOMICAL_DEG, "astronomical")?;
    let moon = crossings(moon_alt, start, end, SUN_STEP)?;
    Ok(NightEvents {
        window_start: start,
        window_end: end,
        sunset,
        sunrise,
        civil_dusk,
        civil_dawn,
        nautical_dusk,
        nautical_dawn,
        astronomical_dusk,
        astronomical_dawn,
        moonrise: moon.iter().filter(|c| c.rising).copied().collect(),
        moonset: moon.iter().filter(|c| !c.rising).copied().collect(),
        moon_illumination_midnight: Astrometry::at(site, midnight)?.moon().illumination,
    })
}
