//! UTC instants on the wire: ISO-8601 without a zone suffix, as FITS `DATE-OBS` uses
//! (`2026-11-24T22:01:07.123456`). Parsing also accepts a trailing `Z` or ` UTC`.

use hifitime::Epoch;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a UTC time: expected ISO-8601 like 2026-11-24T22:01:07 (optionally with fractional seconds and a trailing Z)"
)]
pub struct TimeParseError {
    pub input: String,
}

/// `2026-11-24T22:01:07.123456` (microseconds).
pub fn format_utc(epoch: Epoch) -> String {
    format_utc_digits(epoch, 6)
}

/// UTC with `digits` (0..=9) fractional-second digits, truncated, never rounded up
/// into the next second.
pub fn format_utc_digits(epoch: Epoch, digits: u32) -> String {
    let (y, mo, d, h, mi, s, ns) = epoch.to_gregorian_utc();
    let base = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if digits == 0 {
        return base;
    }
    let digits = digits.min(9);
    let frac = ns / 10u32.pow(9 - digits);
    format!("{base}.{frac:0width$}", width = digits as usize)
}

pub fn parse_utc(input: &str) -> Result<Epoch, TimeParseError> {
    let err = || TimeParseError { input: input.to_string() };
    let s = input.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix(" UTC")).unwrap_or(s);
    let (date, time) = s.split_once(['T', ' ']).ok_or_else(err)?;
    let mut dp = date.split('-');
    let y: i32 = num(dp.next(), 4).ok_or_else(err)?;
    let mo: u8 = num(dp.next(), 2).ok_or_else(err)?;
    let d: u8 = num(dp.next(), 2).ok_or_else(err)?;
    if dp.next().is_some() {
        return Err(err());
    }
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut tp = hms.split(':');
    let h: u8 = num(tp.next(), 2).ok_or_else(err)?;
    let mi: u8 = num(tp.next(), 2).ok_or_else(err)?;
    let sec: u8 = num(tp.next(), 2).ok_or_else(err)?;
    if tp.next().is_some() {
        return Err(err());
    }
    let ns = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let v: u32 = f.parse().map_err(|_| err())?;
            v * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return Err(err()),
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return Err(err());
    }
    Epoch::maybe_from_gregorian_utc(y, mo, d, h, mi, sec, ns).map_err(|_| err())
}

fn num<T: std::str::FromStr>(part: Option<&str>, len: usize) -> Option<T> {
    let p = part?;
    if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

/// `#[serde(with = "teld_driver_protocol::time::utc")]` for `Epoch` fields.
pub mod utc {
    use hifitime::Epoch;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(epoch: &Epoch, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_utc(*epoch))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Epoch, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_utc(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_microseconds() {
        let e = parse_utc("2026-11-24T22:01:07.123456").unwrap();
        assert_eq!(format_utc(e), "2026-11-24T22:01:07.123456");
        assert_eq!(format_utc_digits(e, 3), "2026-11-24T22:01:07.123");
        assert_eq!(format_utc_digits(e, 0), "2026-11-24T22:01:07");
    }

    #[test]
    fn accepts_z_and_utc_suffix_and_space() {
        let a = parse_utc("2026-11-24T19:30:00Z").unwrap();
        let b = parse_utc("2026-11-24 19:30:00 UTC").unwrap();
        let c = parse_utc("2026-11-24T19:30:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn rejects_garbage_with_the_input_in_the_message() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00",
            "2026-11-24T25:00:00",
            "2026-11-24",
            "2026-11-24T19:30:00.x",
        ] {
            let e = parse_utc(bad).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn unix_reference_instant() {
        // 2026-11-24T00:00:00Z is 1_795_478_400 s after 1970-01-01 (no leap seconds in Unix time).
        let e = parse_utc("2026-11-24T00:00:00").unwrap();
        assert!((e.to_unix_seconds() - 1_795_478_400.0).abs() < 1e-6);
    }
}
