//! Liveness of the daemon's long-running tasks. Each runs under [`Liveness::watch`]
//! (or, the safety monitors, holds a [`Heart`] it beats every round) and shows life
//! as it goes; the watchdog (`systemd::watchdog`) pets systemd only while every task
//! has shown life within its allowance. A wedged
//! task — a lock never released, a call that never returns, a loop that stopped —
//! is reported by name, and systemd restarts teld rather than let it limp on with,
//! say, a safety monitor that no longer looks at the weather.
//!
//! Beats are real time (tokio), like every liveness timer in teld: a hung task hangs
//! in real time whatever the simulation speed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Set to a task's name (`TELD_WEDGE=safety:t1`) to make that task stop beating and
/// hang, so the whole chain (detection, report, no watchdog pet) can be tested on the
/// real binary. Read once when the task registers.
pub const WEDGE_ENV: &str = "TELD_WEDGE";

#[derive(Clone, Default)]
pub struct Liveness {
    hearts: Arc<Mutex<BTreeMap<String, Beat>>>,
}

#[derive(Debug, Clone, Copy)]
struct Beat {
    last: Instant,
    allowed: Duration,
}

/// A task that has not beaten within its allowance.
#[derive(Debug, Clone, PartialEq)]
pub struct Wedged {
    pub task: String,
    pub silent: Duration,
    pub allowed: Duration,
}

impl std::fmt::Display for Wedged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "task `{}` has not run for {:.0} s (allowed {:.0} s)",
            self.task,
            self.silent.as_secs_f64(),
            self.allowed.as_secs_f64()
        )
    }
}

impl Liveness {
    /// Registers `task`, which promises to beat at least every `allowed`.
    pub fn register(&self, task: &str, allowed: Duration) -> Heart {
        let beat = Beat { last: Instant::now(), allowed };
        self.lock().insert(task.to_string(), beat);
        let wedge = std::env::var(WEDGE_ENV).is_ok_and(|w| w == task);
        Heart { task: task.to_string(), liveness: self.clone(), wedge }
    }

    /// Every task silent for longer than it is allowed, longest silence first.
    pub fn wedged(&self) -> Vec<Wedged> {
        let now = Instant::now();
        let mut out: Vec<Wedged> = self
            .lock()
            .iter()
            .filter_map(|(task, b)| {
                let silent = now.saturating_duration_since(b.last);
                (silent > b.allowed).then(|| Wedged {
                    task: task.clone(),
                    silent,
                    allowed: b.allowed,
                })
            })
            .collect();
        out.sort_by_key(|w| std::cmp::Reverse(w.silent));
        out
    }

    pub fn tasks(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Beat>> {
        // A panic while holding this map cannot leave it inconsistent (one insert or
        // one field write), so a poisoned lock is still good.
        self.hearts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Seconds added to every watched task's longest bounded call to make its
/// allowance (default 60). Tests set it low to prove that honest work shows life
/// often; an operator may raise it on a very slow machine.
pub const MARGIN_ENV: &str = "TELD_LIVENESS_MARGIN_S";

/// The margin of [`MARGIN_ENV`]; an unreadable value is the default.
pub fn margin() -> Duration {
    std::env::var(MARGIN_ENV)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(60), Duration::from_secs_f64)
}

/// The allowance of a watched task whose longest call with a deadline of its own
/// takes `bounded`: that, one [`TOUCH_EVERY`] and the [`margin`].
pub fn allowance(bounded: Duration) -> Duration {
    bounded + TOUCH_EVERY + margin()
}

tokio::task_local! {
    /// The heart of the task being polled, when it runs under [`Liveness::watch`].
    static CURRENT: Heart;
}

/// How often (real time) a watched task touches its heart while it waits on the
/// clock: far inside every allowance, rare enough to cost nothing.
pub const TOUCH_EVERY: Duration = Duration::from_secs(5);

impl Liveness {
    /// Runs `fut` as the watched task `task`, which must show life within `allowed`:
    /// every wait on teld's clock ([`crate::clock::Clock::sleep_until`]), every poll of
    /// a device ([`crate::devices::wait`]) and every round of its loop touches the
    /// heart ([`touch`]). What is left unwatched is exactly what can wedge: an await
    /// that never completes (a lock, a call without its deadline), so `allowed` is the
    /// longest bounded call the task makes, plus a margin. The task is registered
    /// at once: one that is spawned but never polled is wedged too.
    pub fn watch<F: std::future::Future>(
        &self,
        task: &str,
        allowed: Duration,
        fut: F,
    ) -> impl std::future::Future<Output = F::Output> + use<F> {
        let heart = self.register(task, allowed);
        async move {
            if heart.wedge {
                tracing::warn!(task = %heart.task, "{WEDGE_ENV} set: this task now hangs");
                let _keep = heart;
                return std::future::pending().await;
            }
            CURRENT.scope(heart, fut).await
        }
    }
}

/// The current task shows life; nothing outside a watched task.
pub fn touch() {
    let _ = CURRENT.try_with(Heart::touch);
}

/// Whether the current task is watched (its waits then wake to [`touch`]).
pub fn watched() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

/// A real-time sleep that keeps a watched task's heart beating (a restart backoff, a
/// retry pause): waiting on purpose is not being wedged.
pub async fn sleep(d: Duration) {
    let until = Instant::now() + d;
    loop {
        touch();
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(TOUCH_EVERY)).await;
    }
}

/// A registered task's pulse. Dropping it unregisters the task (it ended on purpose).
pub struct Heart {
    task: String,
    liveness: Liveness,
    wedge: bool,
}

impl Heart {
    pub async fn beat(&self) {
        if self.wedge {
            tracing::warn!(task = %self.task, "{WEDGE_ENV} set: this task now hangs");
            std::future::pending::<()>().await;
        }
        self.touch();
    }

    fn touch(&self) {
        if let Some(b) = self.liveness.lock().get_mut(&self.task) {
            b.last = Instant::now();
        }
    }
}

impl Drop for Heart {
    fn drop(&mut self) {
        self.liveness.lock().remove(&self.task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_stops_beating_is_named_and_one_that_ends_is_forgotten() {
        let l = Liveness::default();
        let fast = l.register("safety:t1", Duration::from_secs(10));
        let slow = l.register("telemetry", Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(8)).await;
        fast.beat().await;
        assert!(l.wedged().is_empty());
        tokio::time::advance(Duration::from_secs(11)).await;
        let w = l.wedged();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].task, "safety:t1");
        assert_eq!(w[0].to_string(), "task `safety:t1` has not run for 11 s (allowed 10 s)");
        drop(fast);
        assert!(l.wedged().is_empty(), "an ended task is not a wedged one");
        assert_eq!(l.tasks(), ["telemetry"]);
        drop(slow);
    }

    #[tokio::test(start_paused = true)]
    async fn a_watched_task_lives_while_it_waits_on_purpose_and_is_wedged_when_stuck() {
        let l = Liveness::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(l.watch("executor:t1", Duration::from_secs(20), async move {
            // Waiting on purpose: a minute of backoff, touching as it goes.
            sleep(Duration::from_secs(60)).await;
            // Stuck: a call that never answers and is not a wait on the clock.
            let _ = rx.await;
        }));
        for _ in 0..6 {
            tokio::time::advance(Duration::from_secs(10)).await;
            tokio::task::yield_now().await;
            assert!(l.wedged().is_empty(), "alive while sleeping on purpose");
        }
        tokio::time::advance(Duration::from_secs(25)).await;
        let w = l.wedged();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].task, "executor:t1");
        drop(tx);
        task.await.unwrap();
        assert!(l.tasks().is_empty(), "an ended task unregisters");
        assert!(!watched(), "not watched outside the scope");
        touch(); // harmless outside a watched task
    }
}
