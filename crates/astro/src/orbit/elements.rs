//! MPC one-line orbital elements: the fixed-column format of MPCORB.DAT and the NEO
//! Confirmation Page (the MPC's "Export Format for Minor-Planet Orbits").
//!
//! Columns used (1-based, inclusive), everything after column 103 optional:
//!
//! | columns | field |
//! | --- | --- |
//! | 1-7 | packed designation or number |
//! | 9-13, 15-19 | H, G (may be blank) |
//! | 21-25 | epoch, packed, 0h TT |
//! | 27-35 | mean anomaly M (°) |
//! | 38-46, 49-57, 60-68 | argument of perihelion ω, node Ω, inclination i (°, ecliptic J2000) |
//! | 71-79 | eccentricity e |
//! | 81-91 | mean daily motion n (°/day) |
//! | 93-103 | semimajor axis a (au) |
//! | 167-194 | readable designation |

use std::fmt;

use super::OrbitError;

/// The Gaussian gravitational constant k (au^1.5/day): MPCORB's n and a are tied by
/// n = k / a^1.5, which lets a line be checked for a shifted or corrupted column.
const GAUSSIAN_K: f64 = 0.017_202_098_95;

/// The shortest usable line: through the semimajor axis, column 103.
const MIN_LINE_LEN: usize = 103;

/// How far n may differ from k/a^1.5: a is rounded to 1e-7 au and n to 1e-8 °/day,
/// which together explain a few parts in 1e7; anything much larger is a bad line.
const MEAN_MOTION_REL_TOLERANCE: f64 = 1e-5;
const MEAN_MOTION_ABS_TOLERANCE: f64 = 5e-8;

/// A minor planet's identity as packed in columns 1-7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Designation {
    /// A numbered minor planet: `00433`, `A0345` (100345), `~0000` (620000).
    Numbered(u32),
    /// A provisional designation, unpacked: `K24Y04R` → `2024 YR4`.
    Provisional(String),
    /// A Palomar–Leiden or Trojan survey designation: `PLS2040` → `2040 P-L`.
    Survey(String),
    /// Anything else, as written: a NEOCP temporary designation such as `ZTF0Ab1`.
    Temporary(String),
}

impl fmt::Display for Designation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Designation::Numbered(n) => write!(f, "({n})"),
            Designation::Provisional(s) | Designation::Survey(s) | Designation::Temporary(s) => {
                f.write_str(s)
            }
        }
    }
}

/// One line of MPC orbital elements: heliocentric, ecliptic and equinox J2000, at an
/// epoch in TT.
#[derive(Debug, Clone, PartialEq)]
pub struct MpcElements {
    pub designation: Designation,
    /// Columns 1-7 as written, for matching against other MPC files.
    pub packed_designation: String,
    /// Columns 167-194 when present, e.g. `(1) Ceres` or `2024 YR4`.
    pub name: Option<String>,
    /// Absolute magnitude, for brightness predictions; blank on some lines.
    pub h_mag: Option<f64>,
    pub g_slope: Option<f64>,
    /// Calendar date of the epoch (0h TT), from the packed epoch.
    pub epoch_date: (i32, u32, u32),
    /// Julian date (TT) of the epoch.
    pub epoch_jd_tt: f64,
    pub mean_anomaly_deg: f64,
    pub arg_perihelion_deg: f64,
    pub node_deg: f64,
    pub inclination_deg: f64,
    pub eccentricity: f64,
    /// Column 81-91; kept for reference. Propagation uses a and the solar GM, as
    /// skyfield does (see `KeplerOrbit`).
    pub mean_motion_deg_per_day: f64,
    pub semimajor_axis_au: f64,
}

impl MpcElements {
    /// Parses one MPCORB.DAT / NEOCP line. Elliptic orbits only (e < 1): the one-line
    /// format has no parabolic or hyperbolic form (its a and n are undefined there).
    pub fn parse_line(line: &str) -> Result<MpcElements, OrbitError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(pos) = line.chars().position(|c| !c.is_ascii()) {
            return Err(OrbitError::NotAscii { column: pos + 1 });
        }
        let len = line.trim_end().len();
        if len < MIN_LINE_LEN {
            return Err(OrbitError::LineTooShort { len });
        }
        let col = |from: usize, to: usize| line.get(from - 1..to.min(line.len())).unwrap_or("");

        let packed = col(1, 7).trim().to_string();
        if packed.is_empty() {
            return Err(bad(
                "designation",
                "1-7",
                "",
                "is blank: every orbit line starts with one",
            ));
        }
        if col(8, 8) != " " {
            return Err(bad(
                "designation",
                "1-7",
                col(1, 8),
                "runs into column 8: a packed designation is at most 7 characters; is the line shifted?",
            ));
        }
        let designation = unpack_designation(&packed);

        let h_mag = optional_number("H", "9-13", col(9, 13))?;
        let g_slope = optional_number("G", "15-19", col(15, 19))?;
        let epoch_date = unpack_epoch(col(21, 25))?;
        let (jd0, mjd) =
            sofars::cal::cal2jd(epoch_date.0, epoch_date.1 as i32, epoch_date.2 as i32)
                .map_err(|_| bad("epoch", "21-25", col(21, 25), "is not a calendar date"))?;

        let angle = |field, columns, text: &str, max: f64| -> Result<f64, OrbitError> {
            let v = number(field, columns, text)?;
            if !(0.0..=max).contains(&v) {
                return Err(bad(field, columns, text, &format!("must be within 0..{max} degrees")));
            }
            Ok(v)
        };
        let mean_anomaly_deg = angle("mean anomaly", "27-35", col(27, 35), 360.0)?;
        let arg_perihelion_deg = angle("argument of perihelion", "38-46", col(38, 46), 360.0)?;
        let node_deg = angle("longitude of the node", "49-57", col(49, 57), 360.0)?;
        let inclination_deg = angle("inclination", "60-68", col(60, 68), 180.0)?;

        let eccentricity = number("eccentricity", "71-79", col(71, 79))?;
        if eccentricity < 0.0 {
            return Err(bad("eccentricity", "71-79", col(71, 79), "must not be negative"));
        }
        if eccentricity >= 1.0 {
            let shape = if eccentricity == 1.0 { "parabolic" } else { "hyperbolic" };
            return Err(OrbitError::NotElliptic { eccentricity, shape });
        }

        let mean_motion_deg_per_day = number("mean daily motion", "81-91", col(81, 91))?;
        let semimajor_axis_au = number("semimajor axis", "93-103", col(93, 103))?;
        if semimajor_axis_au <= 0.0 {
            return Err(bad("semimajor axis", "93-103", col(93, 103), "must be positive"));
        }
        let expected_n = (GAUSSIAN_K / semimajor_axis_au.powf(1.5)).to_degrees();
        let tolerance = (MEAN_MOTION_REL_TOLERANCE * expected_n).max(MEAN_MOTION_ABS_TOLERANCE);
        if (mean_motion_deg_per_day - expected_n).abs() > tolerance {
            return Err(bad(
                "mean daily motion",
                "81-91",
                col(81, 91),
                &format!(
                    "disagrees with the semimajor axis {semimajor_axis_au} au (columns 93-103), which implies {expected_n:.8} °/day: the line is corrupted or its columns are shifted"
                ),
            ));
        }

        let name = Some(col(167, 194).trim()).filter(|s| !s.is_empty()).map(str::to_string);

        Ok(MpcElements {
            designation,
            packed_designation: packed,
            name,
            h_mag,
            g_slope,
            epoch_date,
            epoch_jd_tt: jd0 + mjd,
            mean_anomaly_deg,
            arg_perihelion_deg,
            node_deg,
            inclination_deg,
            eccentricity,
            mean_motion_deg_per_day,
            semimajor_axis_au,
        })
    }
}

fn bad(field: &'static str, columns: &'static str, text: &str, problem: &str) -> OrbitError {
    OrbitError::BadField {
        field,
        columns,
        text: text.trim().to_string(),
        problem: problem.to_string(),
    }
}

/// A plain decimal number as MPC writes them. Rust's `f64::from_str` would also take
/// `NaN`, `inf` and exponents, none of which belongs in this format.
fn number(field: &'static str, columns: &'static str, text: &str) -> Result<f64, OrbitError> {
    let t = text.trim();
    let plain = !t.is_empty()
        && t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
        && t.bytes().any(|b| b.is_ascii_digit());
    match t.parse::<f64>() {
        Ok(v) if plain && v.is_finite() => Ok(v),
        _ if t.is_empty() => Err(bad(field, columns, t, "is blank")),
        _ => Err(bad(field, columns, t, "is not a decimal number")),
    }
}

fn optional_number(
    field: &'static str,
    columns: &'static str,
    text: &str,
) -> Result<Option<f64>, OrbitError> {
    if text.trim().is_empty() { Ok(None) } else { number(field, columns, text).map(Some) }
}

/// The MPC's base-62 digit: 0-9, A-Z (10-35), a-z (36-61).
fn base62(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 36),
        _ => None,
    }
}

/// Unpacks a designation; a form this does not recognise is kept as a temporary
/// (NEOCP) designation rather than refused, since the orbit is still usable.
fn unpack_designation(packed: &str) -> Designation {
    let b = packed.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let number = |s: &[u8]| s.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    match b.len() {
        // Numbered: 5 digits below 100 000, a letter for the ten-thousands up to
        // 619 999, and `~` with four base-62 digits from 620 000.
        5 if digits(b) => Designation::Numbered(number(b)),
        5 if b[0].is_ascii_alphabetic() && digits(&b[1..]) => {
            Designation::Numbered(base62(b[0]).unwrap_or(0) * 10_000 + number(&b[1..]))
        }
        5 if b[0] == b'~' => {
            match b[1..].iter().try_fold(0u32, |n, &c| base62(c).map(|d| n * 62 + d)) {
                Some(n) => Designation::Numbered(620_000 + n),
                None => Designation::Temporary(packed.to_string()),
            }
        }
        7 if matches!(&b[..3], b"PLS" | b"T1S" | b"T2S" | b"T3S") && digits(&b[3..]) => {
            let survey = match &b[..2] {
                b"PL" => "P-L",
                b"T1" => "T-1",
                b"T2" => "T-2",
                _ => "T-3",
            };
            Designation::Survey(format!("{} {survey}", number(&b[3..])))
        }
        // Provisional: century letter, two-digit year, half-month letter, cycle count
        // (base-62 tens digit + units digit), second letter; `I` is never used.
        7 if matches!(b[0], b'A'..=b'L')
            && digits(&b[1..3])
            && is_designation_letter(b[3])
            && base62(b[4]).is_some()
            && b[5].is_ascii_digit()
            && is_designation_letter(b[6]) =>
        {
            let year = base62(b[0]).unwrap_or(0) * 100 + number(&b[1..3]);
            let cycle = base62(b[4]).unwrap_or(0) * 10 + u32::from(b[5] - b'0');
            let letters = format!("{}{}", b[3] as char, b[6] as char);
            if cycle == 0 {
                Designation::Provisional(format!("{year} {letters}"))
            } else {
                Designation::Provisional(format!("{year} {letters}{cycle}"))
            }
        }
        _ => Designation::Temporary(packed.to_string()),
    }
}

fn is_designation_letter(c: u8) -> bool {
    c.is_ascii_uppercase() && c != b'I'
}

/// Unpacks an epoch like `K26B3` (2026-11-03): century letter (I=18, J=19, K=20), two
/// year digits, month and day as base-62 digits (1-9, then A=10 … V=31).
fn unpack_epoch(text: &str) -> Result<(i32, u32, u32), OrbitError> {
    let fail = |why: &str| bad("epoch", "21-25", text, why);
    let b = text.as_bytes();
    if b.len() != 5 {
        return Err(fail("must be 5 characters, packed like K26B3 (2026-11-03)"));
    }
    let century = match b[0] {
        b'A'..=b'L' => base62(b[0]).unwrap_or(0),
        _ => return Err(fail("must start with a century letter (I=1800s, J=1900s, K=2000s)")),
    };
    if !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return Err(fail("characters 2-3 must be the year's last two digits"));
    }
    let year = (century * 100 + u32::from(b[1] - b'0') * 10 + u32::from(b[2] - b'0')) as i32;
    let month = base62(b[3]).filter(|m| (1..=12).contains(m));
    let day = base62(b[4]).filter(|d| (1..=31).contains(d));
    let (Some(month), Some(day)) = (month, day) else {
        return Err(fail("month must be 1-9 or A-C and day 1-9 or A-V"));
    };
    if day > days_in_month(year, month) {
        return Err(fail(&format!("{year}-{month:02} has no day {day}")));
    }
    Ok((year, month, day))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A realistic MPCORB line (values made up, layout exact).
    const CERES: &str = "00001    3.34  0.15 K2555 188.70269   73.27343   80.25221   10.58780  0.0794013  0.21424651   2.7660512  0 MPO812345  7330 125 1801-2024 0.80 M-v 30k MPCLINUX   0000 (1) Ceres                   20241101";

    fn with(line: &str, from: usize, text: &str) -> String {
        let mut s = line.to_string();
        s.replace_range(from - 1..from - 1 + text.len(), text);
        s
    }

    #[test]
    fn parses_every_column() {
        let e = MpcElements::parse_line(CERES).unwrap();
        assert_eq!(e.designation, Designation::Numbered(1));
        assert_eq!(e.packed_designation, "00001");
        assert_eq!(e.name.as_deref(), Some("(1) Ceres"));
        assert_eq!((e.h_mag, e.g_slope), (Some(3.34), Some(0.15)));
        assert_eq!(e.epoch_date, (2025, 5, 5));
        assert_eq!(e.epoch_jd_tt, 2_460_800.5);
        assert_eq!(e.mean_anomaly_deg, 188.70269);
        assert_eq!(e.arg_perihelion_deg, 73.27343);
        assert_eq!(e.node_deg, 80.25221);
        assert_eq!(e.inclination_deg, 10.58780);
        assert_eq!(e.eccentricity, 0.0794013);
        assert_eq!(e.mean_motion_deg_per_day, 0.21424651);
        assert_eq!(e.semimajor_axis_au, 2.7660512);
    }

    #[test]
    fn the_optional_tail_and_magnitudes_may_be_missing() {
        let short = &CERES[..103];
        let e = MpcElements::parse_line(short).unwrap();
        assert_eq!(e.name, None);
        let blank_h = with(short, 9, "     ");
        assert_eq!(MpcElements::parse_line(&blank_h).unwrap().h_mag, None);
    }

    #[test]
    fn packed_numbers() {
        assert_eq!(unpack_designation("00433"), Designation::Numbered(433));
        assert_eq!(unpack_designation("99942"), Designation::Numbered(99_942));
        assert_eq!(unpack_designation("A0345"), Designation::Numbered(100_345));
        assert_eq!(unpack_designation("Y3158"), Designation::Numbered(343_158));
        assert_eq!(unpack_designation("a0017"), Designation::Numbered(360_017));
        assert_eq!(unpack_designation("z9999"), Designation::Numbered(619_999));
        assert_eq!(unpack_designation("~0000"), Designation::Numbered(620_000));
        // MPC's own example: 3140113 packs as ~AZaz.
        assert_eq!(unpack_designation("~AZaz"), Designation::Numbered(3_140_113));
    }

    #[test]
    fn packed_provisional_and_survey_designations() {
        let p = |s: &str| Designation::Provisional(s.to_string());
        assert_eq!(unpack_designation("K24Y04R"), p("2024 YR4"));
        assert_eq!(unpack_designation("J95X00A"), p("1995 XA"));
        assert_eq!(unpack_designation("K07Tf8A"), p("2007 TA418"));
        assert_eq!(unpack_designation("J98SA8Q"), p("1998 SQ108"));
        assert_eq!(unpack_designation("I98S01A"), p("1898 SA1"));
        assert_eq!(unpack_designation("PLS2040"), Designation::Survey("2040 P-L".into()));
        assert_eq!(unpack_designation("T3S3141"), Designation::Survey("3141 T-3".into()));
        // NEOCP temporary designations are kept as written.
        assert_eq!(unpack_designation("ZTF0Ab1"), Designation::Temporary("ZTF0Ab1".into()));
        assert_eq!(unpack_designation("P21Hxq"), Designation::Temporary("P21Hxq".into()));
        assert_eq!(Designation::Numbered(99_942).to_string(), "(99942)");
    }

    #[test]
    fn packed_epochs() {
        assert_eq!(unpack_epoch("K2555").unwrap(), (2025, 5, 5));
        assert_eq!(unpack_epoch("K26B3").unwrap(), (2026, 11, 3));
        assert_eq!(unpack_epoch("J981V").unwrap(), (1998, 1, 31));
        assert_eq!(unpack_epoch("K24C1").unwrap(), (2024, 12, 1));
        assert_eq!(unpack_epoch("K242T").unwrap(), (2024, 2, 29));
        for bad in ["K232T", "K23D1", "K2310", "K23", "X2555", "K2x55", "K24BW"] {
            assert!(unpack_epoch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_field_its_columns_and_the_fix() {
        let err = |line: &str| MpcElements::parse_line(line).unwrap_err().to_string();
        assert_eq!(
            err(&with(CERES, 71, "1.0123000")),
            "eccentricity 1.0123 (columns 71-79): hyperbolic orbits are not supported; give elements with e < 1 or an ephemeris table"
        );
        assert!(err(&with(CERES, 71, "1.0000000")).contains("parabolic"));
        assert_eq!(
            err(&with(CERES, 27, "      NaN")),
            "mean anomaly `NaN` (columns 27-35): is not a decimal number"
        );
        assert!(
            err(&with(CERES, 60, "190.00000"))
                .contains("inclination `190.00000` (columns 60-68): must be within 0..180")
        );
        assert!(err(&with(CERES, 81, "0.31424651")).contains("columns are shifted"));
        assert!(err(&with(CERES, 21, "K25D5")).contains("epoch `K25D5` (columns 21-25)"));
        assert!(err(&CERES[..90]).contains("at least 103"));
        assert!(err("Des'n     H     G   Epoch     M        Peri.      Node       Incl.       e            n           a        Reference #Obs #Opp    Arc    rms  Perts   Computer").contains("not a decimal number"));
        assert!(err(&with(CERES, 1, "       ")).contains("blank"));
        assert!(err(&with(CERES, 30, "é")).contains("non-ASCII character at column 30"));
    }
}
