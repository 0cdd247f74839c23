//! The daemon's clock as seen by a driver.
//!
//! The daemon owns the one clock (system, or simulated at a speed factor). A driver
//! that simulates devices, or sets a device's time, follows it: `set_clock` says "it is
//! `utc` now, and time advances `speed` simulated seconds per real second". Between
//! syncs the driver extrapolates with its monotonic clock.

use std::time::{Duration as StdDuration, Instant};

use hifitime::{Duration, Epoch};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClockSync {
    #[serde(with = "crate::time::utc")]
    pub utc: Epoch,
    /// Simulated seconds per real second: 1 on the real clock, 0 when stepped by hand.
    pub speed: f64,
}

/// A driver's copy of the daemon's clock.
#[derive(Debug, Clone)]
pub struct DriverClock {
    anchor: Epoch,
    anchor_real: Instant,
    speed: f64,
}

impl DriverClock {
    pub fn new(sync: ClockSync) -> Self {
        DriverClock { anchor: sync.utc, anchor_real: Instant::now(), speed: sync.speed }
    }

    pub fn sync(&mut self, sync: ClockSync) {
        *self = DriverClock::new(sync);
    }

    pub fn now(&self) -> Epoch {
        let real = self.anchor_real.elapsed().as_secs_f64();
        self.anchor + Duration::from_seconds(real * self.speed)
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Real time until simulated instant `at`; `None` if the clock is stopped (speed 0)
    /// and `at` is still ahead, so the caller waits for the next `set_clock` instead.
    pub fn real_until(&self, at: Epoch) -> Option<StdDuration> {
        let ahead = (at - self.now()).to_seconds();
        if ahead <= 0.0 {
            return Some(StdDuration::ZERO);
        }
        if self.speed <= 0.0 {
            return None;
        }
        Some(StdDuration::from_secs_f64(ahead / self.speed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_clock_does_not_advance_and_has_no_deadline() {
        let t0 = crate::time::parse_utc("2026-11-24T20:00:00").unwrap();
        let c = DriverClock::new(ClockSync { utc: t0, speed: 0.0 });
        assert_eq!(c.now(), t0);
        assert_eq!(c.real_until(t0 + Duration::from_seconds(1.0)), None);
        assert_eq!(c.real_until(t0), Some(StdDuration::ZERO));
    }

    #[test]
    fn fast_clock_scales_real_delays() {
        let t0 = crate::time::parse_utc("2026-11-24T20:00:00").unwrap();
        let c = DriverClock::new(ClockSync { utc: t0, speed: 600.0 });
        let d = c.real_until(t0 + Duration::from_seconds(600.0)).unwrap();
        assert!(d <= StdDuration::from_secs(1) && d > StdDuration::from_millis(900), "{d:?}");
    }
}
