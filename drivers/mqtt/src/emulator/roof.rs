//! The emulated roll-off roof: a roof that takes `travel` to run from closed to
//! open, can be stopped anywhere, and reports what a real controller's limit
//! switches would.

use std::time::Duration;

use teld_driver_protocol::ShutterStatus;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Roof {
    /// 0 = closed, 1 = open.
    position: f64,
    /// Where it is running to, if it is.
    target: Option<f64>,
    travel: Duration,
    updated: Instant,
}

impl Roof {
    pub fn new(open: bool, travel: Duration, now: Instant) -> Roof {
        Roof { position: if open { 1.0 } else { 0.0 }, target: None, travel, updated: now }
    }

    /// Moves the roof on to `now`.
    pub fn advance(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now;
        let Some(target) = self.target else { return };
        let step = if self.travel.is_zero() { 1.0 } else { dt / self.travel.as_secs_f64() };
        if (target - self.position).abs() <= step {
            self.position = target;
            self.target = None;
        } else {
            self.position += step.copysign(target - self.position);
        }
    }

    /// Starts opening (or carries on; reverses a close).
    pub fn open(&mut self, now: Instant) {
        self.advance(now);
        self.target = (self.position < 1.0).then_some(1.0);
    }

    pub fn close(&mut self, now: Instant) {
        self.advance(now);
        self.target = (self.position > 0.0).then_some(0.0);
    }

    /// Stops where it is.
    pub fn abort(&mut self, now: Instant) {
        self.advance(now);
        self.target = None;
    }

    pub fn set_travel(&mut self, travel: Duration, now: Instant) {
        self.advance(now);
        self.travel = travel;
    }

    pub fn status(&self) -> ShutterStatus {
        match self.target {
            Some(t) if t > self.position => ShutterStatus::Opening,
            Some(_) => ShutterStatus::Closing,
            None if self.position >= 1.0 => ShutterStatus::Open,
            None if self.position <= 0.0 => ShutterStatus::Closed,
            // Stopped between the limit switches: neither open nor closed (ASCOM
            // has no "part open"; `error` tells the operator to look).
            None => ShutterStatus::Error,
        }
    }

    /// A roll-off roof is parked when it is closed.
    pub fn at_park(&self) -> bool {
        self.status() == ShutterStatus::Closed
    }

    pub fn moving(&self) -> bool {
        self.target.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_in_its_travel_time_reverses_and_stops_between_limits() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut r = Roof::new(false, s(10), t0);
        assert!(r.at_park());
        r.open(t0);
        r.advance(t0 + s(5));
        assert_eq!(r.status(), ShutterStatus::Opening);
        r.advance(t0 + s(10));
        assert_eq!(r.status(), ShutterStatus::Open);
        r.close(t0 + s(10));
        r.advance(t0 + s(14));
        r.open(t0 + s(14));
        assert_eq!(r.status(), ShutterStatus::Opening, "open reverses a close");
        r.abort(t0 + s(15));
        assert_eq!(r.status(), ShutterStatus::Error, "stopped part open");
        r.close(t0 + s(15));
        r.advance(t0 + s(30));
        assert!(r.at_park() && !r.moving());
        r.close(t0 + s(31));
        assert!(!r.moving(), "closing a closed roof does nothing");
    }
}
