//! Driver updates and a busy telescope, through the real daemon: a build that arrives
//! while the telescope observes waits (and says why) until the operator stops and
//! parks it (case 42); a second build that arrives during a trial is staged only after
//! the first one's outcome (case 43); the update metrics follow. Helpers as in
//! `update_daemon.rs`: builds are signed wrapper scripts around the real simulator.

mod common;

mod update {
    use std::time::Duration;

    use serde_json::Value;

    use super::common::daemon::Teld;
    use super::common::http;
    use super::common::update::{Repo, WAIT, git_sha, installed, sim, site, wait_running};

    /// Dusk at the default site (La Palma): the scheduler observes what is submitted.
    const NIGHT: &str = "2026-11-24T19:30:00";
    /// Daytime: nothing observes, the mount stays parked.
    const DAY: &str = "2026-11-24T13:00:00";

    fn version_of(v: &Value) -> Option<&str> {
        v["version"].as_str()
    }

    fn act(t: &Teld, action: &str, query: &str) -> Value {
        let path = format!("/api/v1/telescopes/t1/actions/{action}{query}");
        let r = http::post_json(t.addr, &path, "");
        assert_eq!(r.status, 200, "{action}: {}", r.text());
        r.json()
    }

    fn metrics(t: &Teld) -> String {
        let r = http::get(t.addr, "/metrics");
        assert_eq!(r.status, 200, "/metrics: {}", r.text());
        r.text()
    }

    /// The value of the one sample `series` (name and labels exactly as rendered).
    fn sample(text: &str, series: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.strip_prefix(series).is_some_and(|rest| rest.starts_with(' ')))
            .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"));
        line[series.len()..].trim().parse().unwrap()
    }

    #[test]
    fn case_42_busy_driver_update_waits_until_idle() {
        let repo = Repo::new();
        let site = site(&repo, "update-busy", 2);
        let t = Teld::start(&site, NIGHT, 60.0);
        let shipped = env!("CARGO_PKG_VERSION");
        wait_running(&t, shipped, None);
        let m = metrics(&t);
        assert_eq!(
            sample(
                &m,
                &format!("teld_update_installed_info{{kind=\"sim\",version=\"{shipped}\"}}")
            ),
            1.0
        );
        assert_eq!(sample(&m, "teld_update_waiting{kind=\"sim\"}"), 0.0);

        // A long request: the telescope observes, as its devices report.
        let id = t.submit(
            r#"{"name": "long", "target": {"name": "C4X9Z2", "ra_deg": 22.5, "dec_deg": 20.1},
                "exposure_s": 60, "count": 100, "priority": 80}"#,
        );
        t.wait_for("an exposure of the request", WAIT, |t| {
            let v = t.get("/api/v1/telescopes/t1");
            (v["block"]["request_id"] == id && v["camera"]["camera_state"] == "exposing")
                .then_some(())
        });

        repo.publish_good("0.2.0");
        let d = t.wait_for("0.2.0 to wait for the observing telescope", WAIT, |t| {
            let d = sim(t);
            (version_of(&d["update"]["available"]) == Some("0.2.0")
                && d["update"]["waiting"].as_str().is_some_and(|w| w.contains("observing")))
            .then_some(d)
        });
        assert_eq!(d["version"], shipped, "swapped under a running block: {d}");
        assert_eq!(installed(&d), None, "{d}");
        assert!(d["update"]["trial"].is_null(), "a trial on a busy telescope: {d}");
        let w = d["update"]["waiting"].as_str().unwrap();
        assert!(w.contains("telescope t1 is observing (C4X9Z2"), "{w}");
        let m = metrics(&t);
        assert_eq!(sample(&m, "teld_update_waiting{kind=\"sim\"}"), 1.0);
        assert!(sample(&m, "teld_update_checks_total{result=\"ok\"}") >= 1.0);
        // Later checks keep it waiting while the block runs; the driver stays put.
        let checks = sample(&m, "teld_update_checks_total{result=\"ok\"}");
        let d = t.wait_for("another check while observing", WAIT, |t| {
            let later = sample(&metrics(t), "teld_update_checks_total{result=\"ok\"}");
            (later > checks).then(|| sim(t))
        });
        assert_eq!((d["version"].as_str(), installed(&d)), (Some(shipped), None), "{d}");
        assert!(d["update"]["waiting"].as_str().is_some_and(|w| w.contains("observing")), "{d}");

        // The operator stops the block: still not idle, the mount is off its park.
        let stop = act(&t, "stop", "?wait_s=30");
        assert_eq!(stop["done"], true, "{stop}");
        let d = t.wait_for("0.2.0 to wait for the unparked mount", WAIT, |t| {
            let d = sim(t);
            d["update"]["waiting"].as_str().is_some_and(|w| w.contains("not parked")).then_some(d)
        });
        assert_eq!((d["version"].as_str(), installed(&d)), (Some(shipped), None), "{d}");

        // Parked, as the mount reports: idle, so 0.2.0 installs and commits.
        let park = act(&t, "park", "?wait_s=60");
        assert_eq!(park["state"]["mount"]["at_park"], true, "{park}");
        let d = wait_running(&t, "0.2.0", Some("0.2.0"));
        assert!(d["update"]["waiting"].is_null(), "{d}");
        assert_eq!(d["update"]["installed"]["git_sha"], git_sha("0.2.0"));

        let m = metrics(&t);
        assert_eq!(sample(&m, "teld_update_installed_info{kind=\"sim\",version=\"0.2.0\"}"), 1.0);
        assert!(!m.contains(&format!(
            "teld_update_installed_info{{kind=\"sim\",version=\"{shipped}\"}}"
        )));
        assert_eq!(sample(&m, "teld_update_trials_total{kind=\"sim\",outcome=\"committed\"}"), 1.0);
        assert_eq!(
            sample(&m, "teld_update_trials_total{kind=\"sim\",outcome=\"rolled_back\"}"),
            0.0
        );
        assert_eq!(sample(&m, "teld_update_trials_total{kind=\"sim\",outcome=\"halted\"}"), 0.0);
        assert_eq!(sample(&m, "teld_update_waiting{kind=\"sim\"}"), 0.0);
        assert_eq!(sample(&m, "teld_update_checks_total{result=\"error\"}"), 0.0);
        // Nothing was lost: the stopped request waits in the queue, uncharged.
        assert_eq!(t.request_state(id), "queued");
    }

    /// (trial version, installed version) as the API shows them.
    fn phase(d: &Value) -> (Option<String>, Option<String>) {
        let trial = version_of(&d["update"]["trial"]["build"]).map(str::to_string);
        (trial, installed(d))
    }

    #[test]
    fn case_43_second_update_during_a_trial_waits_for_the_outcome() {
        let repo = Repo::new();
        // A long probation: the second build and the request land inside the trial.
        let site = site(&repo, "update-queue", 10);
        let t = Teld::start(&site, DAY, 1.0);
        wait_running(&t, env!("CARGO_PKG_VERSION"), None);

        repo.publish_good("0.2.0");
        t.wait_for("0.2.0 on trial", WAIT, |t| {
            (phase(&sim(t)).0.as_deref() == Some("0.2.0")).then_some(())
        });
        repo.publish_good("0.3.0");
        let during = phase(&sim(&t));
        assert_eq!(
            during,
            (Some("0.2.0".into()), None),
            "0.2.0's trial ended before 0.3.0 was published; the probation is too short for this machine"
        );
        // The operator asks for an update now; the answer comes once the service takes
        // the request, which is after 0.2.0's trial has an outcome.
        let addr = t.addr;
        let asked = std::thread::spawn(move || {
            let r = http::post_json(addr, "/api/v1/drivers/sim/update", "{}");
            let after = http::get(addr, "/api/v1/drivers").json();
            (r.status, r.json(), after)
        });

        // Every distinct state on the way: 0.3.0 is tried only on top of a committed
        // 0.2.0, and never while 0.2.0's trial runs.
        let mut seen = vec![during];
        let d = t.wait_for("0.3.0 committed", Duration::from_secs(120), |t| {
            let d = sim(t);
            let p = phase(&d);
            if seen.last() != Some(&p) {
                seen.push(p.clone());
            }
            (p == (None, Some("0.3.0".into())) && d["status"] == "up").then_some(d)
        });
        for (trial, inst) in &seen {
            if trial.as_deref() == Some("0.3.0") {
                assert_eq!(
                    inst.as_deref(),
                    Some("0.2.0"),
                    "0.3.0 tried before 0.2.0 committed: {seen:?}"
                );
            }
        }
        assert!(seen.iter().all(|p| p.1.as_deref() != Some("0.3.0") || p.0.is_none()), "{seen:?}");
        assert_eq!(d["version"], "0.3.0");
        assert_eq!(version_of(&d["update"]["previous"]), Some("0.2.0"), "{d}");
        assert!(d["update"]["bad"].as_array().unwrap().is_empty(), "{d}");

        let (status, answer, after) = asked.join().unwrap();
        assert_eq!(status, 202, "{answer}");
        let s = after.as_array().unwrap().iter().find(|d| d["name"] == "sim").unwrap().clone();
        assert_ne!(
            phase(&s).0.as_deref(),
            Some("0.2.0"),
            "the request was taken during 0.2.0's trial: {s}"
        );
        assert!(installed(&s).is_some(), "answered before 0.2.0's outcome: {s}");

        let m = metrics(&t);
        assert_eq!(sample(&m, "teld_update_trials_total{kind=\"sim\",outcome=\"committed\"}"), 2.0);
        assert_eq!(sample(&m, "teld_update_installed_info{kind=\"sim\",version=\"0.3.0\"}"), 1.0);
    }
}
