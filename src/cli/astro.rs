//! `teld astro observe|time|night`: observability checks from the command line.

use std::io::{BufRead, Write};

use hifitime::Epoch;
use serde::Deserialize;
use serde_json::{Value, json};
use teld_astro::iers::{self, Eop, EopKind};
use teld_astro::{Astrometry, Icrs, Site, Weather, events, time};

/// One case of `teld astro observe`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObserveCase {
    lat_deg: f64,
    lon_deg: f64,
    height_m: f64,
    utc: String,
    ra_deg: f64,
    dec_deg: f64,
    /// Refraction is computed when this is given and positive.
    pressure_hpa: Option<f64>,
    temperature_c: Option<f64>,
    humidity: Option<f64>,
    wavelength_um: Option<f64>,
    /// Earth orientation; from the IERS table when absent.
    ut1_utc_s: Option<f64>,
    xp_arcsec: Option<f64>,
    yp_arcsec: Option<f64>,
}

/// Conditions assumed for refraction when only the pressure is given: a mild night
/// and visible light, within a few percent of refraction at most sites.
const DEFAULT_TEMPERATURE_C: f64 = 10.0;
const DEFAULT_HUMIDITY: f64 = 0.5;
const DEFAULT_WAVELENGTH_UM: f64 = 0.55;

/// Reads cases from `input`, writes one JSON line per case; a bad line gets an
/// `{"error": …}` line and the rest carry on. Returns the number of errors.
pub fn observe(input: impl BufRead, mut out: impl Write) -> std::io::Result<usize> {
    let mut errors = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match observe_line(&line) {
            Ok(v) => v,
            Err(message) => {
                errors += 1;
                json!({ "line": n + 1, "error": message })
            }
        };
        writeln!(out, "{answer}")?;
    }
    Ok(errors)
}

fn observe_line(line: &str) -> Result<Value, String> {
    let case: ObserveCase = serde_json::from_str(line).map_err(|e| format!("bad case: {e}"))?;
    for (name, v) in [("ra_deg", case.ra_deg), ("dec_deg", case.dec_deg)] {
        if !v.is_finite() {
            return Err(format!("{name} must be a finite number"));
        }
    }
    if !(-90.0..=90.0).contains(&case.dec_deg) {
        return Err(format!("dec_deg {} is outside [-90, 90]", case.dec_deg));
    }
    let site =
        Site { latitude_deg: case.lat_deg, longitude_deg: case.lon_deg, height_m: case.height_m };
    let at = time::parse_utc(&case.utc).map_err(|e| e.to_string())?;
    let (eop, mut warnings) = earth_orientation(at, case.ut1_utc_s, case.xp_arcsec, case.yp_arcsec);
    let weather = case.pressure_hpa.filter(|p| *p > 0.0).map(|p| Weather {
        pressure_hpa: p,
        temperature_c: case.temperature_c.unwrap_or(DEFAULT_TEMPERATURE_C),
        humidity: case.humidity.unwrap_or(DEFAULT_HUMIDITY),
        wavelength_um: case.wavelength_um.unwrap_or(DEFAULT_WAVELENGTH_UM),
    });
    let a = Astrometry::new(&site, at, eop, weather).map_err(|e| e.to_string())?;
    let icrs = Icrs { ra_deg: case.ra_deg.rem_euclid(360.0), dec_deg: case.dec_deg };
    let o = a.observe(icrs);
    let jnow = a.true_of_date(icrs);
    if time::beyond_leap_table(at) {
        warnings.push(leap_warning());
    }
    Ok(json!({
        "utc": case.utc,
        "az_deg": o.az_deg,
        "alt_deg": o.alt_deg,
        "alt_refracted_deg": o.alt_refracted_deg,
        "airmass": teld_astro::airmass::young1994(o.alt_deg),
        "hour_angle_h": o.ha_deg / 15.0,
        "last_h": a.last_deg() / 15.0,
        "parallactic_deg": a.parallactic_deg(&o),
        "ra_jnow_deg": jnow.ra_deg,
        "dec_jnow_deg": jnow.dec_deg,
        "ut1_utc_s": eop.ut1_utc_s,
        "warnings": warnings,
    }))
}

/// Earth orientation: what the caller gave, else the IERS table, with warnings that
/// say when the numbers are predictions or missing.
fn earth_orientation(
    at: Epoch,
    ut1: Option<f64>,
    xp: Option<f64>,
    yp: Option<f64>,
) -> (Eop, Vec<String>) {
    let mut warnings = Vec::new();
    let table = iers::active().at(at);
    let eop = match ut1 {
        Some(u) => Eop::given(u, xp.unwrap_or(table.xp_arcsec), yp.unwrap_or(table.yp_arcsec)),
        None => {
            match table.kind {
                EopKind::OutOfRange => warnings.push(
                    "the date is outside the IERS table: UT1-UTC and polar motion taken as 0 (up to 0.9 s of time); give ut1_utc_s or a newer table (astro.iers_file)".to_string(),
                ),
                EopKind::Predicted => warnings.push("UT1-UTC is an IERS prediction for this date".to_string()),
                EopKind::Measured => {}
            }
            Eop {
                xp_arcsec: xp.unwrap_or(table.xp_arcsec),
                yp_arcsec: yp.unwrap_or(table.yp_arcsec),
                ..table
            }
        }
    };
    (eop, warnings)
}

fn leap_warning() -> String {
    let (y, m, d) = time::LEAP_TABLE_VALID_UNTIL;
    format!(
        "the date is after {y:04}-{m:02}-{d:02}, the end of the known leap-second table: a leap second announced later would shift UTC by 1 s"
    )
}

/// `teld astro time`: one JSON line per instant.
pub fn time_lines(
    utcs: &[String],
    ut1_utc: Option<f64>,
    mut out: impl Write,
) -> std::io::Result<usize> {
    let mut errors = 0;
    for s in utcs {
        let line = match time_line(s, ut1_utc) {
            Ok(v) => v,
            Err(e) => {
                errors += 1;
                json!({ "utc": s, "error": e })
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(errors)
}

fn time_line(s: &str, ut1_utc: Option<f64>) -> Result<Value, String> {
    let at = time::parse_utc(s).map_err(|e| e.to_string())?;
    let (eop, mut warnings) = earth_orientation(at, ut1_utc, None, None);
    // Any site: sidereal times at Greenwich do not depend on it.
    let greenwich = Site { latitude_deg: 51.4769, longitude_deg: 0.0, height_m: 0.0 };
    let a = Astrometry::new(&greenwich, at, eop, None).map_err(|e| e.to_string())?;
    let (u1, u2) = time::jd_utc(at);
    let (t1, t2) = time::jd_tt(at);
    if time::beyond_leap_table(at) {
        warnings.push(leap_warning());
    }
    Ok(json!({
        "utc": time::format_utc(at, 9),
        "tai": time::format_tai(at, 9),
        "tt": time::format_tt(at, 9),
        "tai_minus_utc_s": time::tai_minus_utc(at),
        "jd_utc": u1 + u2,
        "jd_tt": t1 + t2,
        "mjd_utc": time::mjd_utc(at),
        "ut1_utc_s": eop.ut1_utc_s,
        "gmst_deg": a.gmst_deg(),
        "gast_deg": a.gast_deg(),
        "era_deg": a.era_deg(),
        "warnings": warnings,
    }))
}

/// `teld astro night`: the night's events as one JSON object.
pub fn night(site: Site, date: &str) -> Result<Value, String> {
    let bad = || format!("`{date}` is not a date: expected YYYY-MM-DD");
    let mut parts = date.split('-');
    let y: i32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let m: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let d: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let n = events::night(&site, y, m, d).map_err(|e| e.to_string())?;
    let mut reasons = serde_json::Map::new();
    let mut ev = |name: &str, e: &events::Event| -> Value {
        match e {
            events::Event::At(t) => Value::String(time::format_utc(*t, 1)),
            events::Event::None { none } => {
                reasons.insert(name.to_string(), Value::String(none.clone()));
                Value::Null
            }
        }
    };
    let mut out = json!({
        "date": date,
        "window_start_utc": time::format_utc(n.window_start, 1),
        "window_end_utc": time::format_utc(n.window_end, 1),
        "sunset": ev("sunset", &n.sunset),
        "sunrise": ev("sunrise", &n.sunrise),
        "civil_dusk": ev("civil_dusk", &n.civil_dusk),
        "civil_dawn": ev("civil_dawn", &n.civil_dawn),
        "nautical_dusk": ev("nautical_dusk", &n.nautical_dusk),
        "nautical_dawn": ev("nautical_dawn", &n.nautical_dawn),
        "astronomical_dusk": ev("astronomical_dusk", &n.astronomical_dusk),
        "astronomical_dawn": ev("astronomical_dawn", &n.astronomical_dawn),
        "moonrise": n.moonrise.iter().map(|c| time::format_utc(c.at, 1)).collect::<Vec<_>>(),
        "moonset": n.moonset.iter().map(|c| time::format_utc(c.at, 1)).collect::<Vec<_>>(),
        "moon_illumination_midnight": n.moon_illumination_midnight,
    });
    if n.moonrise.is_empty() {
        reasons.insert("moonrise".into(), "the Moon does not rise in this window".into());
    }
    if n.moonset.is_empty() {
        reasons.insert("moonset".into(), "the Moon does not set in this window".into());
    }
    out["reasons"] = Value::Object(reasons);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str) -> Vec<Value> {
        let mut out = Vec::new();
        observe(input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn observe_answers_every_line_and_errors_do_not_stop_it() {
        let ok = r#"{"lat_deg":28.7606,"lon_deg":-17.8816,"height_m":2396,"utc":"2026-11-24T22:00:00","ra_deg":22.5,"dec_deg":20.1,"pressure_hpa":770}"#;
        let lines = run(&format!(
            "{ok}\nnot json\n{}\n{}\n{}\n{ok}\n",
            r#"{"lat_deg":95,"lon_deg":0,"height_m":0,"utc":"2026-11-24T22:00:00","ra_deg":1,"dec_deg":2}"#,
            r#"{"lat_deg":0,"lon_deg":0,"height_m":0,"utc":"soon","ra_deg":1,"dec_deg":2}"#,
            r#"{"lat_deg":0,"lon_deg":0,"height_m":0,"utc":"2026-11-24T22:00:00","ra_deg":1,"dec_deg":"NaN"}"#,
        ));
        assert_eq!(lines.len(), 6);
        assert!(lines[0]["alt_deg"].as_f64().unwrap() > 50.0);
        assert!(
            lines[0]["alt_refracted_deg"].as_f64().unwrap() > lines[0]["alt_deg"].as_f64().unwrap()
        );
        assert!(lines[1]["error"].as_str().unwrap().contains("bad case"));
        assert!(lines[2]["error"].as_str().unwrap().contains("WGS84"));
        assert!(lines[3]["error"].as_str().unwrap().contains("soon"));
        assert!(lines[4]["error"].is_string());
        assert_eq!(lines[5], lines[0]);
    }

    #[test]
    fn time_handles_leap_seconds_and_flags_the_future() {
        let mut out = Vec::new();
        let utcs = [
            "2016-12-31T23:59:60.5".to_string(),
            "2031-01-01T00:00:00".to_string(),
            "2016-12-30T23:59:60".to_string(),
        ];
        let errors = time_lines(&utcs, None, &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["tai"], "2017-01-01T00:00:36.500000000");
        assert_eq!(lines[0]["tai_minus_utc_s"], 36.0);
        let w = lines[1]["warnings"].to_string();
        assert!(w.contains("outside the IERS table") && w.contains("leap-second table"), "{w}");
        assert_eq!(errors, 1);
        assert!(lines[2]["error"].as_str().unwrap().contains("leap second"));
    }

    #[test]
    fn polar_night_has_reasons_instead_of_times() {
        let longyearbyen = Site { latitude_deg: 78.2232, longitude_deg: 15.6267, height_m: 10.0 };
        let v = night(longyearbyen, "2026-12-21").unwrap();
        assert!(v["sunset"].is_null());
        assert!(v["reasons"]["sunset"].as_str().unwrap().contains("below"));
        assert!(v["astronomical_dusk"].is_null() || v["astronomical_dusk"].is_string());
        assert!(night(longyearbyen, "21/12/2026").unwrap_err().contains("YYYY-MM-DD"));
    }
}

/// `teld astro ephem`: topocentric astrometric places (ICRS, J2000) of an object from
/// MPC one-line elements, one JSON line per instant.
pub fn ephem(mpc: &str, site: Site, utcs: &[String], mut out: impl Write) -> Result<usize, String> {
    use teld_astro::orbit::{
        EarthOrientation, KeplerOrbit, MpcElements, Observer, SolarSystemEphemeris, astrometric,
    };
    let elements = MpcElements::parse_line(mpc).map_err(|e| e.to_string())?;
    let orbit = KeplerOrbit::from_elements(&elements).map_err(|e| e.to_string())?;
    site.validate().map_err(|e| e.to_string())?;
    let eph = SolarSystemEphemeris::bundled();
    let mut errors = 0;
    for s in utcs {
        let line = (|| -> Result<Value, String> {
            let t = time::parse_utc(s).map_err(|e| e.to_string())?;
            let (eop, mut warnings) = earth_orientation(t, None, None, None);
            let orientation = EarthOrientation {
                ut1_minus_utc_s: eop.ut1_utc_s,
                polar_x_arcsec: eop.xp_arcsec,
                polar_y_arcsec: eop.yp_arcsec,
            };
            let p = astrometric(&orbit, &Observer::Site { site, orientation }, &eph, t)
                .map_err(|e| e.to_string())?;
            let (t1, t2) = time::jd_tt(t);
            if time::beyond_leap_table(t) {
                warnings.push(leap_warning());
            }
            Ok(json!({
                "utc": time::format_utc(t, 3),
                "designation": elements.packed_designation,
                "ra_deg": p.icrs.ra_deg,
                "dec_deg": p.icrs.dec_deg,
                "distance_au": p.distance_au,
                "light_time_s": p.light_time_s,
                "ra_rate_arcsec_per_min": p.rates.ra_cos_dec_arcsec_per_min,
                "dec_rate_arcsec_per_min": p.rates.dec_arcsec_per_min,
                "frame": "ICRS astrometric (J2000), topocentric, light-time corrected",
                "earth_ephemeris": eph.source_at(t1 + t2),
                "warnings": warnings,
            }))
        })();
        let line = line.unwrap_or_else(|e| {
            errors += 1;
            json!({ "utc": s, "error": e })
        });
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(errors)
}

#[cfg(test)]
mod ephem_tests {
    use super::*;

    #[test]
    fn ephem_gives_places_and_refuses_bad_elements() {
        let line = "00001    3.34  0.15 K2555 188.70269   73.27343   80.25221   10.58780  0.0794013  0.21424651   2.7660512";
        let site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
        let mut out = Vec::new();
        let errors =
            ephem(line, site, &["2026-11-24T22:00:00".into(), "never".into()], &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(errors, 1);
        assert!(lines[0]["ra_deg"].as_f64().unwrap() >= 0.0);
        assert!(lines[0]["earth_ephemeris"].as_str().unwrap().contains("DE421"));
        assert!(lines[1]["error"].as_str().unwrap().contains("never"));
        let e = ephem("garbage", site, &[], Vec::new()).unwrap_err();
        assert!(!e.is_empty());
    }
}
