//! The one clock of the daemon. Nothing else reads the wall clock for astronomical or
//! scheduling time: it is the system clock in production, and a simulated clock (a
//! start instant plus a speed factor, or stepped by hand) in tests and demos.
//!
//! Liveness timing (heartbeats, request timeouts, poll cadence) is deliberately *real*
//! elapsed time via tokio: a hung process hangs in real time whatever the simulation
//! speed.

use std::sync::Arc;

use hifitime::{Duration, Epoch};
use serde::Serialize;
use teld_driver_protocol::ClockSync;
use tokio::sync::watch;

/// Longest single real sleep: the system clock may be stepped (NTP), so long waits
/// re-check the time instead of trusting one timer.
const MAX_REAL_SLEEP: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

enum Inner {
    System,
    Simulated { anchor: Epoch, anchor_real: tokio::time::Instant, speed: f64 },
    Manual { now: watch::Sender<Epoch> },
}

#[derive(Debug, Clone, Serialize)]
pub struct ClockInfo {
    pub mode: &'static str,
    pub speed: f64,
}

impl Clock {
    pub fn system() -> Self {
        Clock { inner: Arc::new(Inner::System) }
    }

    /// Simulated time: `start` now, advancing `speed` simulated seconds per real second.
    pub fn simulated(start: Epoch, speed: f64) -> Self {
        let anchor_real = tokio::time::Instant::now();
        Clock { inner: Arc::new(Inner::Simulated { anchor: start, anchor_real, speed }) }
    }

    /// Time that moves only when [`Clock::advance`] is called.
    pub fn manual(start: Epoch) -> Self {
        Clock { inner: Arc::new(Inner::Manual { now: watch::channel(start).0 }) }
    }

    pub fn now(&self) -> Epoch {
        match &*self.inner {
            // The OS clock is Unix time (UTC without leap seconds); the astro crate
            // maps it onto the TAI timeline with SOFA's leap-second table.
            Inner::System => {
                let unix = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                teld_astro::time::from_unix_seconds(unix)
            }
            Inner::Simulated { anchor, anchor_real, speed } => {
                *anchor + Duration::from_seconds(anchor_real.elapsed().as_secs_f64() * speed)
            }
            Inner::Manual { now } => *now.borrow(),
        }
    }

    /// The system clock (not simulated): only its synchronisation can be checked.
    pub fn is_system(&self) -> bool {
        matches!(&*self.inner, Inner::System)
    }

    /// Simulated seconds per real second (0 for a manual clock).
    pub fn speed(&self) -> f64 {
        match &*self.inner {
            Inner::System => 1.0,
            Inner::Simulated { speed, .. } => *speed,
            Inner::Manual { .. } => 0.0,
        }
    }

    pub fn info(&self) -> ClockInfo {
        let mode = match &*self.inner {
            Inner::System => "system",
            Inner::Simulated { .. } => "simulated",
            Inner::Manual { .. } => "manual",
        };
        ClockInfo { mode, speed: self.speed() }
    }

    /// What a driver needs to follow this clock.
    pub fn sync(&self) -> ClockSync {
        ClockSync { utc: self.now(), speed: self.speed() }
    }

    /// Steps a manual clock forward; no effect on other clocks.
    pub fn advance(&self, by: Duration) {
        if let Inner::Manual { now } = &*self.inner {
            now.send_modify(|t| *t += by);
        }
    }

    /// Changes of a manual clock, for forwarding to drivers; `None` for running clocks.
    pub fn manual_changes(&self) -> Option<watch::Receiver<Epoch>> {
        match &*self.inner {
            Inner::Manual { now } => Some(now.subscribe()),
            _ => None,
        }
    }

    pub async fn sleep(&self, d: Duration) {
        self.sleep_until(self.now() + d).await
    }

    /// Sleeps until `at` on this clock. In a watched task (`crate::liveness`) it wakes
    /// every [`crate::liveness::TOUCH_EVERY`] of real time to show life: a task
    /// sleeping until dusk is waiting, not wedged.
    pub async fn sleep_until(&self, at: Epoch) {
        let max_real = if crate::liveness::watched() {
            MAX_REAL_SLEEP.min(crate::liveness::TOUCH_EVERY)
        } else {
            MAX_REAL_SLEEP
        };
        loop {
            crate::liveness::touch();
            let ahead = (at - self.now()).to_seconds();
            if ahead <= 0.0 {
                return;
            }
            match &*self.inner {
                Inner::Manual { now } => {
                    let mut rx = now.subscribe();
                    if *rx.borrow_and_update() >= at {
                        return;
                    }
                    // A timeout only means: show life and look again.
                    if let Ok(Err(_)) = tokio::time::timeout(max_real, rx.changed()).await {
                        return std::future::pending().await;
                    }
                }
                _ => {
                    let real = std::time::Duration::from_secs_f64(ahead / self.speed());
                    // +1 ms so float rounding cannot make us wake a hair early and spin.
                    let real = real.min(max_real) + std::time::Duration::from_millis(1);
                    tokio::time::sleep(real).await;
                }
            }
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.info();
        write!(
            f,
            "Clock({} ×{} at {})",
            i.mode,
            i.speed,
            teld_driver_protocol::time::format_utc(self.now())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 20, 0, 0, 0)
    }

    #[tokio::test(start_paused = true)]
    async fn simulated_clock_runs_at_its_speed() {
        let c = Clock::simulated(t0(), 600.0);
        tokio::time::advance(std::time::Duration::from_secs(2)).await;
        assert!(((c.now() - t0()).to_seconds() - 1200.0).abs() < 1e-3);
    }

    #[tokio::test(start_paused = true)]
    async fn simulated_sleep_until_wakes_on_time() {
        let c = Clock::simulated(t0(), 60.0);
        let target = t0() + Duration::from_seconds(3600.0);
        c.sleep_until(target).await;
        let late = (c.now() - target).to_seconds();
        assert!((0.0..0.2).contains(&late), "woke {late} s late");
    }

    #[tokio::test(start_paused = true)]
    async fn manual_clock_only_moves_when_advanced() {
        let c = Clock::manual(t0());
        let c2 = c.clone();
        let waiter = tokio::spawn(async move { c2.sleep(Duration::from_seconds(10.0)).await });
        tokio::time::advance(std::time::Duration::from_secs(3600)).await;
        assert!(!waiter.is_finished());
        c.advance(Duration::from_seconds(5.0));
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        c.advance(Duration::from_seconds(5.0));
        waiter.await.unwrap();
        assert_eq!(c.now(), t0() + Duration::from_seconds(10.0));
    }
}
