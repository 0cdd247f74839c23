//! A short history of a device's motions, so the state at any recent instant can be
//! recomputed exactly: the camera needs where the mount pointed and how far the dome
//! shutter was open during an exposure that has already ended.

use std::collections::VecDeque;

use hifitime::Epoch;

/// Entries kept. Each command adds at most one or two, and a frame only looks back over
/// its own exposure, so a few hundred is far more than any exposure spans.
const MAX_ENTRIES: usize = 256;

/// Piecewise history: each entry holds from its start until the next entry's start.
#[derive(Debug, Clone)]
pub struct Timeline<T> {
    entries: VecDeque<(Epoch, T)>,
}

impl<T> Timeline<T> {
    pub fn new(start: Epoch, value: T) -> Self {
        Timeline { entries: VecDeque::from([(start, value)]) }
    }

    pub fn current(&self) -> &T {
        &self.entries.back().expect("a timeline is never empty").1
    }

    /// Makes `value` current from `at` on. Entries starting after `at` are dropped: the
    /// daemon's clock was set back, and the future they described did not happen.
    pub fn push(&mut self, at: Epoch, value: T) {
        while self.entries.len() > 1 && self.entries.back().is_some_and(|(s, _)| *s > at) {
            self.entries.pop_back();
        }
        if self.entries.len() == 1 && self.entries[0].0 > at {
            self.entries.clear();
        }
        self.entries.push_back((at, value));
        while self.entries.len() > MAX_ENTRIES {
            self.entries.pop_front();
        }
    }

    /// The entry in force at `t`; the oldest one for instants before the history.
    pub fn at(&self, t: Epoch) -> &T {
        self.entry_at(t).1
    }

    /// The entry in force at `t` with the instant it started.
    pub fn entry_at(&self, t: Epoch) -> (Epoch, &T) {
        let (start, v) = self
            .entries
            .iter()
            .rev()
            .find(|(start, _)| *start <= t)
            .unwrap_or_else(|| self.entries.front().expect("a timeline is never empty"));
        (*start, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hifitime::Duration;

    #[test]
    fn looks_up_the_entry_in_force() {
        let t0 = Epoch::from_gregorian_utc_at_midnight(2026, 11, 24);
        let s = |x: f64| t0 + Duration::from_seconds(x);
        let mut tl = Timeline::new(t0, 'a');
        tl.push(s(10.0), 'b');
        tl.push(s(20.0), 'c');
        assert_eq!(*tl.at(s(-5.0)), 'a');
        assert_eq!(*tl.at(s(5.0)), 'a');
        assert_eq!(*tl.at(s(10.0)), 'b');
        assert_eq!(*tl.at(s(25.0)), 'c');
        assert_eq!(*tl.current(), 'c');
        // Clock set back to 15 s: the entry at 20 s never happened.
        tl.push(s(15.0), 'd');
        assert_eq!(*tl.at(s(25.0)), 'd');
        assert_eq!(*tl.at(s(12.0)), 'b');
    }

    #[test]
    fn history_is_bounded() {
        let t0 = Epoch::from_gregorian_utc_at_midnight(2026, 11, 24);
        let mut tl = Timeline::new(t0, 0usize);
        for i in 1..1000 {
            tl.push(t0 + Duration::from_seconds(i as f64), i);
        }
        assert_eq!(tl.entries.len(), MAX_ENTRIES);
        assert_eq!(*tl.current(), 999);
    }
}
