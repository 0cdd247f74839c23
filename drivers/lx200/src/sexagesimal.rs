//! LX200 sexagesimal text: right ascension, declination, altitude/azimuth and site
//! coordinates, in the two precisions Meade mounts speak.
//!
//! High precision: `HH:MM:SS` and `sDD*MM'SS` (the separator after the minutes is `'`
//! in answers and `:` in `:Sd` commands; both are accepted). Low precision, the
//! power-on default of classic LX200s: `HH:MM.T` (tenths of a minute) and `sDD*MM`.
//! Classic firmware sends the degree sign as byte 0xDF; the port layer maps it to `*`
//! before text gets here.
//!
//! Formatting rounds to the last digit sent and carries (59.96 s → next minute, 24h →
//! 0h); a negative angle that rounds to zero degrees keeps its sign (`-00*30`).

/// Which answer format the mount used: low precision answers mean `:U#` is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Low,
    High,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an LX200 {what}")]
pub struct ParseError {
    pub text: String,
    pub what: &'static str,
}

fn bad(text: &str, what: &'static str) -> ParseError {
    ParseError { text: text.to_string(), what }
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// `HH:MM:SS` or `HH:MM.T` → hours in [0, 24), and which precision it was.
pub fn parse_hours(text: &str) -> Result<(f64, Precision), ParseError> {
    let what = "right ascension or time (HH:MM:SS or HH:MM.T)";
    let t = text.trim();
    let (h, rest) = t.split_once(':').ok_or_else(|| bad(text, what))?;
    let h = digits(h).filter(|h| *h < 24).ok_or_else(|| bad(text, what))?;
    let (minutes, precision) = match rest.split_once(':') {
        Some((m, s)) => {
            let m = digits(m).filter(|m| *m < 60).ok_or_else(|| bad(text, what))?;
            let s = digits(s).filter(|s| *s < 60).ok_or_else(|| bad(text, what))?;
            (f64::from(m) + f64::from(s) / 60.0, Precision::High)
        }
        None => {
            let (m, tenths) = rest.split_once('.').ok_or_else(|| bad(text, what))?;
            let m = digits(m).filter(|m| *m < 60).ok_or_else(|| bad(text, what))?;
            let t = digits(tenths).filter(|_| tenths.len() == 1).ok_or_else(|| bad(text, what))?;
            (f64::from(m) + f64::from(t) / 10.0, Precision::Low)
        }
    };
    Ok((f64::from(h) + minutes / 60.0, precision))
}

/// `sDD*MM'SS`, `sDD*MM:SS`, `sDD*MM`, `DDD*MM'SS` (azimuth, longitude) → degrees.
/// The sign is read apart from the number so `-00*30` is −0.5°.
pub fn parse_degrees(text: &str) -> Result<(f64, Precision), ParseError> {
    let what = "angle (sDD*MM'SS or sDD*MM)";
    let t = text.trim();
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (d, rest) = body.split_once(['*', ':']).ok_or_else(|| bad(text, what))?;
    let d = digits(d).filter(|d| *d <= 360).ok_or_else(|| bad(text, what))?;
    let (value, precision) = match rest.split_once(['\'', ':']) {
        Some((m, s)) => {
            let m = digits(m).filter(|m| *m < 60).ok_or_else(|| bad(text, what))?;
            let s = digits(s).filter(|s| *s < 60).ok_or_else(|| bad(text, what))?;
            (f64::from(d) + f64::from(m) / 60.0 + f64::from(s) / 3600.0, Precision::High)
        }
        None => {
            let m = digits(rest).filter(|m| *m < 60).ok_or_else(|| bad(text, what))?;
            (f64::from(d) + f64::from(m) / 60.0, Precision::Low)
        }
    };
    Ok((if negative { -value } else { value }, precision))
}

/// `sHH.H` (the UTC offset of `:GG#`/`:SG`) → hours.
pub fn parse_offset(text: &str) -> Result<f64, ParseError> {
    let what = "UTC offset (sHH.H)";
    let t = text.trim();
    let v: f64 = t.parse().map_err(|_| bad(text, what))?;
    (v.is_finite() && v.abs() <= 24.0).then_some(v).ok_or_else(|| bad(text, what))
}

/// Hours → `HH:MM:SS` (high) or `HH:MM.T` (low), rounded, wrapped into [0h, 24h).
pub fn format_hours(hours: f64, precision: Precision) -> String {
    match precision {
        Precision::High => {
            let total = ((hours * 3600.0).round() as i64).rem_euclid(86_400);
            format!("{:02}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
        }
        Precision::Low => {
            let tenths = ((hours * 600.0).round() as i64).rem_euclid(24 * 600);
            format!("{:02}:{:02}.{}", tenths / 600, tenths / 10 % 60, tenths % 10)
        }
    }
}

/// Degrees → `sDD*MM:SS` (the `:Sd` form), `sDD*MM'SS` (the answer form, `sep = '\''`)
/// or `sDD*MM` (low), rounded with carry, clamped to ±90.
pub fn format_dec(deg: f64, precision: Precision, sep: char) -> String {
    let sign = |zero: bool| if deg < 0.0 && !zero { '-' } else { '+' };
    match precision {
        Precision::High => {
            let total = ((deg.abs() * 3600.0).round() as i64).min(90 * 3600);
            let s = sign(total == 0);
            format!("{s}{:02}*{:02}{sep}{:02}", total / 3600, total / 60 % 60, total % 60)
        }
        Precision::Low => {
            let total = ((deg.abs() * 60.0).round() as i64).min(90 * 60);
            format!("{}{:02}*{:02}", sign(total == 0), total / 60, total % 60)
        }
    }
}

/// Degrees in [0, 360) → `DDD*MM'SS` or `DDD*MM` (azimuth; longitude of `:Sg`).
pub fn format_deg360(deg: f64, precision: Precision) -> String {
    match precision {
        Precision::High => {
            let total = ((deg * 3600.0).round() as i64).rem_euclid(360 * 3600);
            format!("{:03}*{:02}'{:02}", total / 3600, total / 60 % 60, total % 60)
        }
        Precision::Low => {
            let total = ((deg * 60.0).round() as i64).rem_euclid(360 * 60);
            format!("{:03}*{:02}", total / 60, total % 60)
        }
    }
}

/// Meade site longitude (`:Sg DDD*MM`): degrees **west**-positive in [0, 360), from
/// teld's east-positive WGS84 longitude. La Palma (−17.88° E) is `017*53`.
pub fn meade_longitude(east_deg: f64) -> String {
    format_deg360(-east_deg, Precision::Low)
}

/// East-positive longitude from Meade's west-positive reading (`:Gg#`, `sDDD*MM` or
/// `DDD*MM` in 0..360), normalised to (−180, 180].
pub fn east_from_meade(west_deg: f64) -> f64 {
    let e = (-west_deg).rem_euclid(360.0);
    if e > 180.0 { e - 360.0 } else { e }
}

/// Hours in sHH.H form for `:SG` (hours added to local time to give UTC).
pub fn format_offset(hours: f64) -> String {
    let tenths = (hours * 10.0).round() as i64;
    let s = if tenths < 0 { '-' } else { '+' };
    format!("{s}{:02}.{}", tenths.abs() / 10, tenths.abs() % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCSEC: f64 = 1.0 / 3600.0;

    #[test]
    fn right_ascension_in_both_precisions() {
        let (h, p) = parse_hours("05:34:31").unwrap();
        assert_eq!(p, Precision::High);
        assert!((h - (5.0 + 34.0 / 60.0 + 31.0 / 3600.0)).abs() < 1e-12);
        let (h, p) = parse_hours("05:34.5").unwrap();
        assert_eq!(p, Precision::Low);
        assert!((h - (5.0 + 34.5 / 60.0)).abs() < 1e-12);
        assert_eq!(format_hours(h, Precision::Low), "05:34.5");
        assert_eq!(format_hours(5.0 + 34.0 / 60.0 + 31.0 / 3600.0, Precision::High), "05:34:31");
    }

    #[test]
    fn declination_in_both_precisions_and_separators() {
        for (text, want, p) in [
            ("+22*00'52", 22.0 + 52.0 / 3600.0, Precision::High),
            ("+22*00:52", 22.0 + 52.0 / 3600.0, Precision::High),
            ("-05*23'28", -(5.0 + 23.0 / 60.0 + 28.0 / 3600.0), Precision::High),
            ("+89*15", 89.25, Precision::Low),
            ("-16*42", -16.7, Precision::Low),
            ("123*45'30", 123.0 + 45.5 / 60.0, Precision::High),
            ("359*59", 359.0 + 59.0 / 60.0, Precision::Low),
        ] {
            let (d, got) = parse_degrees(text).unwrap();
            assert!((d - want).abs() < 1e-9, "{text}: {d} vs {want}");
            assert_eq!(got, p, "{text}");
        }
    }

    #[test]
    fn negative_zero_declination_keeps_its_sign() {
        assert_eq!(parse_degrees("-00*30").unwrap().0, -0.5);
        assert!((parse_degrees("-00*00'45").unwrap().0 + 45.0 * ARCSEC).abs() < 1e-12);
        assert_eq!(format_dec(-0.5, Precision::Low, ':'), "-00*30");
        assert_eq!(format_dec(-0.5, Precision::High, ':'), "-00*30:00");
        assert_eq!(format_dec(-45.0 * ARCSEC, Precision::High, '\''), "-00*00'45");
        // Rounds to zero: no sign to keep.
        assert_eq!(format_dec(-0.1 * ARCSEC, Precision::High, ':'), "+00*00:00");
    }

    #[test]
    fn rounding_carries_into_minutes_hours_and_wraps_at_24h() {
        let h = 12.0 + 34.0 / 60.0 + 59.96 / 3600.0;
        assert_eq!(format_hours(h, Precision::High), "12:35:00");
        assert_eq!(format_hours(23.0 + 59.0 / 60.0 + 59.6 / 3600.0, Precision::High), "00:00:00");
        assert_eq!(format_hours(23.0 + 59.96 / 60.0, Precision::Low), "00:00.0");
        assert_eq!(format_hours(24.0, Precision::High), "00:00:00");
        assert_eq!(format_hours(-1.0 / 3600.0, Precision::High), "23:59:59");
        assert_eq!(
            format_dec(44.0 + 59.0 / 60.0 + 59.96 / 3600.0, Precision::High, ':'),
            "+45*00:00"
        );
        assert_eq!(format_dec(-(29.0 + 59.99 / 60.0), Precision::Low, ':'), "-30*00");
        assert_eq!(format_dec(95.0, Precision::High, ':'), "+90*00:00");
        assert_eq!(
            format_deg360(359.0 + 59.0 / 60.0 + 59.8 / 3600.0, Precision::High),
            "000*00'00"
        );
    }

    #[test]
    fn every_formatted_value_parses_back_within_half_a_unit() {
        for i in 0..2000 {
            let h = f64::from(i) * 0.011_97;
            let (back, _) = parse_hours(&format_hours(h, Precision::High)).unwrap();
            let diff = (back - h).rem_euclid(24.0);
            assert!(diff.min(24.0 - diff) <= 0.5 / 3600.0 + 1e-12, "{h}");
            let d = -90.0 + f64::from(i) * 0.09;
            let (back, _) = parse_degrees(&format_dec(d, Precision::High, ':')).unwrap();
            assert!((back - d).abs() <= 0.5 * ARCSEC + 1e-12, "{d} -> {back}");
        }
    }

    #[test]
    fn meade_longitude_is_west_positive() {
        // La Palma, 17.8816° W: Meade wants +17°53' (west positive).
        assert_eq!(meade_longitude(-17.8816), "017*53");
        // Greenwich and an eastern site: 10° E is 350° west in Meade's 0..360 form.
        assert_eq!(meade_longitude(0.0), "000*00");
        assert_eq!(meade_longitude(10.0), "350*00");
        assert!((east_from_meade(17.0 + 53.0 / 60.0) + 17.883_333).abs() < 1e-5);
        assert!((east_from_meade(350.0) - 10.0).abs() < 1e-9);
        assert!((east_from_meade(-10.0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(format_offset(0.0), "+00.0");
        assert_eq!(format_offset(-5.5), "-05.5");
        assert_eq!(parse_offset("+05.0").unwrap(), 5.0);
        assert_eq!(parse_offset("-03.5").unwrap(), -3.5);
        assert!(parse_offset("x").is_err());
    }

    #[test]
    fn garbage_is_refused_with_the_text_in_the_message() {
        for t in ["", "12", "25:00:00", "12:60:00", "12:30.45", "ab:cd:ef", "\u{1}2:00:00"] {
            let e = parse_hours(t).unwrap_err();
            assert!(e.to_string().contains(t), "{e}");
        }
        for t in ["", "+45", "+45*60", "+45*30'61", "+4x*30", "--5*00"] {
            assert!(parse_degrees(t).is_err(), "{t}");
        }
    }
}
