//! Where the Earth and the Sun are: the built-in SOFA series or a JPL DE file.

use std::path::Path;

use super::observer::StateVector;
use super::vector::sub;
use super::{OrbitError, Spk};

/// SOFA documents `epv00` for 1900-2100 (errors double by 1800 and 2200); outside
/// that span it still returns numbers, which is why this module refuses instead.
const EPV00_FIRST_JD: f64 = 2_415_020.5; // 1900-01-01
const EPV00_LAST_JD: f64 = 2_488_434.5; // 2101-01-01

/// The planetary ephemeris that places the Earth and the Sun.
#[derive(Debug, Clone)]
pub enum SolarSystemEphemeris {
    /// SOFA `epv00` (simplified VSOP2000), built in, 1900-2100. Within ~7 km of DE421
    /// for 2024-2030: ≤ 1″ for targets beyond ~0.01 au, tens of arcseconds at a close
    /// approach of 0.0003 au.
    Epv00,
    /// A JPL DE file: matches skyfield + DE421 to milliarcseconds at any distance.
    Spk(Box<Spk>),
    /// The DE421 excerpt built into teld (`data/de421_earth_sun_2024_2035.bsp`), and
    /// `epv00` outside its span: the default.
    Bundled(&'static Spk),
}

const BUNDLED_SPK: &[u8] = include_bytes!("../../data/de421_earth_sun_2024_2035.bsp");

impl SolarSystemEphemeris {
    /// DE421 for 2024–2034, SOFA's epv00 elsewhere.
    pub fn bundled() -> Self {
        static SPK: std::sync::OnceLock<Spk> = std::sync::OnceLock::new();
        SolarSystemEphemeris::Bundled(SPK.get_or_init(|| {
            Spk::from_bytes("bundled DE421 excerpt", BUNDLED_SPK).expect("bundled SPK parses")
        }))
    }

    /// Which ephemeris places the Earth at TDB Julian date `jd`, for reports.
    pub fn source_at(&self, jd: f64) -> String {
        match self {
            SolarSystemEphemeris::Epv00 => "SOFA epv00 (Earth within ~7 km)".into(),
            SolarSystemEphemeris::Spk(s) => format!("JPL SPK {}", s.path()),
            SolarSystemEphemeris::Bundled(s) => {
                let (a, b) = s.coverage_jd_tdb();
                if (a..=b).contains(&jd) {
                    "DE421 (bundled excerpt 2024-2034)".into()
                } else {
                    "SOFA epv00 (outside the bundled DE421 excerpt; Earth within ~7 km)".into()
                }
            }
        }
    }

    /// Loads the Sun and Earth segments of a JPL SPK file such as `de440s.bsp`.
    pub fn from_spk_file(path: impl AsRef<Path>) -> Result<Self, OrbitError> {
        Ok(SolarSystemEphemeris::Spk(Box::new(Spk::open(path)?)))
    }

    /// Barycentric (ICRS axes) states of the Earth's centre and the Sun at a TDB
    /// Julian date in two parts; `utc` is only for the error message.
    pub(crate) fn earth_and_sun(
        &self,
        jd1: f64,
        jd2: f64,
        utc: &str,
    ) -> Result<(StateVector, StateVector), OrbitError> {
        let jd = jd1 + jd2;
        let sv =
            |(p, v): ([f64; 3], [f64; 3])| StateVector { position_au: p, velocity_au_per_day: v };
        match self {
            SolarSystemEphemeris::Epv00 => {
                let pv = (EPV00_FIRST_JD..EPV00_LAST_JD)
                    .contains(&jd)
                    .then(|| sofars::eph::epv00(jd1, jd2))
                    .flatten();
                let Some((helio, bary)) = pv else {
                    return Err(OrbitError::OutsideEphemeris {
                        time: utc.to_string(),
                        ephemeris: "the built-in Earth ephemeris (SOFA epv00)".into(),
                        from: "1900".into(),
                        to: "2100".into(),
                        fix: "load a JPL SPK file (e.g. de440.bsp) that covers this date",
                    });
                };
                // epv00 gives the Earth relative to the Sun and to the barycentre; the
                // Sun's barycentric state is their difference.
                let sun = (sub(bary[0], helio[0]), sub(bary[1], helio[1]));
                Ok((sv((bary[0], bary[1])), sv(sun)))
            }
            SolarSystemEphemeris::Spk(spk) => {
                spk.earth_and_sun(jd1, jd2).map(|(e, s)| (sv(e), sv(s))).ok_or_else(|| {
                    let (a, b) = spk.coverage_jd_tdb();
                    OrbitError::OutsideEphemeris {
                        time: utc.to_string(),
                        ephemeris: format!("the SPK file {}", spk.path()),
                        from: format!("JD {a:.1} TDB"),
                        to: format!("JD {b:.1} TDB"),
                        fix: "load an SPK file that covers this date (de440.bsp covers 1550-2650)",
                    }
                })
            }
            SolarSystemEphemeris::Bundled(spk) => match spk.earth_and_sun(jd1, jd2) {
                Some((e, s)) => Ok((sv(e), sv(s))),
                None => SolarSystemEphemeris::Epv00.earth_and_sun(jd1, jd2, utc),
            },
        }
    }
}
