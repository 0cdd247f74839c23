//! A verdict is the worst concern raised by any input, with every reason kept so an
//! operator sees all that is wrong, not only the first.

use super::SafetyLevel;

/// One input's complaint.
#[derive(Debug, Clone, PartialEq)]
pub struct Concern {
    pub level: SafetyLevel,
    /// A category ("rain", "wind 16.2 m/s above 15 m/s" is too chatty: "wind"), so a
    /// changing reading is not a new verdict each second.
    pub reason: String,
}

impl Concern {
    pub fn new(level: SafetyLevel, reason: impl Into<String>) -> Self {
        Concern { level, reason: reason.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub level: SafetyLevel,
    /// The reasons at the verdict's level first, then the milder ones, joined by "; ".
    pub reason: String,
}

impl Verdict {
    pub fn of(mut concerns: Vec<Concern>) -> Verdict {
        // Worst first; among equals, the order the inputs were judged in.
        concerns.sort_by_key(|c| std::cmp::Reverse(c.level));
        concerns.dedup_by(|a, b| a.reason == b.reason);
        let level = concerns.first().map_or(SafetyLevel::Safe, |c| c.level);
        let reason = concerns.iter().map(|c| c.reason.as_str()).collect::<Vec<_>>().join("; ");
        Verdict { level, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_concern_sets_the_level_and_all_reasons_are_kept() {
        let v = Verdict::of(vec![
            Concern::new(SafetyLevel::Warn, "disk almost full"),
            Concern::new(SafetyLevel::Emergency, "rain"),
            Concern::new(SafetyLevel::Stop, "wind"),
        ]);
        assert_eq!(v.level, SafetyLevel::Emergency);
        assert_eq!(v.reason, "rain; wind; disk almost full");
        assert_eq!(
            Verdict::of(vec![]),
            Verdict { level: SafetyLevel::Safe, reason: String::new() }
        );
    }
}
