//! Signed driver updates through the real daemon: `teld artefact` publishes driver
//! builds to a folder repository, the running `teld` (simulated observatory) finds,
//! verifies, installs, health-checks, commits or rolls back, and `teld driver` steers
//! it. Builds are tiny signed wrapper scripts around the real `teld-driver-sim`
//! (`--report-version`), so "a new version" costs no compile — and what runs is still
//! exactly the signed bytes.

mod common;

mod update {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Duration;

    use serde_json::Value;

    use super::common::daemon::{Teld, process_alive, signal, teld_bin};
    use super::common::update::{Repo, WAIT, git_sha, installed, sim, site, wait_running};

    /// Daytime at the default site (La Palma): nothing observes, the mount stays parked.
    const DAY: &str = "2026-11-24T13:00:00";

    fn bad(d: &Value) -> Vec<String> {
        d["update"]["bad"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["version"].as_str().unwrap().to_string())
            .collect()
    }

    fn cli(t: &Teld, args: &[&str]) -> String {
        let out = Command::new(teld_bin())
            .args(["driver", "--url", &format!("http://{}", t.addr)])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "teld driver {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The slot on disk agrees with the journal: `current` names the installed build's
    /// folder (or is absent for the shipped driver), and nothing is left in staging.
    fn assert_slot_consistent(state_dir: &Path, installed: Option<&str>) {
        let slot = state_dir.join("drivers/sim");
        let staging: Vec<PathBuf> = std::fs::read_dir(slot.join("staging"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(staging.is_empty(), "staging leftovers: {staging:?}");
        let current = std::fs::read_link(slot.join("current")).ok();
        match installed {
            None => assert!(current.is_none(), "current should be absent, is {current:?}"),
            Some(v) => {
                let target = current.expect("current link").display().to_string();
                assert!(target.contains(&format!("{v}-")), "current -> {target}, want {v}");
            }
        }
    }

    #[test]
    fn publish_install_reject_broken_and_operator_rollback() {
        let repo = Repo::new();
        let site = site(&repo, "update-e2e", 2);
        let t = Teld::start(&site, DAY, 1.0);
        let shipped = wait_running(&t, env!("CARGO_PKG_VERSION"), None);
        assert!(shipped["update"]["available"].is_null());

        // A good build: found, verified, swapped in, health-checked, committed.
        repo.publish_good("0.2.0");
        let d = wait_running(&t, "0.2.0", Some("0.2.0"));
        assert_eq!(d["update"]["installed"]["git_sha"], git_sha("0.2.0"));
        assert!(d["update"]["previous"].is_null());
        assert_slot_consistent(&site.state_dir(), Some("0.2.0"));
        let listed = cli(&t, &["list"]);
        assert!(listed.contains("installed 0.2.0"), "{listed}");

        // A broken build (exits at once): rolled back, marked bad, never retried.
        repo.publish("0.3.0", "#!/bin/sh\necho 'broken build' >&2\nexit 3\n");
        let d = t.wait_for("0.3.0 marked bad", WAIT, |t| {
            let d = sim(t);
            bad(&d).contains(&"0.3.0".to_string()).then_some(d)
        });
        assert_eq!(installed(&d).as_deref(), Some("0.2.0"));
        wait_running(&t, "0.2.0", Some("0.2.0"));
        assert!(t.log_text().contains("0.3.0 is marked bad"), "no alert logged");
        // Later checks leave it alone: a poll finds nothing to do, 0.2.0 keeps running.
        let d = t.wait_for("a later check to find nothing to do", WAIT, |t| {
            let d = sim(t);
            (d["update"]["last_result"] == "up to date").then_some(d)
        });
        assert_eq!(d["version"], "0.2.0");
        assert!(d["update"]["available"].is_null());

        // The operator goes back to the shipped driver; 0.2.0 is marked bad.
        let said = cli(&t, &["rollback", "sim"]);
        assert!(said.contains("rolled back from 0.2.0 to the shipped driver"), "{said}");
        let d = wait_running(&t, env!("CARGO_PKG_VERSION"), None);
        assert!(bad(&d).contains(&"0.2.0".to_string()));
        assert_slot_consistent(&site.state_dir(), None);
    }

    /// `kill -9` of the daemon at every step of an install (cases 30–34, 36 through
    /// the real daemon): after a restart the journal decides — before the trial is
    /// journaled the build installs again cleanly; from the journal on, an interrupted
    /// trial counts as failed; after the commit is journaled the build stays.
    #[test]
    fn case_30_to_34_kill_9_the_daemon_at_every_step_then_restart() {
        let repo = Repo::new();
        let site = site(&repo, "update-kill", 2);
        let mut committed: Option<String> = None;
        for (i, step) in teld::update::failpoint::STEPS.iter().enumerate() {
            let version = format!("0.{}.0", i + 2);
            repo.publish_good(&version);
            let t = Teld::start_with_env(&site, DAY, 1.0, &[(teld::update::failpoint::ENV, step)]);
            t.wait_log(&format!("update failpoint {step}"), WAIT);
            let pid = t.pid();
            wait_stopped(pid);
            let driver = t.driver_pid_now();
            t.kill9();
            assert!(!process_alive(pid));
            // The orphaned driver sees its pipe close and exits on its own.
            if let Some(p) = driver {
                wait_gone(p);
            }

            let t = Teld::start(&site, DAY, 1.0);
            let journaled = ["trial.journaled", "trial.switched", "trial.health"].contains(step);
            if journaled {
                // Rolled back at start-up, marked bad, the previous build runs again.
                let running = committed.clone().unwrap_or_else(|| env!("CARGO_PKG_VERSION").into());
                let d = wait_running(&t, &running, committed.as_deref());
                assert!(bad(&d).contains(&version), "{step}: {version} not marked bad: {d}");
                assert!(t.log_text().contains("interrupted trial counts as failed"), "{step}");
            } else {
                // Before the journal: nothing happened, the next check installs it.
                // After the commit was journaled: it is installed already.
                wait_running(&t, &version, Some(&version));
                committed = Some(version.clone());
            }
            assert_slot_consistent(&site.state_dir(), committed.as_deref());
            t.terminate();
        }
    }

    fn proc_state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 2..].chars().next()
    }

    fn wait_stopped(pid: u32) {
        poll(|| proc_state(pid) == Some('T'), &format!("teld {pid} to stop at the failpoint"));
    }

    fn wait_gone(pid: u32) {
        poll(
            || !process_alive(pid) || proc_state(pid) == Some('Z'),
            &format!("orphaned driver {pid} to exit"),
        );
        if process_alive(pid) && proc_state(pid) != Some('Z') {
            signal(pid, "KILL");
        }
    }

    /// Deadline poll of another process's state (no event to wait on across processes).
    fn poll(mut ok: impl FnMut() -> bool, what: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        while !ok() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    trait DriverPid {
        fn driver_pid_now(&self) -> Option<u32>;
    }

    /// The sim driver's pid from `/proc` (teld is stopped, so its API cannot answer).
    impl DriverPid for Teld {
        fn driver_pid_now(&self) -> Option<u32> {
            let me = self.pid().to_string();
            std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
                let after = &stat[stat.rfind(')')? + 2..];
                let ppid = after.split_whitespace().nth(1)?;
                (ppid == me).then_some(pid)
            })
        }
    }
}
