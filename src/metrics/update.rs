//! Counters the update service bumps as it works, read at scrape time. Installed
//! versions and waiting kinds are not counted here: they are read from the service's
//! views, which are already its single record of them.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How a trial ended; the label values of `teld_update_trials_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrialOutcome {
    Committed,
    RolledBack,
    Halted,
}

impl TrialOutcome {
    pub const ALL: [TrialOutcome; 3] =
        [TrialOutcome::Committed, TrialOutcome::RolledBack, TrialOutcome::Halted];

    pub fn as_str(self) -> &'static str {
        match self {
            TrialOutcome::Committed => "committed",
            TrialOutcome::RolledBack => "rolled_back",
            TrialOutcome::Halted => "halted",
        }
    }
}

#[derive(Debug, Default)]
pub struct UpdateCounters {
    checks_ok: AtomicU64,
    checks_error: AtomicU64,
    /// (kind, outcome) → trials. Kinds come from the config, so the label set is bounded.
    trials: Mutex<BTreeMap<(String, TrialOutcome), u64>>,
}

impl UpdateCounters {
    /// One check of the source: `ok` when its metadata verified.
    pub fn check(&self, ok: bool) {
        let c = if ok { &self.checks_ok } else { &self.checks_error };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn trial(&self, kind: &str, outcome: TrialOutcome) {
        let mut t = self.trials.lock().unwrap_or_else(|p| p.into_inner());
        *t.entry((kind.to_string(), outcome)).or_default() += 1;
    }

    /// `(ok, error)` checks so far.
    pub fn checks(&self) -> (u64, u64) {
        (self.checks_ok.load(Ordering::Relaxed), self.checks_error.load(Ordering::Relaxed))
    }

    pub fn trials(&self, kind: &str, outcome: TrialOutcome) -> u64 {
        let t = self.trials.lock().unwrap_or_else(|p| p.into_inner());
        t.get(&(kind.to_string(), outcome)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod update_tests {
    use super::*;

    #[test]
    fn counters_count_per_kind_and_outcome() {
        let c = UpdateCounters::default();
        c.check(true);
        c.check(true);
        c.check(false);
        c.trial("sim", TrialOutcome::Committed);
        c.trial("sim", TrialOutcome::Committed);
        c.trial("alpaca", TrialOutcome::Halted);
        assert_eq!(c.checks(), (2, 1));
        assert_eq!(c.trials("sim", TrialOutcome::Committed), 2);
        assert_eq!(c.trials("sim", TrialOutcome::RolledBack), 0);
        assert_eq!(c.trials("alpaca", TrialOutcome::Halted), 1);
    }
}
