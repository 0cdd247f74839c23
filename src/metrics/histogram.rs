//! A fixed-bucket histogram of seconds, lock-free so the HTTP path never waits on a scrape.

use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds in seconds. Fine below 10 ms because the API's p99 target is 5 ms;
/// up to 10 s because a slow store or a large FITS ingest lands there.
pub const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug)]
pub struct Histogram {
    /// Non-cumulative: counts[i] holds observations in (BUCKETS[i-1], BUCKETS[i]];
    /// the last slot holds those above the largest bound.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

/// Cumulative view for the writer: `(le, count)` pairs ending with `+Inf`.
pub struct HistogramSnapshot {
    pub cumulative: Vec<(f64, u64)>,
    pub sum_s: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    pub const fn new() -> Self {
        Histogram {
            counts: [const { AtomicU64::new(0) }; BUCKETS.len() + 1],
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, seconds: f64) {
        let s = if seconds.is_finite() && seconds > 0.0 { seconds } else { 0.0 };
        let i = BUCKETS.iter().position(|&b| s <= b).unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add((s * 1e9) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut acc = 0;
        let mut cumulative = Vec::with_capacity(BUCKETS.len() + 1);
        for (i, c) in self.counts.iter().enumerate() {
            acc += c.load(Ordering::Relaxed);
            cumulative.push((BUCKETS.get(i).copied().unwrap_or(f64::INFINITY), acc));
        }
        // `count` is read after the buckets and raised to their total, so a scrape
        // racing an observation never shows +Inf below a finite bucket.
        let count = self.count.load(Ordering::Relaxed).max(acc);
        if let Some(last) = cumulative.last_mut() {
            last.1 = count;
        }
        HistogramSnapshot {
            cumulative,
            sum_s: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_the_count() {
        let h = Histogram::default();
        for s in [0.0001, 0.003, 0.003, 0.2, 30.0, f64::NAN] {
            h.observe(s);
        }
        let snap = h.snapshot();
        assert_eq!(snap.count, 6);
        assert!(snap.cumulative.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(snap.cumulative.last().unwrap(), &(f64::INFINITY, 6));
        // 0.0001 and NaN (counted as 0) are in the first bucket.
        assert_eq!(snap.cumulative[0], (0.0005, 2));
        assert_eq!(snap.cumulative[3], (0.005, 4));
        assert!((snap.sum_s - 30.2061).abs() < 1e-6, "{}", snap.sum_s);
    }
}
