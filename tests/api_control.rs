//! Operator actions on the real daemon and simulator driver: stop takes a running
//! block off the telescope without charging the request, park answers what the
//! mount itself reports, open goes through the interlocks, the mode survives a
//! restart, and one operator cannot take a telescope another holds.

mod common;

use std::time::Duration;

use common::daemon::{Teld, TestSite, history};
use common::http;
use serde_json::Value;

fn request(name: &str, exposure: f64, count: u32) -> String {
    format!(
        r#"{{"name": "{name}", "target": {{"name": "{name}", "ra_deg": 22.5, "dec_deg": 20.1}},
            "exposure_s": {exposure}, "count": {count}, "priority": 80}}"#
    )
}

fn act(teld: &Teld, action: &str, query: &str) -> (u16, Value) {
    let path = format!("/api/v1/telescopes/t1/actions/{action}{query}");
    let r = http::post_json(teld.addr, &path, "");
    (r.status, r.json())
}

fn control(teld: &Teld) -> Value {
    teld.get("/api/v1/telescopes/t1")["control"].clone()
}

#[test]
fn stop_requeues_the_block_without_an_attempt_park_is_idempotent_and_resume_observes_again() {
    let site = TestSite::new("ctl-stop", &[], "");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let id = teld.submit(&request("A", 60.0, 10));
    teld.wait_for("an exposure of the request", Duration::from_secs(90), |t| {
        let v = t.get("/api/v1/telescopes/t1");
        (v["block"]["request_id"] == id && v["camera"]["camera_state"] == "exposing").then_some(())
    });

    let (status, stop) = act(&teld, "stop", "?wait_s=30");
    assert_eq!(status, 200, "{stop}");
    assert_eq!(stop["control"]["mode"], "paused", "{stop}");
    assert_eq!(stop["done"], true, "stopped within 30 s: {stop}");
    assert_ne!(stop["state"]["camera"]["camera_state"], "exposing", "read from the camera: {stop}");
    assert_eq!(stop["state"]["mount"]["slewing"], false, "{stop}");

    let r = teld.wait_state(id, "queued", Duration::from_secs(30));
    assert_eq!(r["attempts"], 0, "an operator's stop is not the request's fault: {r}");
    let h = history(&r);
    assert!(
        h.iter().any(|(s, d)| s == "queued" && d.contains("stopped by operator local")),
        "{h:?}"
    );
    let obs = r["observations"].as_array().unwrap();
    assert_eq!(obs.last().unwrap()["outcome"], "aborted", "{r}");
    teld.wait_for("the executor to idle in paused mode", Duration::from_secs(10), |t| {
        let a = t.get("/api/v1/telescopes/t1")["activity"].as_str().unwrap_or("").to_string();
        a.starts_with("paused by local").then_some(())
    });

    // The block had slewed the mount off its park position: park it, twice.
    for round in 1..=2 {
        let (status, park) = act(&teld, "park", "?wait_s=60");
        assert_eq!(status, 200, "park {round}: {park}");
        assert_eq!(park["done"], true, "park {round}: {park}");
        assert_eq!(park["action"], "park");
        assert_eq!(park["state"]["mount"]["at_park"], true, "park {round}: {park}");
        assert_eq!(park["control"]["mode"], "paused");
    }
    // Paused for good: a planned night of work does not restart by itself.
    assert_eq!(teld.request_state(id), "queued");

    let (status, resume) = act(&teld, "resume", "");
    assert_eq!(status, 200, "{resume}");
    assert_eq!(resume["control"]["mode"], "auto");
    let r = teld.wait_state(id, "completed", Duration::from_secs(120));
    assert_eq!(r["attempts"], 0, "{r}");
    assert_eq!(r["frames"].as_array().unwrap().len(), 10, "{r}");
}

#[test]
fn open_needs_manual_control_and_passes_the_interlocks() {
    let weather = r#"
[drivers.settings.weather]
unsafe = [{ from = "2026-11-24T20:00:00", to = "2026-11-25T06:00:00", reason = "rain" }]
"#;
    let site = TestSite::new("ctl-open", &[], weather);
    let teld = Teld::start(&site, "2026-11-24T20:30:00", 10.0);
    teld.wait_for("the sensor to report rain", Duration::from_secs(60), |t| {
        let s = t.get("/api/v1/telescopes/t1")["safety"].clone();
        (s["safe"] == false && s["reason"].as_str().unwrap_or("").contains("rain")).then_some(())
    });

    let (status, e) = act(&teld, "open", "");
    assert_eq!((status, e["error"]["code"].as_str()), (409, Some("control_required")), "{e}");

    let (status, take) = act(&teld, "take", "?reason=focus%20test");
    assert_eq!(status, 200, "{take}");
    assert_eq!(take["control"]["mode"], "manual");
    assert_eq!(take["control"]["holder"], "local");
    assert_eq!(take["control"]["reason"], "focus test");

    let (status, e) = act(&teld, "open", "?wait_s=5");
    assert_eq!((status, e["error"]["code"].as_str()), (409, Some("interlock_refused")), "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("rain"), "{e}");
    let (status, close) = act(&teld, "close", "?wait_s=60");
    assert_eq!(status, 200, "{close}");
    assert_eq!(
        (close["done"].as_bool(), close["control"]["mode"].as_str()),
        (Some(true), Some("manual"))
    );
    assert_eq!(close["state"]["dome"]["shutter_status"], "closed", "{close}");

    let (status, rel) = act(&teld, "release", "");
    assert_eq!((status, rel["control"]["mode"].as_str()), (200, Some("paused")), "{rel}");
    let (status, e) = act(&teld, "dance", "");
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("not_found")), "{e}");
    let (status, e) = act(&teld, "park", "?wait_s=500");
    assert_eq!((status, e["error"]["field"].as_str()), (400, Some("wait_s")), "{e}");
    let r = http::post_json(teld.addr, "/api/v1/telescopes/t9/actions/park", "");
    assert_eq!(r.status, 404);
}

#[test]
fn the_mode_survives_a_restart_and_a_held_telescope_is_not_taken() {
    let site = TestSite::new("ctl-restart", &[], "");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let (status, stop) = act(&teld, "stop", "?reason=mirror%20cleaning");
    assert_eq!(status, 200, "{stop}");
    assert!(teld.terminate().success());

    let teld = Teld::start(&site, "2026-11-24T21:00:00", 60.0);
    let c = control(&teld);
    assert_eq!(
        (c["mode"].as_str(), c["reason"].as_str()),
        (Some("paused"), Some("mirror cleaning"))
    );
    let id = teld.submit(&request("B", 10.0, 1));
    teld.wait_for("the executor to stay paused", Duration::from_secs(10), |t| {
        let a = t.get("/api/v1/telescopes/t1")["activity"].as_str().unwrap_or("").to_string();
        a.starts_with("paused by local").then_some(())
    });
    assert_ne!(teld.request_state(id), "observing");
    assert!(teld.terminate().success());

    // Another operator (ann) holds the telescope in manual mode, set while teld was
    // stopped, as any earlier run would have left it.
    let db = format!("sqlite://{}", site.state_dir().join("teld.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = teld::store::Store::open(&db).await.unwrap();
        let rec = teld::store::ControlRecord {
            telescope: "t1".into(),
            mode: "manual".into(),
            holder_name: Some("ann".into()),
            holder_token_id: None,
            reason: Some("engineering".into()),
            since: "2026-11-24T21:10:00.000000Z".into(),
        };
        store.set_control(&rec).await.unwrap();
        store.close().await;
    });
    let teld = Teld::start(&site, "2026-11-24T21:30:00", 60.0);
    assert_eq!(control(&teld)["holder"], "ann");
    for action in ["take", "resume", "release", "open"] {
        let (status, e) = act(&teld, action, "");
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (409, Some("control_held")),
            "{action}: {e}"
        );
        assert_eq!(e["error"]["detail"]["holder"], "ann", "{e}");
    }
    // Parking is never refused, and leaves the telescope with its holder.
    let (status, park) = act(&teld, "park", "?wait_s=60");
    assert_eq!((status, park["control"]["holder"].as_str()), (200, Some("ann")), "{park}");
    // An admin (the local caller, auth off) may force it.
    let (status, take) = act(&teld, "take", "?force=true");
    assert_eq!((status, take["control"]["holder"].as_str()), (200, Some("local")), "{take}");
    let (status, resume) = act(&teld, "resume", "");
    assert_eq!((status, resume["control"]["mode"].as_str()), (200, Some("auto")), "{resume}");
    teld.wait_state(id, "completed", Duration::from_secs(120));
}

#[test]
fn drivers_are_listed_and_a_restart_starts_a_new_process() {
    let site = TestSite::new("ctl-drivers", &[], "");
    let teld = Teld::start(&site, "2026-11-24T12:00:00", 10.0);
    let old = teld.wait_for("the driver up", Duration::from_secs(30), |t| t.driver_pid("sim"));
    let list = teld.get("/api/v1/drivers");
    let sim = &list.as_array().unwrap()[0];
    assert_eq!((sim["name"].as_str(), sim["kind"].as_str()), (Some("sim"), Some("sim")), "{list}");
    assert_eq!((sim["status"].as_str(), sim["restarts"].as_u64()), (Some("up"), Some(0)), "{list}");
    assert!(sim["version"].is_string() && sim["pid"].as_u64() == Some(old as u64), "{list}");

    let r = http::post_json(teld.addr, "/api/v1/drivers/sim/restart", "");
    assert_eq!(r.status, 202, "{}", r.text());
    let new = teld.wait_for("a new driver process", Duration::from_secs(30), |t| {
        t.driver_pid("sim").filter(|p| *p != old)
    });
    assert!(!common::daemon::process_alive(old), "the old process {old} is gone");
    let sim = teld.get("/api/v1/drivers")[0].clone();
    assert_eq!(
        (sim["restarts"].as_u64(), sim["pid"].as_u64()),
        (Some(1), Some(new as u64)),
        "{sim}"
    );
    let r = http::post_json(teld.addr, "/api/v1/drivers/nope/restart", "");
    assert_eq!(r.status, 404);
}
