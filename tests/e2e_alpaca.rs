//! Nights where every device is an ASCOM Alpaca simulator (PyPI `alpaca-simulators`,
//! a real HTTP server), run by the real teld and its real Alpaca driver process, from
//! `config/examples/alpaca-sim.toml`. The simulators run on the real clock, so teld
//! runs at speed 1 from a simulated night-time start.

mod common;

#[path = "../drivers/alpaca/tests/support/simulator.rs"]
mod alpaca_sim;

use std::time::Duration;

use alpaca_sim::AlpacaSim;
use common::daemon::{Teld, TestSite, history, process_alive, signal};
use common::peers;

const NIGHT: &str = "2026-11-24T22:00:00";

fn simulators() -> Option<AlpacaSim> {
    peers::require(AlpacaSim::start(), "alpaca-simulators", "teld on ASCOM Alpaca devices")
}

fn site(name: &str, sim: &AlpacaSim, extra_replace: &[(&str, &str)]) -> TestSite {
    let example =
        include_str!("../config/examples/alpaca-sim.toml").replace("127.0.0.1:11111", &sim.addr);
    let mut replace = vec![("timeout_s = 5.0", "timeout_s = 2.0")];
    replace.extend_from_slice(extra_replace);
    TestSite::from_config(name, &example, &replace, "")
}

fn request(name: &str, ra: f64, dec: f64, exposure: f64, count: u32) -> String {
    format!(
        r#"{{"name": "{name}", "target": {{"name": "{name}", "ra_deg": {ra}, "dec_deg": {dec}}},
            "exposure_s": {exposure}, "count": {count}, "priority": 50}}"#
    )
}

fn with_filter(request: &str, filter: &str) -> String {
    request.replacen('{', &format!(r#"{{"filter": "{filter}", "#), 1)
}

fn header<T: fitsio::headers::ReadsKey>(path: &std::path::Path, key: &str) -> T {
    let mut f = fitsio::FitsFile::open(path).unwrap();
    let hdu = f.primary_hdu().unwrap();
    hdu.read_key(&mut f, key).unwrap_or_else(|e| panic!("{key} in {}: {e}", path.display()))
}

/// Local maxima well above the median of a frame: stars.
fn stars_in(path: &std::path::Path) -> (usize, f64) {
    let mut f = fitsio::FitsFile::open(path).unwrap();
    let hdu = f.primary_hdu().unwrap();
    let width = match &hdu.info {
        fitsio::hdu::HduInfo::ImageInfo { shape, .. } => shape[1],
        other => panic!("not an image: {other:?}"),
    };
    let px: Vec<i32> = hdu.read_image(&mut f).unwrap();
    let mut sorted = px.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let height = px.len() / width;
    let mut n = 0;
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let v = px[y * width + x];
            let peak = v > median + 200
                && [(-1i64, -1i64), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)]
                    .iter()
                    .all(|(dx, dy)| {
                        px[(y as i64 + dy) as usize * width + (x as i64 + dx) as usize] < v
                    });
            n += peak as usize;
        }
    }
    (n, median as f64)
}

#[test]
fn a_night_on_the_alpaca_simulators_archives_their_star_field() {
    let Some(sim) = simulators() else { return };
    let site = site("alpaca-night", &sim, &[]);
    let teld = Teld::start(&site, NIGHT, 1.0);
    let a = teld.submit(&with_filter(&request("field-45-30", 45.0, 30.0, 1.0, 2), "Red"));
    let b = teld.submit(&with_filter(&request("field-60-25", 60.0, 25.0, 1.0, 1), "Blue"));
    let ra = teld.wait_state(a, "completed", Duration::from_secs(120));
    let rb = teld.wait_state(b, "completed", Duration::from_secs(120));
    assert_eq!(ra["frames"].as_array().unwrap().len(), 2, "{ra}");
    for r in [&ra, &rb] {
        for f in r["frames"].as_array().unwrap() {
            let path = site.archive().join(f["path"].as_str().unwrap());
            let (stars, median) = stars_in(&path);
            assert!(
                stars >= 10,
                "{}: {stars} stars; the simulator's star field is missing",
                path.display()
            );
            assert!((290.0..400.0).contains(&median), "sky near the simulator's bias: {median}");
        }
    }
    // Each frame says the filter the wheel reported and the focus the focuser reported:
    // best focus 10000 plus the simulator wheel's offset (Red -100, Blue +50).
    for (r, filter, focus) in [(&ra, "Red", 9_900), (&rb, "Blue", 10_050)] {
        let path = site.archive().join(r["frames"][0]["path"].as_str().unwrap());
        assert_eq!(header::<String>(&path, "FILTER"), filter);
        assert_eq!(header::<i64>(&path, "FOCUSPOS"), focus);
    }
    // The planner chooses the order; the devices are left as the last block set them.
    let started =
        |r: &serde_json::Value| r["observations"][0]["started_at"].as_str().unwrap().to_string();
    let (last_ra_h, last_focus) =
        if started(&ra) > started(&rb) { (3.0, 9_900) } else { (4.0, 10_050) };
    assert_eq!(sim.get("focuser/0/position"), last_focus, "focus of the last filter used");
    // The mount went where teld sent it (the simulator's own report), tracking.
    let st = teld.get("/api/v1/status");
    let mount = &st["telescopes"]["t1"]["mount"];
    assert!((mount["right_ascension"].as_f64().unwrap() - last_ra_h).abs() < 1e-3, "{mount}");
    assert_eq!(sim.get("telescope/0/tracking"), true);
    assert_eq!(st["drivers"]["alpaca"]["restarts"], 0, "{st}");
}

#[test]
fn unsafe_monitor_and_rain_on_alpaca_park_and_close_then_observing_resumes() {
    let Some(sim) = simulators() else { return };
    let site =
        site("alpaca-unsafe", &sim, &[("reopen_after_safe_s = 60.0", "reopen_after_safe_s = 3.0")]);
    let teld = Teld::start(&site, NIGHT, 1.0);
    // Enough frames that each fault lands with most of the block still to go: a
    // resumed block takes only the missing frames, and a fault during its last
    // exposure would (rightly) let it complete instead of interrupting it.
    let a = teld.submit(&request("field-45-30", 45.0, 30.0, 1.0, 30));
    for (fault, clear, reason) in [
        ("safetymonitor/0/issafe", ("IsSafe=false", "IsSafe=true"), "unsafe"),
        ("observingconditions/0/rainrate", ("RainRate=5", "RainRate=0"), "rain"),
    ] {
        teld.wait_for("an exposure under an open dome", Duration::from_secs(60), |t| {
            let s = t.get("/api/v1/status");
            let tel = &s["telescopes"]["t1"];
            let block = &tel["block"];
            let left = block["frames_total"].as_i64().unwrap_or(0)
                - block["frames_done"].as_i64().unwrap_or(i64::MAX / 2);
            (tel["camera"]["camera_state"] == "exposing"
                && tel["dome"]["shutter_status"] == "open"
                && left > 5)
                .then_some(())
        });
        sim.put(fault, clear.0);
        teld.wait_for("the site to turn unsafe", Duration::from_secs(30), |t| {
            let safety = &t.get("/api/v1/status")["telescopes"]["t1"]["safety"];
            (safety["safe"] == false && safety["reason"].as_str().unwrap_or("").contains(reason))
                .then_some(())
        });
        // Closed and parked, as the devices themselves say.
        teld.wait_for("dome closed and mount parked", Duration::from_secs(30), |_| {
            (sim.get("dome/0/shutterstatus") == 1 && sim.get("telescope/0/atpark") == true)
                .then_some(())
        });
        sim.put(fault, clear.1);
    }
    let r = teld.wait_state(a, "completed", Duration::from_secs(180));
    let h = history(&r);
    assert!(
        h.iter().filter(|(s, d)| s == "queued" && d.contains("site unsafe")).count() >= 2,
        "interrupted twice and requeued: {h:?}"
    );
    assert_eq!(r["attempts"], 0, "weather is not a failed attempt: {r}");
    assert_eq!(r["frames"].as_array().unwrap().len(), 30);
}

#[test]
fn a_frozen_alpaca_server_is_a_fault_then_the_site_is_made_safe_and_work_resumes() {
    let Some(mut sim) = simulators() else { return };
    let site =
        site("alpaca-frozen", &sim, &[("reopen_after_safe_s = 60.0", "reopen_after_safe_s = 3.0")]);
    let teld = Teld::start(&site, NIGHT, 1.0);
    let a = teld.submit(&request("field-45-30", 45.0, 30.0, 1.0, 3));
    teld.wait_for("a slew in progress", Duration::from_secs(60), |t| {
        (t.get("/api/v1/status")["telescopes"]["t1"]["mount"]["slewing"] == true).then_some(())
    });
    sim.freeze();
    // The weather cannot be read: unknown is unsafe.
    teld.wait_for("the site unsafe for want of weather", Duration::from_secs(30), |t| {
        let safety = &t.get("/api/v1/status")["telescopes"]["t1"]["safety"];
        (safety["safe"] == false).then(|| safety["reason"].to_string())
    });
    // Held frozen until the daemon has seen a device call time out (the fault, not
    // only the unsafe verdict), then thawed.
    teld.wait_for("a device call timed out", Duration::from_secs(30), |t| {
        let log = t.log_text();
        (log.contains("did not answer") && log.contains("hung")).then_some(())
    });
    // The device is marked faulted in the status, with why.
    let faulted = teld.wait_for("a device marked faulted", Duration::from_secs(30), |t| {
        let f = t.get("/api/v1/status")["drivers"]["alpaca"]["faulted"].clone();
        f.as_object().is_some_and(|m| !m.is_empty()).then_some(f)
    });
    assert!(faulted.to_string().contains("did not answer"), "{faulted}");
    sim.thaw();
    let r = teld.wait_state(a, "completed", Duration::from_secs(180));
    let h = history(&r);
    assert!(
        h.iter().any(|(s, _)| s == "queued"),
        "the interrupted block went back to the queue: {h:?}"
    );
    assert_eq!(r["frames"].as_array().unwrap().len(), 3);
    let status = teld.get("/api/v1/status");
    assert_eq!(status["drivers"]["alpaca"]["status"], "up");
    assert!(status["drivers"]["alpaca"].get("faulted").is_none(), "fault cleared: {status}");
}

#[test]
fn the_alpaca_driver_killed_mid_exposure_is_restarted_reconnects_and_the_block_is_retried() {
    let Some(sim) = simulators() else { return };
    let site =
        site("alpaca-crash", &sim, &[("reopen_after_safe_s = 60.0", "reopen_after_safe_s = 3.0")]);
    let teld = Teld::start(&site, NIGHT, 1.0);
    let a = teld.submit(&with_filter(&request("field-45-30", 45.0, 30.0, 2.0, 3), "Green"));
    let old_pid = teld.wait_for("an exposure in progress", Duration::from_secs(60), |t| {
        let s = t.get("/api/v1/status");
        let tel = &s["telescopes"]["t1"];
        (tel["camera"]["camera_state"] == "exposing" && tel["block"]["request_id"] == a)
            .then(|| s["drivers"]["alpaca"]["pid"].as_u64().unwrap() as u32)
    });
    signal(old_pid, "KILL");
    let new_pid = teld.wait_for("the driver restarted", Duration::from_secs(30), |t| {
        t.driver_pid("alpaca").filter(|p| *p != old_pid)
    });
    assert!(!process_alive(old_pid));
    // The new process connected to the devices afresh: they answer through it.
    teld.wait_for("the devices read through the new driver", Duration::from_secs(30), |t| {
        let s = t.get("/api/v1/status");
        (s["drivers"]["alpaca"]["status"] == "up" && s["drivers"]["alpaca"]["pid"] == new_pid)
            .then_some(())
    });
    let r = teld.wait_state(a, "completed", Duration::from_secs(180));
    let outcomes: Vec<&str> = r["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.first(), Some(&"failed"), "the killed attempt is recorded: {r}");
    assert_eq!(outcomes.last(), Some(&"completed"), "{r}");
    let why = r["observations"][0]["detail"].as_str().unwrap();
    assert!(why.contains("driver `alpaca`"), "the failure names the driver: {why}");
    assert_eq!(r["frames"].as_array().unwrap().len(), 3, "{r}");
    let last = site.archive().join(r["frames"][2]["path"].as_str().unwrap());
    assert_eq!(header::<String>(&last, "FILTER"), "Green");
    assert!(teld.get("/api/v1/status")["drivers"]["alpaca"]["restarts"].as_u64().unwrap() >= 1);
}
