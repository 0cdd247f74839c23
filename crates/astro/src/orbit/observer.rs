//! Where the observer is: the geocentre or a telescope on the rotating Earth.

use hifitime::Epoch;

use super::vector::{add, sub};
use super::{AU_KM, DAY_S, OrbitError, SolarSystemEphemeris};
use crate::coords::Site;
use crate::time;

/// IERS keeps |UT1−UTC| below 0.9 s by inserting leap seconds; more is a unit error.
const MAX_UT1_MINUS_UTC_S: f64 = 0.9;
/// The pole wanders within about ±0.6″; more than 1″ is a unit error (mas? radians?).
const MAX_POLAR_MOTION_ARCSEC: f64 = 1.0;
/// Below every land surface / above any balloon: a height outside is a unit error.
const MIN_HEIGHT_M: f64 = -1_000.0;
const MAX_HEIGHT_M: f64 = 50_000.0;
/// Metres per au, for SOFA's site vectors (metres, metres/second).
const AU_M: f64 = AU_KM * 1_000.0;

/// Position (au) and velocity (au/day), ICRS axes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StateVector {
    pub position_au: [f64; 3],
    pub velocity_au_per_day: [f64; 3],
}

/// Earth orientation the caller takes from IERS Bulletin A. Zero is acceptable: UT1−UTC
/// ≤ 0.9 s moves a site by ≤ 0.4 km, i.e. ≤ 2″ at 0.0003 au and nothing measurable
/// beyond 0.05 au; polar motion ≤ 0.6″ moves it by ≤ 20 m.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EarthOrientation {
    pub ut1_minus_utc_s: f64,
    pub polar_x_arcsec: f64,
    pub polar_y_arcsec: f64,
}

/// Who is looking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observer {
    /// The Earth's centre: what geocentric ephemerides (and NEOCP's default) give.
    Geocentre,
    /// A telescope at a WGS84 site; topocentric parallax of a close NEO is degrees.
    Site { site: Site, orientation: EarthOrientation },
}

/// An observer's state at one instant, plus the time scales the target needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObserverState {
    /// Relative to the solar-system barycentre.
    pub barycentric: StateVector,
    /// Relative to the Sun's centre.
    pub heliocentric: StateVector,
    /// Relative to the Earth's centre (zero for the geocentre).
    pub geocentric: StateVector,
    /// The instant as two-part Julian dates in TT (orbits) and TDB (ephemerides).
    pub jd_tt: (f64, f64),
    pub jd_tdb: (f64, f64),
}

impl Observer {
    /// A site with no Earth-orientation corrections.
    pub fn site(site: Site) -> Observer {
        Observer::Site { site, orientation: EarthOrientation::default() }
    }

    fn validate(&self) -> Result<(), OrbitError> {
        let Observer::Site { site, orientation: eo } = self else { return Ok(()) };
        let check = |what, value: f64, ok: bool, fix| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(OrbitError::BadInput { what, value, fix })
            }
        };
        check(
            "site latitude (°)",
            site.latitude_deg,
            site.latitude_deg.abs() <= 90.0,
            "give geodetic latitude in degrees, -90..90",
        )?;
        check(
            "site longitude (°)",
            site.longitude_deg,
            site.longitude_deg.abs() <= 360.0,
            "give longitude in degrees, east positive",
        )?;
        check(
            "site height (m)",
            site.height_m,
            (MIN_HEIGHT_M..=MAX_HEIGHT_M).contains(&site.height_m),
            "give the height above the WGS84 ellipsoid in metres",
        )?;
        check(
            "UT1-UTC (s)",
            eo.ut1_minus_utc_s,
            eo.ut1_minus_utc_s.abs() <= MAX_UT1_MINUS_UTC_S,
            "give UT1-UTC in seconds from IERS Bulletin A (always within ±0.9 s), or 0",
        )?;
        for (what, v) in
            [("polar motion x (″)", eo.polar_x_arcsec), ("polar motion y (″)", eo.polar_y_arcsec)]
        {
            check(
                what,
                v,
                v.abs() <= MAX_POLAR_MOTION_ARCSEC,
                "give polar motion in arcseconds from IERS Bulletin A (within ±1″), or 0",
            )?;
        }
        Ok(())
    }

    /// The observer's barycentric, heliocentric and geocentric state at UTC instant
    /// `t`. A site's geocentric vector follows SOFA's `apco13`: WGS84 site, polar
    /// motion and the TIO locator, Earth rotation angle from UT1, then the IAU
    /// 2006/2000A celestial-to-intermediate matrix (what skyfield's IAU 2000A
    /// precession-nutation amounts to, within microarcseconds).
    pub fn state(&self, eph: &SolarSystemEphemeris, t: Epoch) -> Result<ObserverState, OrbitError> {
        self.validate()?;
        let (tt1, tt2) = time::jd_tt(t);
        // TDB−TT at the geocentre; the site-dependent terms are ≤ 2 µs, a few
        // centimetres of Earth motion.
        let tdb_minus_tt_s = sofars::ts::dtdb(tt1, tt2, 0.0, 0.0, 0.0, 0.0);
        let jd_tdb = (tt1, tt2 + tdb_minus_tt_s / DAY_S);
        let (earth, sun) = eph.earth_and_sun(jd_tdb.0, jd_tdb.1, &time::format_utc(t, 3))?;

        let geocentric = match self {
            Observer::Geocentre => StateVector::default(),
            Observer::Site { site, orientation } => {
                let (ut1a, ut1b) = time::jd_ut1(t, orientation.ut1_minus_utc_s);
                let arcsec = |v: f64| (v / 3600.0).to_radians();
                let rc2i = sofars::pnp::c2i06a(tt1, tt2);
                let era = sofars::erst::era00(ut1a, ut1b);
                let sp = sofars::pnp::sp00(tt1, tt2);
                let mut cirs = [[0.0; 3]; 2];
                sofars::astro::pvtob(
                    site.longitude_deg.to_radians(),
                    site.latitude_deg.to_radians(),
                    site.height_m,
                    arcsec(orientation.polar_x_arcsec),
                    arcsec(orientation.polar_y_arcsec),
                    sp,
                    era,
                    &mut cirs,
                );
                let mut gcrs = [[0.0; 3]; 2];
                sofars::vm::trxpv(&rc2i, &cirs, &mut gcrs);
                StateVector {
                    position_au: gcrs[0].map(|m| m / AU_M),
                    velocity_au_per_day: gcrs[1].map(|v| v * DAY_S / AU_M),
                }
            }
        };
        let barycentric = StateVector {
            position_au: add(earth.position_au, geocentric.position_au),
            velocity_au_per_day: add(earth.velocity_au_per_day, geocentric.velocity_au_per_day),
        };
        let heliocentric = StateVector {
            position_au: sub(barycentric.position_au, sun.position_au),
            velocity_au_per_day: sub(barycentric.velocity_au_per_day, sun.velocity_au_per_day),
        };
        Ok(ObserverState { barycentric, heliocentric, geocentric, jd_tt: (tt1, tt2), jd_tdb })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orbit::vector::norm;

    fn la_palma() -> Site {
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
    }

    #[test]
    fn a_site_is_one_earth_radius_from_the_geocentre_and_turns_with_the_earth() {
        let eph = SolarSystemEphemeris::Epv00;
        let t = time::parse_utc("2026-11-24T22:00:00").unwrap();
        let s = Observer::site(la_palma()).state(&eph, t).unwrap();
        let g = Observer::Geocentre.state(&eph, t).unwrap();
        let r_km = norm(s.geocentric.position_au) * AU_KM;
        // WGS84 radius at 28.76° plus 2.4 km.
        assert!((r_km - 6375.7).abs() < 1.0, "{r_km}");
        let v_kms = norm(s.geocentric.velocity_au_per_day) * AU_KM / DAY_S;
        let expected = 7.292_115e-5 * r_km * 28.7606f64.to_radians().cos(); // ω·r·cos φ roughly
        assert!((v_kms - expected).abs() < 0.01, "{v_kms} vs {expected}");
        for i in 0..3 {
            let d = s.barycentric.position_au[i] - g.barycentric.position_au[i];
            assert!((d - s.geocentric.position_au[i]).abs() < 1e-15);
        }
        // Heliocentric Earth distance in late November ≈ 0.987 au.
        assert!((norm(g.heliocentric.position_au) - 0.9874).abs() < 0.001);
    }

    #[test]
    fn the_site_matches_sofa_apco13() {
        // apco13 puts the observer's barycentric position in astrom.eb using epv00,
        // exactly what this module computes with the built-in ephemeris.
        let t = time::parse_utc("2029-04-13T21:46:00").unwrap();
        let (u1, u2) = time::jd_utc(t);
        let site = la_palma();
        let eo =
            EarthOrientation { ut1_minus_utc_s: 0.11, polar_x_arcsec: 0.2, polar_y_arcsec: 0.3 };
        let mut astrom = sofars::astro::IauAstrom::default();
        let mut eo_out = 0.0;
        sofars::astro::apco13(
            u1,
            u2,
            eo.ut1_minus_utc_s,
            site.longitude_deg.to_radians(),
            site.latitude_deg.to_radians(),
            site.height_m,
            (0.2f64 / 3600.0).to_radians(),
            (0.3f64 / 3600.0).to_radians(),
            0.0,
            0.0,
            0.0,
            0.0,
            &mut astrom,
            &mut eo_out,
        )
        .unwrap();
        let ours = Observer::Site { site, orientation: eo }
            .state(&SolarSystemEphemeris::Epv00, t)
            .unwrap();
        for i in 0..3 {
            // apco13 evaluates epv00 at TT rather than TDB: ≤ 2 ms of Earth motion (60 m).
            let d_km = (ours.barycentric.position_au[i] - astrom.eb[i]) * AU_KM;
            assert!(d_km.abs() < 0.1, "axis {i}: {d_km} km");
        }
    }

    #[test]
    fn bad_sites_and_earth_orientation_are_refused() {
        let eph = SolarSystemEphemeris::Epv00;
        let t = time::parse_utc("2026-11-24T22:00:00").unwrap();
        let mut site = la_palma();
        site.latitude_deg = f64::NAN;
        let err = Observer::site(site).state(&eph, t).unwrap_err().to_string();
        assert!(err.contains("site latitude (°) is NaN"), "{err}");
        let eo = EarthOrientation { ut1_minus_utc_s: 37.0, ..Default::default() };
        let err = Observer::Site { site: la_palma(), orientation: eo }.state(&eph, t).unwrap_err();
        assert!(err.to_string().contains("UT1-UTC (s) is 37"), "{err}");
        let mut high = la_palma();
        high.height_m = 2_396_000.0;
        assert!(Observer::site(high).state(&eph, t).is_err());
    }

    #[test]
    fn dates_outside_epv00_are_refused() {
        let t = time::parse_utc("2101-03-01T00:00:00").unwrap();
        let err = Observer::Geocentre.state(&SolarSystemEphemeris::Epv00, t).unwrap_err();
        assert!(
            err.to_string()
                .contains("outside the built-in Earth ephemeris (SOFA epv00) (1900 to 2100)"),
            "{err}"
        );
        assert!(err.to_string().contains("load a JPL SPK file"), "{err}");
    }
}
