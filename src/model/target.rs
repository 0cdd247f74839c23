//! What a request points at: a star-like target with proper motion, a minor planet
//! from MPC orbital elements, or an ephemeris table — and where it is at an instant.

use std::sync::Arc;

use hifitime::Epoch;
use serde::{Deserialize, Serialize};
use teld_astro::orbit::{
    EphemerisTable, KeplerOrbit, MpcElements, Observer, OrbitError, SolarSystemEphemeris,
    astrometric,
};
use teld_astro::{Icrs, Site};

/// The target as submitted. Exactly one of: `ra_deg` + `dec_deg` (ICRS, J2000, with
/// optional proper motion), `mpc_elements`, or `ephemeris`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ra_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dec_deg: Option<f64>,
    /// Proper motion in RA·cos(Dec), milliarcseconds per Julian year, from J2000.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm_ra_cosdec_mas_yr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm_dec_mas_yr: Option<f64>,
    /// One line of MPC orbital elements (MPCORB.DAT / NEOCP format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpc_elements: Option<String>,
    /// An ephemeris table as CSV: `utc,ra_deg,dec_deg` and optionally
    /// `ra_rate_arcsec_per_min,dec_rate_arcsec_per_min` (astrometric ICRS places).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeris: Option<String>,
}

/// Why a target's place cannot be given; the message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "give exactly one of ra_deg + dec_deg, mpc_elements or ephemeris (got {0}): a request points at one kind of target"
    )]
    Kind(String),
    #[error("{given} is given but {missing} is not: a sidereal target needs both coordinates")]
    Incomplete { missing: &'static str, given: &'static str },
    #[error("{0}")]
    Orbit(#[from] OrbitError),
}

impl TargetError {
    /// The request field the error is about, for the API's error list.
    pub fn field(&self) -> &'static str {
        match self {
            TargetError::Kind(_) => "target",
            TargetError::Incomplete { missing, .. } => missing,
            TargetError::Orbit(OrbitError::TableLine { .. } | OrbitError::Table(_)) => {
                "target.ephemeris"
            }
            TargetError::Orbit(_) => "target.mpc_elements",
        }
    }
}

/// How a target moves, ready to be evaluated many times (parsed once).
#[derive(Debug, Clone)]
pub enum Motion {
    Sidereal { at_j2000: Icrs, pm_mas_yr: Option<(f64, f64)> },
    Orbit(Arc<KeplerOrbit>),
    Table(Arc<EphemerisTable>),
}

/// Days per Julian year, for proper motion.
const JULIAN_YEAR_DAYS: f64 = 365.25;

impl Target {
    /// A sidereal target without proper motion.
    pub fn sidereal(name: impl Into<String>, ra_deg: f64, dec_deg: f64) -> Target {
        Target {
            name: name.into(),
            ra_deg: Some(ra_deg),
            dec_deg: Some(dec_deg),
            ..Default::default()
        }
    }

    pub fn is_moving(&self) -> bool {
        self.mpc_elements.is_some() || self.ephemeris.is_some()
    }

    /// Parses the target into something that gives a place at any instant.
    pub fn motion(&self) -> Result<Motion, TargetError> {
        let given: Vec<&str> = [
            (self.ra_deg.is_some() || self.dec_deg.is_some(), "ra_deg/dec_deg"),
            (self.mpc_elements.is_some(), "mpc_elements"),
            (self.ephemeris.is_some(), "ephemeris"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if given.len() != 1 {
            let got = if given.is_empty() { "none".to_string() } else { given.join(" and ") };
            return Err(TargetError::Kind(got));
        }
        if let Some(line) = &self.mpc_elements {
            let el = MpcElements::parse_line(line)?;
            return Ok(Motion::Orbit(Arc::new(KeplerOrbit::from_elements(&el)?)));
        }
        if let Some(csv) = &self.ephemeris {
            return Ok(Motion::Table(Arc::new(EphemerisTable::parse_csv(csv)?)));
        }
        let ra = self
            .ra_deg
            .ok_or(TargetError::Incomplete { missing: "target.ra_deg", given: "dec_deg" })?;
        let dec = self
            .dec_deg
            .ok_or(TargetError::Incomplete { missing: "target.dec_deg", given: "ra_deg" })?;
        let pm = match (self.pm_ra_cosdec_mas_yr, self.pm_dec_mas_yr) {
            (None, None) => None,
            (a, d) => Some((a.unwrap_or(0.0), d.unwrap_or(0.0))),
        };
        Ok(Motion::Sidereal { at_j2000: Icrs { ra_deg: ra, dec_deg: dec }, pm_mas_yr: pm })
    }
}

impl Motion {
    pub fn is_moving(&self) -> bool {
        !matches!(self, Motion::Sidereal { .. })
    }

    /// The ICRS astrometric place seen from `site` at `t`.
    pub fn place(&self, site: &Site, t: Epoch) -> Result<Icrs, TargetError> {
        match self {
            Motion::Sidereal { at_j2000, pm_mas_yr: None } => Ok(*at_j2000),
            Motion::Sidereal { at_j2000, pm_mas_yr: Some((pa, pd)) } => {
                // Linear in time: over a century the curvature of a proper-motion path
                // is far below a pixel for any star a survey telescope targets.
                let years = (t - Epoch::from_jde_tdb(2_451_545.0)).to_unit(hifitime::Unit::Day)
                    / JULIAN_YEAR_DAYS;
                let dec = at_j2000.dec_deg + pd * years / 3.6e6;
                let cos = at_j2000.dec_deg.to_radians().cos().max(1e-9);
                let ra = (at_j2000.ra_deg + pa * years / 3.6e6 / cos).rem_euclid(360.0);
                Ok(Icrs { ra_deg: ra, dec_deg: dec.clamp(-90.0, 90.0) })
            }
            Motion::Orbit(orbit) => {
                let eph = SolarSystemEphemeris::bundled();
                Ok(astrometric(orbit, &Observer::site(*site), &eph, t)?.icrs)
            }
            Motion::Table(table) => Ok(table.place(t)?.icrs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERES: &str = "00001    3.34  0.15 K2555 188.70269   73.27343   80.25221   10.58780  0.0794013  0.21424651   2.7660512  0 MPO812345  7330 125 1801-2024 0.80 M-v 30k MPCLINUX   0000 (1) Ceres                   20241101";

    fn site() -> Site {
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
    }

    #[test]
    fn exactly_one_kind_of_target() {
        let mut t = Target::sidereal("x", 10.0, 20.0);
        assert!(t.motion().is_ok());
        t.ephemeris = Some("utc,ra_deg,dec_deg".into());
        let e = t.motion().unwrap_err();
        assert_eq!(e.field(), "target");
        assert!(e.to_string().contains("ra_deg/dec_deg and ephemeris"), "{e}");
        let none = Target { name: "x".into(), ..Default::default() };
        assert!(none.motion().unwrap_err().to_string().contains("got none"));
        let half = Target { name: "x".into(), ra_deg: Some(1.0), ..Default::default() };
        assert_eq!(half.motion().unwrap_err().field(), "target.dec_deg");
    }

    #[test]
    fn proper_motion_moves_a_star_from_j2000() {
        // Barnard's star: −798.6 / +10328.1 mas/yr.
        let t = Target {
            pm_ra_cosdec_mas_yr: Some(-798.58),
            pm_dec_mas_yr: Some(10328.12),
            ..Target::sidereal("Barnard", 269.452_08, 4.693_39)
        };
        let m = t.motion().unwrap();
        let p = m.place(&site(), Epoch::from_gregorian_utc_at_midnight(2026, 1, 1)).unwrap();
        let years = 26.0;
        assert!((p.dec_deg - (4.693_39 + 10328.12 * years / 3.6e6)).abs() < 1e-4, "{p:?}");
        assert!(p.ra_deg < 269.452_08, "moves west: {p:?}");
    }

    #[test]
    fn mpc_elements_give_a_moving_place() {
        let t =
            Target { name: "Ceres".into(), mpc_elements: Some(CERES.into()), ..Default::default() };
        let m = t.motion().unwrap();
        assert!(m.is_moving());
        let t0 = Epoch::from_gregorian_utc_at_midnight(2025, 3, 1);
        let a = m.place(&site(), t0).unwrap();
        let b = m.place(&site(), t0 + hifitime::Duration::from_days(1.0)).unwrap();
        let moved = ((a.ra_deg - b.ra_deg).powi(2) + (a.dec_deg - b.dec_deg).powi(2)).sqrt();
        assert!(moved > 0.05 && moved < 1.0, "Ceres moves ~0.1-0.4°/day, got {moved}");
    }

    #[test]
    fn bad_elements_and_tables_name_their_field() {
        let t =
            Target { name: "x".into(), mpc_elements: Some("junk".into()), ..Default::default() };
        let e = t.motion().unwrap_err();
        assert_eq!(e.field(), "target.mpc_elements");
        assert!(e.to_string().contains("103"), "{e}");
        let t = Target {
            name: "x".into(),
            ephemeris: Some("utc,ra_deg,dec_deg\n2026-11-24T20:00:00,1,2\n".into()),
            ..Default::default()
        };
        assert_eq!(t.motion().unwrap_err().field(), "target.ephemeris");
    }
}
