//! How long each role's signature stays valid, as CI states it on the command line.

use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};

use super::error::{ArtefactError, Result};

/// Validity per role, counted from the moment of signing. Negative durations exist only
/// so tests can sign already-expired metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiries {
    pub root: SignedDuration,
    pub targets: SignedDuration,
    pub snapshot: SignedDuration,
    pub timestamp: SignedDuration,
}

impl Default for Expiries {
    /// update-design.md §2: root re-signed yearly, targets each quarter, snapshot
    /// monthly; timestamp is the freeze window a rarely connected site tolerates.
    fn default() -> Self {
        Self { root: days(365), targets: days(90), snapshot: days(30), timestamp: days(14) }
    }
}

pub fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// `now + d`, refusing times jiff cannot represent (a typo like `99999999d`).
pub fn after(now: Timestamp, d: SignedDuration) -> Result<Timestamp> {
    now.checked_add(d).map_err(|e| ArtefactError::invalid("expiry", e))
}

/// A positive duration such as `14d`, `12h`, `90m`, `30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity(pub SignedDuration);

impl FromStr for Validity {
    type Err = ArtefactError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            ArtefactError::invalid(
                format!("duration `{s}`"),
                format!("{why}; write a whole number and a unit: 14d, 12h, 90m or 30s"),
            )
        };
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(|| bad("no unit"))?;
        let (n, unit) = s.split_at(split);
        let n: i64 = n.parse().map_err(|_| bad("no number"))?;
        let secs = match unit {
            "d" => n.checked_mul(86_400),
            "h" => n.checked_mul(3_600),
            "m" => n.checked_mul(60),
            "s" => Some(n),
            _ => return Err(bad("unknown unit")),
        }
        .ok_or_else(|| bad("too long"))?;
        if secs == 0 {
            return Err(bad("must be longer than zero"));
        }
        Ok(Validity(SignedDuration::from_secs(secs)))
    }
}

#[cfg(test)]
mod update_tests {
    use super::*;

    #[test]
    fn durations_parse_and_typos_are_named() {
        assert_eq!("14d".parse::<Validity>().unwrap().0, days(14));
        assert_eq!("12h".parse::<Validity>().unwrap().0, SignedDuration::from_hours(12));
        for bad in ["14", "d", "14w", "-1d", "0d", "1.5d", ""] {
            let e = bad.parse::<Validity>().unwrap_err().to_string();
            assert!(e.contains("14d, 12h"), "{bad}: {e}");
        }
    }
}
