//! UTC instants on the wire: ISO-8601 without a zone suffix, as FITS `DATE-OBS` uses
//! (`2026-11-24T22:01:07.123456`). Parsing also accepts a trailing `Z` or ` UTC`, and
//! second 60 inside a leap second. The calendar work is `teld_astro::time`'s, which
//! handles leap seconds correctly.

use hifitime::Epoch;

pub use teld_astro::time::TimeError as TimeParseError;

/// `2026-11-24T22:01:07.123456` (microseconds).
pub fn format_utc(epoch: Epoch) -> String {
    teld_astro::time::format_utc(epoch, 6)
}

/// UTC with `digits` (0..=9) fractional-second digits, truncated, never rounded up
/// into the next second.
pub fn format_utc_digits(epoch: Epoch, digits: u32) -> String {
    teld_astro::time::format_utc(epoch, digits)
}

pub fn parse_utc(input: &str) -> Result<Epoch, TimeParseError> {
    teld_astro::time::parse_utc(input)
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
