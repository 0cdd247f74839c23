//! One frame as a FITS file: the primary HDU holds the image, its header everything
//! teld knows about the frame (FITS Standard 4.0; names follow what MaxIm DL and
//! N.I.N.A. write where the standard has none, so common tools find them).
//!
//! The header is built as a list of [`Card`]s by small section functions, one per
//! topic, then written in one go. A new topic (issue 6: WCS) is one more section
//! function returning cards, appended in [`frame_header`].

use fitsio::FitsFile;
use fitsio::hdu::FitsHdu;
use hifitime::{Duration, Epoch};
use teld_driver_protocol::WeatherState;
use teld_driver_protocol::time::format_utc_digits;

use super::FrameMeta;
/// Longest string value that fits on one card (FITS 4.0 §4.2.1.1), counting each
/// quote twice as FITS escapes it.
const MAX_TEXT: usize = 68;

/// A header value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Text(String),
    /// Written rounded to `decimals` places (the precision the value really has).
    Real {
        value: f64,
        decimals: i32,
    },
    Int(i64),
}

/// One header card. Comments give units in brackets, as N.I.N.A. does.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Card {
    pub key: &'static str,
    pub value: Value,
    pub comment: &'static str,
}

/// Collects cards; optional and non-finite values simply produce no card (cfitsio
/// refuses NaN, and a missing card is the FITS way to say "unknown").
#[derive(Default)]
struct Header(Vec<Card>);

impl Header {
    fn text(&mut self, key: &'static str, value: &str, comment: &'static str) {
        self.0.push(Card { key, value: Value::Text(fits_text(value)), comment });
    }

    fn real(&mut self, key: &'static str, value: f64, decimals: i32, comment: &'static str) {
        if value.is_finite() {
            self.0.push(Card { key, value: Value::Real { value, decimals }, comment });
        }
    }

    fn int(&mut self, key: &'static str, value: i64, comment: &'static str) {
        self.0.push(Card { key, value: Value::Int(value), comment });
    }

    fn opt_text(&mut self, key: &'static str, value: Option<&str>, comment: &'static str) {
        if let Some(v) = value {
            self.text(key, v, comment);
        }
    }

    fn opt_real(
        &mut self,
        key: &'static str,
        value: Option<f64>,
        decimals: i32,
        comment: &'static str,
    ) {
        if let Some(v) = value {
            self.real(key, v, decimals, comment);
        }
    }
}

/// Every header card of a frame, in the order they appear in the file.
pub(super) fn frame_header(meta: &FrameMeta) -> Vec<Card> {
    let mut h = Header::default();
    time_cards(&mut h, meta);
    observation_cards(&mut h, meta);
    instrument_cards(&mut h, meta);
    site_cards(&mut h, meta);
    pointing_cards(&mut h, meta);
    if let Some(w) = &meta.wcs {
        wcs_cards(&mut h, w);
    }
    if let Some(m) = &meta.moon {
        h.real("MOONSEP", m.separation_deg, 3, "[deg] Moon to target at start");
        h.real("MOONALT", m.alt_deg, 3, "[deg] Moon altitude at start");
        h.real("MOONILLU", m.illumination, 3, "Moon illuminated fraction at start");
    }
    if let Some(w) = meta.weather.as_ref().filter(|w| w.connected) {
        weather_cards(&mut h, w);
    }
    h.0
}

/// DESIGN §2: UTC, ISO-8601 without `Z`, milliseconds. All from teld's clock: the file
/// never depends on when it happened to be written.
fn time_cards(h: &mut Header, meta: &FrameMeta) {
    h.text("DATE-OBS", &utc(meta.date_obs), "[UTC] exposure start (teld clock)");
    h.text("DATE-END", &utc(exposure_end(meta)), "[UTC] exposure end");
    h.real("MJD-OBS", meta.date_obs.to_mjd_utc_days(), 8, "[d] MJD of DATE-OBS");
    h.real("MJD-END", exposure_end(meta).to_mjd_utc_days(), 8, "[d] MJD of DATE-END");
    h.text("TIMESYS", "UTC", "time scale of all dates");
    h.text("DATE", &utc(exposure_end(meta)), "[UTC] file written (= DATE-END)");
    h.real("EXPTIME", meta.exptime_s, 6, "[s] exposure time");
    h.real("EXPOSURE", meta.exptime_s, 6, "[s] same as EXPTIME, for older tools");
    h.opt_text(
        "DEVSTART",
        meta.device_exposure_start.as_deref(),
        "[UTC] exposure start (camera clock)",
    );
}

fn observation_cards(h: &mut Header, meta: &FrameMeta) {
    h.text("IMAGETYP", meta.image_type.fits_value(), "type of frame");
    h.text("OBJECT", &meta.object, "target name");
    h.opt_text("OBSERVER", meta.observer.as_deref(), "observer");
    h.int("REQID", meta.request_id, "teld request id");
    h.int("OBSID", meta.observation_id, "teld observation id");
    h.int("FRAMESEQ", i64::from(meta.frame_seq), "frame number within the request (1-based)");
    h.opt_text("PLANID", meta.plan_id.as_deref(), "night plan of this block (UTC start)");
    h.text("ORIGIN", "teld", "organisation or software that wrote the file");
    h.text("SWCREATE", &meta.software, "software that wrote the file");
}

fn instrument_cards(h: &mut Header, meta: &FrameMeta) {
    h.text("TELESCOP", &meta.telescop, "telescope");
    h.text("INSTRUME", &meta.instrument, "camera");
    h.opt_text("FILTER", meta.filter.as_deref(), "filter");
    h.int("XBINNING", i64::from(meta.bin_x), "binning along NAXIS1");
    h.int("YBINNING", i64::from(meta.bin_y), "binning along NAXIS2");
    h.opt_real("GAIN", meta.gain_e_per_adu, 4, "[e-/ADU] conversion gain");
    h.opt_real("CCD-TEMP", meta.ccd_temp_c, 2, "[degC] sensor temperature");
    if let Some(p) = meta.focus_position {
        h.int("FOCUSPOS", i64::from(p), "[step] focuser position");
    }
    h.opt_real("FOCUSTEM", meta.focuser_temp_c, 2, "[degC] focuser temperature");
}

/// Longitude is east-positive everywhere (as `Site`, N.I.N.A. and OBSGEO-L); MaxIm's
/// SITELONG is west-positive, so tools expecting that will see the sign flipped.
fn site_cards(h: &mut Header, meta: &FrameMeta) {
    let s = &meta.site;
    h.text("SITENAME", &meta.site_name, "observatory site");
    h.real("SITELAT", s.latitude_deg, 6, "[deg] site latitude, north positive");
    h.real("SITELONG", s.longitude_deg, 6, "[deg] site longitude, east positive");
    h.real("SITEELEV", s.height_m, 1, "[m] site height above WGS84 ellipsoid");
    h.real("OBSGEO-B", s.latitude_deg, 6, "[deg] geodetic latitude (WGS84)");
    h.real("OBSGEO-L", s.longitude_deg, 6, "[deg] geodetic longitude, east positive");
    h.real("OBSGEO-H", s.height_m, 1, "[m] height above WGS84 ellipsoid");
    if let Ok([x, y, z]) = s.geocentric_m() {
        h.real("OBSGEO-X", x, 3, "[m] site, geocentric ITRS (WGS84)");
        h.real("OBSGEO-Y", y, 3, "[m] site, geocentric ITRS (WGS84)");
        h.real("OBSGEO-Z", z, 3, "[m] site, geocentric ITRS (WGS84)");
    }
}

fn pointing_cards(h: &mut Header, meta: &FrameMeta) {
    let t = meta.target;
    h.text("RADESYS", "ICRS", "frame of RA/DEC, OBJCTRA/DEC, TELRA/DEC");
    h.real("EQUINOX", 2000.0, 1, "[yr] equinox of the coordinates");
    h.real("RA", t.ra_deg, 6, "[deg] target right ascension (ICRS)");
    h.real("DEC", t.dec_deg, 6, "[deg] target declination (ICRS)");
    h.text("OBJCTRA", &sexagesimal_ra(t.ra_deg), "[h m s] target RA (ICRS)");
    h.text("OBJCTDEC", &sexagesimal_dec(t.dec_deg), "[d m s] target Dec (ICRS)");
    if let Some(m) = meta.mount {
        h.real("TELRA", m.icrs.ra_deg, 6, "[deg] mount RA at start (ICRS)");
        h.real("TELDEC", m.icrs.dec_deg, 6, "[deg] mount Dec at start (ICRS)");
        h.real("ALT", m.alt_deg, 4, "[deg] mount altitude at start");
        h.real("AZ", m.az_deg, 4, "[deg] mount azimuth at start, N through E");
    }
    h.opt_real("AIRMASS", meta.airmass, 4, "airmass at exposure start");
}

/// A TAN projection with a CD matrix (FITS WCS Paper II); RADESYS and EQUINOX are the
/// pointing cards'.
fn wcs_cards(h: &mut Header, w: &super::Wcs) {
    h.int("WCSAXES", 2, "number of WCS axes");
    h.text("CTYPE1", "RA---TAN", "gnomonic projection");
    h.text("CTYPE2", "DEC--TAN", "gnomonic projection");
    h.text("CUNIT1", "deg", "unit of CRVAL1 and CDELT1");
    h.text("CUNIT2", "deg", "unit of CRVAL2 and CDELT2");
    h.real("CRVAL1", w.crval.ra_deg, 8, "[deg] RA at the reference pixel (mount)");
    h.real("CRVAL2", w.crval.dec_deg, 8, "[deg] Dec at the reference pixel (mount)");
    h.real("CRPIX1", w.crpix.0, 2, "reference pixel, image centre");
    h.real("CRPIX2", w.crpix.1, 2, "reference pixel, image centre");
    h.real("CD1_1", w.cd[0][0], 14, "[deg/px] plate scale, angle and parity");
    h.real("CD1_2", w.cd[0][1], 14, "[deg/px]");
    h.real("CD2_1", w.cd[1][0], 14, "[deg/px]");
    h.real("CD2_2", w.cd[1][1], 14, "[deg/px]");
}

/// ASCOM ObservingConditions values under the names N.I.N.A. uses (units ASCOM's).
fn weather_cards(h: &mut Header, w: &WeatherState) {
    h.opt_real("AMBTEMP", w.temperature, 2, "[degC] ambient temperature");
    h.opt_real("HUMIDITY", w.humidity, 1, "[%] relative humidity");
    h.opt_real("PRESSURE", w.pressure, 1, "[hPa] air pressure");
    h.opt_real("WINDSPD", w.wind_speed, 2, "[m/s] wind speed");
    h.opt_real("CLOUDCVR", w.cloud_cover, 1, "[%] cloud cover");
    h.opt_real("RAINRATE", w.rain_rate, 2, "[mm/h] rain rate");
    h.opt_real("MPSAS", w.sky_quality, 2, "[mag/arcsec^2] sky quality");
}

fn utc(epoch: Epoch) -> String {
    format_utc_digits(epoch, 3)
}

/// `date_obs + exptime`; a nonsense exposure time (NaN, negative) counts as zero so a
/// frame is never refused over its header.
pub(super) fn exposure_end(meta: &FrameMeta) -> Epoch {
    let s = meta.exptime_s;
    let s = if s.is_finite() && s > 0.0 { s } else { 0.0 };
    meta.date_obs + Duration::from_seconds(s)
}

/// FITS strings are printable ASCII: anything else becomes `?`, and long values are
/// cut to what fits on one card (no CONTINUE cards: many readers ignore them).
fn fits_text(s: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in s.chars() {
        let c = if c == ' ' || c.is_ascii_graphic() { c } else { '?' };
        width += if c == '\'' { 2 } else { 1 };
        if width > MAX_TEXT {
            break;
        }
        out.push(c);
    }
    out
}

/// `05 34 31.94`: hours, as MaxIm and N.I.N.A. write OBJCTRA.
fn sexagesimal_ra(ra_deg: f64) -> String {
    let hundredths = (ra_deg.rem_euclid(360.0) / 15.0 * 360_000.0).round() as u64 % (24 * 360_000);
    let s = hundredths / 100;
    format!("{:02} {:02} {:02}.{:02}", s / 3600, s / 60 % 60, s % 60, hundredths % 100)
}

/// `+22 00 52.2`: degrees with an explicit sign, as OBJCTDEC.
fn sexagesimal_dec(dec_deg: f64) -> String {
    let tenths = (dec_deg.abs() * 36_000.0).round() as u64;
    let sign = if dec_deg < 0.0 && tenths > 0 { '-' } else { '+' };
    let s = tenths / 10;
    format!("{sign}{:02} {:02} {:02}.{}", s / 3600, s / 60 % 60, s % 60, tenths % 10)
}

/// Writes `cards` into `hdu` through cfitsio (the Rice path, see `rice.rs`).
pub(super) fn write_cards(
    f: &mut FitsFile,
    hdu: &FitsHdu,
    cards: &[Card],
) -> fitsio::errors::Result<()> {
    for c in cards {
        match &c.value {
            Value::Text(s) => hdu.write_key(f, c.key, (s.as_str(), c.comment))?,
            Value::Real { value, decimals } => {
                let scale = 10f64.powi(*decimals);
                // cfitsio prints 15 significant digits; rounding first keeps the
                // card to the digits that mean something.
                hdu.write_key(f, c.key, ((value * scale).round() / scale, c.comment))?
            }
            Value::Int(i) => hdu.write_key(f, c.key, (*i, c.comment))?,
        }
    }
    Ok(())
}

pub(super) fn fits_message(e: &fitsio::errors::Error) -> String {
    match e {
        fitsio::errors::Error::Fits(e) => format!("{} (cfitsio status {})", e.message, e.status),
        other => other.to_string(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ingest::{ImageType, MountPointing};
    use teld_astro::{Icrs, Site};

    /// A fully populated frame at La Palma, for the ingest unit tests.
    pub(in crate::ingest) fn sample_meta() -> FrameMeta {
        FrameMeta {
            date_obs: teld_driver_protocol::time::parse_utc("2026-11-24T22:01:07.123").unwrap(),
            exptime_s: 30.0,
            image_type: ImageType::Light,
            object: "M 42".into(),
            observer: Some("O'Brien".into()),
            request_id: 42,
            observation_id: 7,
            frame_seq: 3,
            plan_id: Some("2026-11-24T19:12:41.000000".into()),
            telescope: "t1".into(),
            telescop: "Sim 0.4m".into(),
            instrument: "SimCam".into(),
            filter: Some("R".into()),
            bin_x: 2,
            bin_y: 2,
            gain_e_per_adu: Some(1.25),
            ccd_temp_c: Some(-10.0),
            focus_position: Some(25_040),
            focuser_temp_c: Some(7.5),
            site_name: "La Palma".into(),
            site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
            target: Icrs { ra_deg: 83.8221, dec_deg: -5.3911 },
            mount: Some(MountPointing {
                icrs: Icrs { ra_deg: 83.8200, dec_deg: -5.3900 },
                alt_deg: 45.5,
                az_deg: 170.25,
            }),
            airmass: Some(1.4),
            weather: Some(WeatherState {
                connected: true,
                is_safe: true,
                cloud_cover: None,
                humidity: Some(40.0),
                rain_rate: None,
                wind_speed: Some(3.5),
                temperature: Some(8.25),
                pressure: Some(772.0),
                sky_quality: Some(21.3),
            }),
            device_exposure_start: Some("2026-11-24T22:01:07.100".into()),
            software: "teld 0.1.0".into(),
            wcs: Some(super::super::Wcs::new(
                super::super::Detector { scale_deg: 1.25 / 3600.0, angle_deg: 0.0, flipped: false },
                Icrs { ra_deg: 83.82, dec_deg: -5.39 },
                (2048, 2048),
                (2, 2),
            )),
            moon: Some(super::super::MoonAtFrame {
                separation_deg: 61.25,
                alt_deg: 12.5,
                illumination: 0.42,
            }),
        }
    }

    fn find<'a>(cards: &'a [Card], key: &str) -> Option<&'a Value> {
        cards.iter().find(|c| c.key == key).map(|c| &c.value)
    }

    #[test]
    fn header_cards_are_valid_fits_keywords_with_comments() {
        let cards = frame_header(&sample_meta());
        let mut seen = std::collections::HashSet::new();
        for c in &cards {
            assert!(c.key.len() <= 8, "{} longer than 8", c.key);
            assert!(
                c.key.chars().all(|ch| ch.is_ascii_uppercase()
                    || ch.is_ascii_digit()
                    || ch == '-'
                    || ch == '_'),
                "{} has characters FITS forbids",
                c.key
            );
            assert!(!c.comment.is_empty(), "{} has no comment", c.key);
            assert!(seen.insert(c.key), "{} twice", c.key);
        }
    }

    #[test]
    fn header_values_follow_the_time_and_unit_conventions() {
        let cards = frame_header(&sample_meta());
        let text = |k| match find(&cards, k) {
            Some(Value::Text(s)) => s.clone(),
            other => panic!("{k}: {other:?}"),
        };
        assert_eq!(text("DATE-OBS"), "2026-11-24T22:01:07.123");
        assert_eq!(text("DATE-END"), "2026-11-24T22:01:37.123");
        assert_eq!(text("DATE"), "2026-11-24T22:01:37.123");
        assert_eq!(text("TIMESYS"), "UTC");
        assert_eq!(text("OBJCTRA"), "05 35 17.30");
        assert_eq!(text("OBJCTDEC"), "-05 23 28.0");
        assert_eq!(text("OBSERVER"), "O'Brien");
        match find(&cards, "MJD-OBS") {
            // 2026-11-24 is MJD 61368; 22:01:07.123 is 0.917443... of a day.
            Some(Value::Real { value, .. }) => {
                assert!((value - 61368.917443553).abs() < 1e-8, "{value}")
            }
            other => panic!("MJD-OBS: {other:?}"),
        }
        assert_eq!(find(&cards, "REQID"), Some(&Value::Int(42)));
        assert_eq!(find(&cards, "FOCUSPOS"), Some(&Value::Int(25_040)));
        assert_eq!(text("CTYPE1"), "RA---TAN");
        assert_eq!(text("CTYPE2"), "DEC--TAN");
        // 2×2 binning of 1.25″ pixels: 2.5″ a pixel, east to the left.
        match find(&cards, "CD1_1") {
            Some(Value::Real { value, .. }) => assert!((value + 2.5 / 3600.0).abs() < 1e-15),
            other => panic!("CD1_1: {other:?}"),
        }
        assert_eq!(find(&cards, "CRPIX1"), Some(&Value::Real { value: 1024.5, decimals: 2 }));
        assert_eq!(find(&cards, "MOONSEP"), Some(&Value::Real { value: 61.25, decimals: 3 }));
        assert_eq!(find(&cards, "SITELONG"), Some(&Value::Real { value: -17.8816, decimals: 6 }));
        assert!(find(&cards, "WINDSPD").is_some() && find(&cards, "CLOUDCVR").is_none());
    }

    #[test]
    fn unknown_values_leave_no_card() {
        let mut meta = sample_meta();
        meta.observer = None;
        meta.filter = None;
        meta.gain_e_per_adu = Some(f64::NAN);
        meta.ccd_temp_c = None;
        meta.focus_position = None;
        meta.focuser_temp_c = None;
        meta.wcs = None;
        meta.moon = None;
        meta.mount = None;
        meta.airmass = None;
        meta.device_exposure_start = None;
        meta.weather.as_mut().unwrap().connected = false;
        let cards = frame_header(&meta);
        for k in [
            "OBSERVER", "FILTER", "GAIN", "CCD-TEMP", "TELRA", "ALT", "AIRMASS", "DEVSTART",
            "AMBTEMP", "FOCUSPOS", "FOCUSTEM", "CTYPE1", "CD1_1", "MOONSEP",
        ] {
            assert!(find(&cards, k).is_none(), "{k} written for an unknown value");
        }
        for k in ["DATE-OBS", "EXPTIME", "OBJECT", "RA", "DEC", "REQID", "SITELAT"] {
            assert!(find(&cards, k).is_some(), "{k} missing");
        }
    }

    #[test]
    fn sexagesimal_rounds_and_carries() {
        assert_eq!(sexagesimal_ra(83.633083), "05 34 31.94");
        assert_eq!(sexagesimal_ra(359.99999999), "00 00 00.00");
        assert_eq!(sexagesimal_ra(-15.0), "23 00 00.00");
        assert_eq!(sexagesimal_dec(22.014500), "+22 00 52.2");
        assert_eq!(sexagesimal_dec(-5.391111), "-05 23 28.0");
        assert_eq!(sexagesimal_dec(-0.00000001), "+00 00 00.0");
        assert_eq!(sexagesimal_dec(-89.999999), "-90 00 00.0");
    }

    #[test]
    fn text_is_printable_ascii_and_fits_one_card() {
        assert_eq!(fits_text("M 42 – Orion"), "M 42 ? Orion");
        assert_eq!(fits_text("a\nb\0c"), "a?b?c");
        assert_eq!(fits_text(&"x".repeat(100)).len(), MAX_TEXT);
        // Quotes count twice: 34 quotes fill a card.
        assert_eq!(fits_text(&"'".repeat(40)).len(), 34);
    }
}
