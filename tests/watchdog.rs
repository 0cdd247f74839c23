//! The systemd watchdog protocol, spoken by the real binary to a real notify socket
//! (what systemd listens on): teld pets while every task shows life, and a wedged
//! task (hung on purpose with `TELD_WEDGE`) is named and the pets stop, so systemd
//! would restart it. With the margin of every allowance cut to 1 s, a night of real
//! work (slews, exposures, frames written and assessed) never looks wedged: every
//! watched task shows life as it goes, not only when idle.

mod common;

use std::os::unix::net::UnixDatagram;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::daemon::{Teld, TestSite};

/// A notify socket, as systemd binds it, and what arrives on it.
struct Notify {
    _dir: tempfile::TempDir,
    path: String,
    rx: mpsc::Receiver<(Instant, String)>,
}

impl Notify {
    fn bind() -> Notify {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                if tx.send((Instant::now(), text)).is_err() {
                    return;
                }
            }
        });
        Notify { path: path.to_str().unwrap().to_string(), _dir: dir, rx }
    }

    /// teld under a 1 s systemd watchdog, with `extra` environment.
    fn start(&self, site: &TestSite, speed: f64, extra: &[(&str, &str)]) -> Teld {
        let mut env = vec![("NOTIFY_SOCKET", self.path.as_str()), ("WATCHDOG_USEC", "1000000")];
        env.extend_from_slice(extra);
        Teld::start_with_env(site, "2026-11-24T19:30:00", speed, &env)
    }

    fn received(&self) -> Vec<(Instant, String)> {
        self.rx.try_iter().collect()
    }

    /// Asserts that no pet arrives for `quiet` (several watchdog periods).
    fn assert_no_pet_for(&self, quiet: Duration) {
        let until = Instant::now() + quiet;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok((_, m)) => assert!(!m.contains("WATCHDOG=1"), "petted while wedged: {m}"),
                Err(_) => break,
            }
        }
    }
}

fn pets(got: &[(Instant, String)]) -> Vec<Instant> {
    got.iter().filter(|(_, m)| m.contains("WATCHDOG=1")).map(|(t, _)| *t).collect()
}

#[test]
fn a_wedged_safety_monitor_is_named_and_the_watchdog_is_no_longer_petted() {
    let notify = Notify::bind();
    // The monitor's allowance is 30 s real.
    let site = TestSite::new("wedge", &[], "");
    let teld = notify.start(&site, 600.0, &[("TELD_WEDGE", "safety:t1")]);
    let report = teld.wait_log("task `safety:t1` has not run", Duration::from_secs(60));
    assert!(report.contains("not petting the watchdog, so systemd restarts it"), "{report}");
    let got = notify.received();
    assert!(got.iter().any(|(_, m)| m.contains("READY=1")), "{got:?}");
    let pets_before = pets(&got).len();
    assert!(pets_before >= 10, "petted every 0.5 s while healthy: {pets_before}");
    // Four watchdog periods without a pet: systemd (WatchdogSec=1) would have acted.
    notify.assert_no_pet_for(Duration::from_secs(2));
    // The wedged task, not some other, is what teld blames.
    let log = teld.log_text();
    assert!(!log.contains("task `telemetry`"), "{log}");
}

#[test]
fn every_task_is_watched_and_a_night_of_work_never_looks_wedged() {
    let notify = Notify::bind();
    let site = TestSite::new("watch-all", &[], "");
    let teld = notify.start(&site, 60.0, &[("TELD_LIVENESS_MARGIN_S", "1")]);
    let line = teld.wait_log("watching the liveness of tasks", Duration::from_secs(30));
    for task in ["safety:t1", "executor:t1", "guard:t1", "driver:sim", "pipeline"] {
        assert!(line.contains(task), "{task} is not watched: {line}");
    }
    // Slews, twelve 30 s exposures, frames written, assessed and handed off.
    let id = teld.submit(
        r#"{"name": "W", "target": {"name": "W", "ra_deg": 10.0, "dec_deg": 30.0},
            "exposure_s": 30.0, "count": 12, "priority": 80}"#,
    );
    let r = teld.wait_state(id, "completed", Duration::from_secs(240));
    assert_eq!(r["frames"].as_array().unwrap().len(), 12, "{r}");
    let log = teld.log_text();
    assert!(!log.contains("has not run for"), "a task looked wedged during honest work:\n{log}");
    let p = pets(&notify.received());
    let gaps = p.windows(2).map(|w| w[1] - w[0]);
    let longest = gaps.max().unwrap_or_default();
    assert!(p.len() >= 20, "petted all along: {} pets", p.len());
    assert!(longest < Duration::from_millis(1500), "a pet was missed: gap of {longest:?}");
}

#[test]
fn a_wedged_executor_is_named_within_its_allowance() {
    let notify = Notify::bind();
    let site = TestSite::new("wedge-exec", &[], "");
    // Allowance: the driver's 10 s request timeout, 5 s of touch period, 1 s margin.
    let env = [("TELD_WEDGE", "executor:t1"), ("TELD_LIVENESS_MARGIN_S", "1")];
    let teld = notify.start(&site, 60.0, &env);
    let report = teld.wait_log("task `executor:t1` has not run", Duration::from_secs(60));
    assert!(report.contains("allowed 16 s"), "{report}");
    let before = pets(&notify.received()).len();
    assert!(before >= 10, "petted while the executor was within its allowance: {before}");
    notify.assert_no_pet_for(Duration::from_secs(2));
    let log = teld.log_text();
    for other in ["safety:t1", "guard:t1", "driver:sim", "pipeline"] {
        assert!(!log.contains(&format!("task `{other}`")), "{other} blamed:\n{log}");
    }
}
