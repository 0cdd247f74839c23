//! UTC with leap seconds, on hifitime's exact TAI timeline.
//!
//! [`Epoch`] is used only as a TAI instant (integer nanoseconds). The UTC calendar
//! is computed here from SOFA's leap-second table (`sofars::ts::dat`) because
//! hifitime's own UTC calendar conversions disagree with each other at leap
//! seconds (around 2016-12-31T23:59:60 a difference comes out 1 s instead of 2, and
//! `23:59:60.5` reads back as `23:59:59.5`); see the tests.

use hifitime::{Duration, Epoch};

const NS: i128 = 1_000_000_000;
const DAY_NS: i128 = 86_400 * NS;
/// The leap-second table is known good until this date (IERS Bulletin C 72, July
/// 2026: "file expires on 28 June 2027"). Later instants assume no new leap second
/// and say so.
pub const LEAP_TABLE_VALID_UNTIL: (i32, u32, u32) = (2027, 6, 28);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimeError {
    #[error("{0} is not a valid UTC date and time")]
    Invalid(String),
    #[error(
        "{0}: second 60 exists only at the end of a day with a leap second (none on this date)"
    )]
    NotALeapSecond(String),
    #[error("{0} is before 1960, when UTC began; give TT or TAI instead")]
    BeforeUtc(String),
    #[error(
        "`{input}` is not a UTC time: expected ISO-8601 like 2026-11-24T22:01:07 (optionally with fractional seconds, a trailing Z, or second 60 during a leap second)"
    )]
    Parse { input: String },
}

/// A UTC calendar reading. `second` runs to 60.999… only inside a leap second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UtcParts {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// Whole seconds, 0..=60.
    pub second: u32,
    pub nanos: u32,
}

/// Days from 1900-01-01 to a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + 25_567 // days from 1970-01-01, shifted to 1900-01-01
}

fn civil_from_days(days_since_1900: i64) -> (i32, u32, u32) {
    let z = days_since_1900 - 25_567 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// TAI−UTC at the start of a UTC day, in nanoseconds (SOFA table; the pre-1972 drift
/// eras are evaluated at the start of the day).
fn dat_ns(days_since_1900: i64) -> i128 {
    let (y, m, d) = civil_from_days(days_since_1900);
    let s = sofars::ts::dat(y, m as i32, d as i32, 0.0).unwrap_or(0.0);
    (s * 1e9).round() as i128
}

/// TAI nanoseconds since 1900-01-01T00:00:00 TAI of UTC midnight starting `day`.
fn utc_day_start(day: i64) -> i128 {
    i128::from(day) * DAY_NS + dat_ns(day)
}

fn tai_ns(e: Epoch) -> i128 {
    e.to_tai_duration().total_nanoseconds()
}

fn from_tai_ns(ns: i128) -> Epoch {
    Epoch::from_tai_duration(Duration::from_total_nanoseconds(ns))
}

/// The instant of a UTC calendar reading. Second 60 is accepted only in a real leap
/// second.
pub fn utc(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: f64,
) -> Result<Epoch, TimeError> {
    let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:09.6}");
    if year < 1960 {
        return Err(TimeError::BeforeUtc(text));
    }
    let valid_day = (1..=12).contains(&month) && day >= 1 && {
        let (y2, m2, d2) = civil_from_days(days_from_civil(year, month, day));
        (y2, m2, d2) == (year, month, day)
    };
    if !valid_day || hour > 23 || minute > 59 || !(0.0..61.0).contains(&second) || second.is_nan() {
        return Err(TimeError::Invalid(text));
    }
    let d = days_from_civil(year, month, day);
    let start = utc_day_start(d);
    let day_len = utc_day_start(d + 1) - start;
    let sec_ns = (second * 1e9).round() as i128;
    let sod = i128::from(hour * 3600 + minute * 60) * NS + sec_ns;
    if second >= 60.0 && !(hour == 23 && minute == 59 && sod < day_len) {
        return Err(TimeError::NotALeapSecond(text));
    }
    Ok(from_tai_ns(start + sod))
}

/// The UTC calendar reading of an instant (second 60 during a leap second).
pub fn utc_parts(e: Epoch) -> UtcParts {
    let t = tai_ns(e);
    // First guess ignoring the offset's sign subtleties, then step to the right day.
    let mut d = (t - 37 * NS).div_euclid(DAY_NS) as i64;
    while t < utc_day_start(d) {
        d -= 1;
    }
    while t >= utc_day_start(d + 1) {
        d += 1;
    }
    let sod = t - utc_day_start(d);
    let (year, month, day) = civil_from_days(d);
    let (hour, minute, second, nanos) = if sod >= DAY_NS - 60 * NS {
        // The last minute, which a leap second makes 61 s long.
        let s = sod - (DAY_NS - 60 * NS);
        (23, 59, (s / NS) as u32, (s % NS) as u32)
    } else {
        let secs = sod / NS;
        ((secs / 3600) as u32, ((secs / 60) % 60) as u32, (secs % 60) as u32, (sod % NS) as u32)
    };
    UtcParts { year, month, day, hour, minute, second, nanos }
}

/// TAI−UTC in seconds at this instant.
pub fn tai_minus_utc(e: Epoch) -> f64 {
    let p = utc_parts(e);
    let d = days_from_civil(p.year, p.month, p.day);
    dat_ns(d) as f64 / 1e9
}

/// True when the instant is past the leap-second table's known-good date, so a leap
/// second announced later would make it wrong by a second.
pub fn beyond_leap_table(e: Epoch) -> bool {
    let p = utc_parts(e);
    let (y, m, d) = LEAP_TABLE_VALID_UNTIL;
    (p.year, p.month, p.day) > (y, m, d)
}

/// SOFA two-part Julian dates, split as whole day + fraction for precision.
fn jd_parts(ns_since_1900: i128) -> (f64, f64) {
    let days = ns_since_1900.div_euclid(DAY_NS);
    let frac = ns_since_1900.rem_euclid(DAY_NS) as f64 / DAY_NS as f64;
    // 1900-01-01T00:00 is JD 2415020.5.
    (2_415_020.5 + days as f64, frac)
}

pub fn jd_tai(e: Epoch) -> (f64, f64) {
    jd_parts(tai_ns(e))
}

/// TT = TAI + 32.184 s.
pub fn jd_tt(e: Epoch) -> (f64, f64) {
    jd_parts(tai_ns(e) + 32_184_000_000)
}

/// UTC as SOFA's quasi Julian date: the fraction is of the UTC day's own length, so a
/// leap second is represented without ambiguity (what `sofars` functions expect).
pub fn jd_utc(e: Epoch) -> (f64, f64) {
    let t = tai_ns(e);
    let p = utc_parts(e);
    let d = days_from_civil(p.year, p.month, p.day);
    let start = utc_day_start(d);
    let len = utc_day_start(d + 1) - start;
    (2_415_020.5 + d as f64, (t - start) as f64 / len as f64)
}

/// UT1 = UTC + (UT1−UTC), as a two-part Julian date.
pub fn jd_ut1(e: Epoch, ut1_minus_utc_s: f64) -> (f64, f64) {
    let p = utc_parts(e);
    let d = days_from_civil(p.year, p.month, p.day);
    let sod = tai_ns(e) - utc_day_start(d);
    // UT1 days are 86400 s long; a leap second's extra second is absorbed by the
    // one-second jump in UT1−UTC at the end of that day.
    let ut1_ns = i128::from(d) * DAY_NS + sod + (ut1_minus_utc_s * 1e9).round() as i128;
    jd_parts(ut1_ns)
}

/// MJD (UTC) as one number, for display.
pub fn mjd_utc(e: Epoch) -> f64 {
    let (a, b) = jd_utc(e);
    (a - 2_400_000.5) + b
}

/// The instant of a Unix timestamp (which has no leap seconds: during a leap second
/// it repeats the previous second, so that second maps to its first occurrence).
pub fn from_unix_seconds(unix: f64) -> Epoch {
    let whole = unix.floor();
    let days = (whole as i64).div_euclid(86_400);
    let sod_ns = ((unix - (days * 86_400) as f64) * 1e9).round() as i128;
    let d = days + 25_567; // 1970-01-01 is day 25567 after 1900-01-01
    from_tai_ns(utc_day_start(d) + sod_ns)
}

/// `2026-11-24T22:01:07.123` with `digits` fractional digits (0..=9), truncated.
pub fn format_utc(e: Epoch, digits: u32) -> String {
    let p = utc_parts(e);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    );
    if digits == 0 {
        return base;
    }
    let digits = digits.min(9);
    let frac = p.nanos / 10u32.pow(9 - digits);
    format!("{base}.{frac:0width$}", width = digits as usize)
}

/// A continuous scale's calendar (TAI, or TT = TAI + 32.184 s): no leap seconds, so
/// plain day arithmetic.
fn format_continuous(ns_since_1900: i128, digits: u32) -> String {
    let day = ns_since_1900.div_euclid(DAY_NS) as i64;
    let sod = ns_since_1900.rem_euclid(DAY_NS);
    let (y, m, d) = civil_from_days(day);
    let secs = sod / NS;
    let base =
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
    if digits == 0 {
        return base;
    }
    let digits = digits.min(9);
    let frac = (sod % NS) as u32 / 10u32.pow(9 - digits);
    format!("{base}.{frac:0width$}", width = digits as usize)
}

/// ISO calendar reading on the TAI scale.
pub fn format_tai(e: Epoch, digits: u32) -> String {
    format_continuous(tai_ns(e), digits)
}

/// ISO calendar reading on the TT scale.
pub fn format_tt(e: Epoch, digits: u32) -> String {
    format_continuous(tai_ns(e) + 32_184_000_000, digits)
}

/// Parses ISO-8601 UTC (`2026-11-24T22:01:07[.fff][Z]`, a space instead of `T`, or a
/// trailing ` UTC`), accepting second 60 inside a leap second.
pub fn parse_utc(input: &str) -> Result<Epoch, TimeError> {
    let err = || TimeError::Parse { input: input.to_string() };
    let s = input.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix(" UTC")).unwrap_or(s);
    let (date, time) = s.split_once(['T', ' ']).ok_or_else(err)?;
    let mut dp = date.split('-');
    let y: i32 = num(dp.next(), 4).ok_or_else(err)?;
    let mo: u32 = num(dp.next(), 2).ok_or_else(err)?;
    let d: u32 = num(dp.next(), 2).ok_or_else(err)?;
    if dp.next().is_some() {
        return Err(err());
    }
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut tp = hms.split(':');
    let h: u32 = num(tp.next(), 2).ok_or_else(err)?;
    let mi: u32 = num(tp.next(), 2).ok_or_else(err)?;
    let sec: u32 = num(tp.next(), 2).ok_or_else(err)?;
    if tp.next().is_some() {
        return Err(err());
    }
    let ns = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().map_err(|_| err())? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return Err(err()),
    };
    let e = utc(y, mo, d, h, mi, f64::from(sec))?;
    Ok(e + Duration::from_total_nanoseconds(i128::from(ns)))
}

fn num<T: std::str::FromStr>(part: Option<&str>, len: usize) -> Option<T> {
    let p = part?;
    if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Epoch {
        parse_utc(s).unwrap()
    }

    #[test]
    fn calendar_day_numbers_round_trip() {
        assert_eq!(days_from_civil(1900, 1, 1), 0);
        assert_eq!(days_from_civil(1970, 1, 1), 25_567);
        for d in [-100_000, -1, 0, 1, 36_524, 46_000, 60_000, 100_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn the_2016_leap_second_is_two_si_seconds_long() {
        let before = t("2016-12-31T23:59:59");
        let leap = t("2016-12-31T23:59:60");
        let after = t("2017-01-01T00:00:00");
        assert_eq!((leap - before).to_seconds(), 1.0);
        assert_eq!((after - before).to_seconds(), 2.0);
        assert_eq!(tai_minus_utc(before), 36.0);
        assert_eq!(tai_minus_utc(leap), 36.0);
        assert_eq!(tai_minus_utc(after), 37.0);
        assert_eq!(format_utc(leap + Duration::from_seconds(0.5), 3), "2016-12-31T23:59:60.500");
        // hifitime alone gets this wrong: keep the reason for this module visible.
        let hifi = Epoch::from_gregorian_utc(2017, 1, 1, 0, 0, 0, 0)
            - Epoch::from_gregorian_utc(2016, 12, 31, 23, 59, 59, 0);
        assert_eq!(
            hifi.to_seconds(),
            1.0,
            "hifitime was fixed: this module may delegate to it again"
        );
    }

    #[test]
    fn tai_and_tt_against_sofa() {
        // 2016-12-31T23:59:60.5 UTC = 2017-01-01T00:00:36.5 TAI (SOFA utctai).
        let e = t("2016-12-31T23:59:60.5");
        let (u1, u2) = jd_utc(e);
        let (a1, a2) = sofars::ts::utctai(u1, u2).unwrap();
        let (b1, b2) = jd_tai(e);
        assert!(((a1 - b1) + (a2 - b2)).abs() * 86_400.0 < 1e-6, "{a1}+{a2} vs {b1}+{b2}");
        let (t1, t2) = jd_tt(e);
        assert!((((t1 - b1) + (t2 - b2)) * 86_400.0 - 32.184).abs() < 1e-6);
    }

    #[test]
    fn second_60_only_where_a_leap_second_exists() {
        assert!(matches!(parse_utc("2016-12-30T23:59:60"), Err(TimeError::NotALeapSecond(_))));
        assert!(matches!(parse_utc("2016-12-31T23:58:60"), Err(TimeError::NotALeapSecond(_))));
        assert!(parse_utc("2015-06-30T23:59:60.999").is_ok());
        assert!(matches!(parse_utc("1959-12-31T00:00:00"), Err(TimeError::BeforeUtc(_))));
        assert!(matches!(parse_utc("2026-02-30T00:00:00"), Err(TimeError::Invalid(_))));
        for bad in
            ["", "yesterday", "2026-13-01T00:00:00", "2026-11-24T25:00:00", "2026-11-24T19:30:00.x"]
        {
            assert!(parse_utc(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_across_years_and_leap_seconds() {
        for s in [
            "1972-06-30T23:59:60.25",
            "1999-12-31T23:59:59.999999999",
            "2000-01-01T12:00:00",
            "2026-11-24T22:01:07.123456",
            "2030-06-01T00:00:00",
        ] {
            let e = t(s);
            assert_eq!(t(&format_utc(e, 9)), e, "{s}");
            assert!(format_utc(e, 9).starts_with(&s[..19]), "{s} vs {}", format_utc(e, 9));
        }
    }

    #[test]
    fn tai_and_tt_calendars() {
        let e = t("2016-12-31T23:59:60.5");
        assert_eq!(format_tai(e, 3), "2017-01-01T00:00:36.500");
        assert_eq!(format_tt(e, 3), "2017-01-01T00:01:08.684");
    }

    #[test]
    fn unix_time_maps_to_utc() {
        assert_eq!(format_utc(from_unix_seconds(1_795_478_400.25), 3), "2026-11-24T00:00:00.250");
        assert_eq!(format_utc(from_unix_seconds(1_483_228_800.0), 0), "2017-01-01T00:00:00");
    }

    #[test]
    fn beyond_the_leap_table_is_flagged() {
        assert!(!beyond_leap_table(t("2026-11-24T00:00:00")));
        assert!(beyond_leap_table(t("2030-01-01T00:00:00")));
    }
}

#[cfg(test)]
mod hifitime_agreement {
    use super::*;

    /// Away from leap seconds hifitime's UTC constructor agrees with this module, so
    /// test code may use either; production code uses this module.
    #[test]
    fn ordinary_instants_agree() {
        for (y, m, d, h) in [
            (2000, 1, 1, 12),
            (2016, 6, 1, 0),
            (2017, 1, 2, 0),
            (2026, 11, 24, 20),
            (2030, 6, 1, 3),
        ] {
            let ours = utc(y, m, d, h, 0, 0.0).unwrap();
            let theirs = Epoch::from_gregorian_utc(y, m as u8, d as u8, h as u8, 0, 0, 0);
            assert_eq!(ours, theirs, "{y}-{m}-{d}T{h}");
        }
    }
}
