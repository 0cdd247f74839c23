//! After the archive: every frame of a simulated night gets a quick-look and a
//! preview, is listed and downloadable over the API, and is handed to the pipeline on
//! the real MQTT broker and a real webhook — at least once, with an idempotency key,
//! through refusals and a restart. Frames that fail the quick-look do not count: the
//! observation is retaken, and a request that keeps failing retires.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::daemon::{Teld, TestSite};
use common::http;
use common::mqtt::Subscriber;
use common::peers;
use common::webhook::Webhook;
use serde_json::Value;
use sha2::{Digest, Sha256};

const REQUEST: &str = r#"{"name": "ql", "observer": "neocc-duty",
  "target": {"name": "C4X9Z2", "ra_deg": 22.5, "dec_deg": 20.1},
  "exposure_s": 30, "count": 3, "priority": 80}"#;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// DATE-OBS is teld's clock at the start of the exposure; the simulated camera, on the
/// same clock, reports when its shutter opened (DEVSTART): they agree to within the
/// time the start command and the driver's view of the clock (sent over the protocol)
/// take to travel: 5 simulated s at ×300 are 17 ms of real time. DATE-END − DATE-OBS
/// is the exposure.
fn shutter_open_is_date_obs(path: &std::path::Path) {
    let mut f = fitsio::FitsFile::open(path).unwrap();
    let hdu = f.primary_hdu().unwrap();
    let mut key = |k: &str| hdu.read_key::<String>(&mut f, k).unwrap();
    let (obs, dev, end) = (key("DATE-OBS"), key("DEVSTART"), key("DATE-END"));
    let t = |s: &str| teld_driver_protocol::time::parse_utc(s).unwrap();
    let opened = (t(&dev) - t(&obs)).to_seconds();
    assert!(opened.abs() < 5.0, "DATE-OBS {obs}, shutter opened {dev}");
    let exposed = (t(&end) - t(&obs)).to_seconds();
    assert!((exposed - 30.0).abs() < 1e-3, "DATE-OBS {obs} DATE-END {end}");
}

fn frames_of(teld: &Teld, request: i64) -> Vec<Value> {
    let list = teld.get(&format!("/api/v1/frames?request_id={request}"));
    list["frames"].as_array().unwrap().clone()
}

#[test]
fn frames_are_assessed_listed_downloadable_and_handed_off_at_least_once() {
    // The pipeline's webhook is busy for the first two posts.
    let hook = Webhook::start("127.0.0.1:0", 2);
    let extra = format!("[handoff]\nwebhook_url = \"{}\"\n", hook.url());
    let site = TestSite::new("pipeline", &[], &extra);
    let broker = peers::require(peers::mqtt_broker(), "MQTT broker", "the MQTT frame handoff");
    let sub = broker.map(|b| Subscriber::start(b, &format!("{}/+/frames", site.topic_prefix)));

    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    let a = teld.submit(REQUEST);
    teld.wait_state(a, "completed", Duration::from_secs(120));

    let frames = frames_of(&teld, a);
    assert_eq!(frames.len(), 3, "{frames:#?}");
    for f in &frames {
        let q = &f["quality"];
        assert_eq!(q["pass"], true, "a clear simulated sky passes: {f}");
        assert!(q["sources"].as_u64().unwrap() >= 10, "{f}");
        let fwhm = q["fwhm_arcsec"].as_f64().unwrap();
        assert!(fwhm > 1.0 && fwhm < 4.0, "the simulator's 1.8″ seeing at 1.5″/px: {f}");
        assert!(q["background"].as_f64().unwrap() > 0.0, "{f}");
        // The FITS over HTTP is the archived file, byte for byte.
        let id = f["id"].as_i64().unwrap();
        let fits = http::get(teld.addr, &format!("/api/v1/frames/{id}/fits"));
        assert_eq!(fits.status, 200);
        assert_eq!(fits.header("content-type"), Some("application/fits"));
        let on_disk = std::fs::read(site.archive().join(f["path"].as_str().unwrap())).unwrap();
        assert!(fits.body == on_disk, "download differs from the archived file");
        assert_eq!(q["sha256"].as_str().unwrap(), sha256_hex(&on_disk));
        shutter_open_is_date_obs(&site.archive().join(f["path"].as_str().unwrap()));
        let png = http::get(teld.addr, &format!("/api/v1/frames/{id}/preview.png"));
        assert_eq!(png.status, 200);
        assert_eq!(png.header("content-type"), Some("image/png"));
        assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    }
    let ids: BTreeSet<i64> = frames.iter().map(|f| f["id"].as_i64().unwrap()).collect();

    // Bad queries are refused with what to write instead.
    let bad = http::get(teld.addr, "/api/v1/frames?night=yesterday");
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["message"].as_str().unwrap().contains("YYYY-MM-DD"));
    assert_eq!(http::get(teld.addr, "/api/v1/frames/999999/fits").status, 404);
    let passed = teld.get(&format!("/api/v1/frames?request_id={a}&pass=true&limit=2"));
    assert_eq!(passed["frames"].as_array().unwrap().len(), 2, "{passed}");
    let next = passed["next_after_id"].as_i64().unwrap();
    let rest = teld.get(&format!("/api/v1/frames?request_id={a}&after_id={next}"));
    assert_eq!(rest["frames"].as_array().unwrap().len(), 1, "{rest}");

    // The webhook: refused twice, retried, then every frame accepted once or more,
    // each post carrying its idempotency key in the header and the body.
    let posts = hook.wait("every frame accepted by the webhook", Duration::from_secs(60), |p| {
        let ok: BTreeSet<i64> =
            p.iter().filter(|p| p.accepted).filter_map(|p| p.body["frame_id"].as_i64()).collect();
        ok == ids
    });
    assert!(posts.iter().filter(|p| !p.accepted).count() == 2, "{posts:#?}");
    for p in &posts {
        assert_eq!(p.path, "/frames");
        let key = p.idempotency_key.as_deref().expect("Idempotency-Key header");
        assert_eq!(p.body["idempotency_key"], key, "{p:?}");
        assert_eq!(p.body["quality"]["pass"], true, "{p:?}");
        assert!(p.body["quicklook"]["summary"]["sources"].as_u64().unwrap() >= 10, "{p:?}");
    }
    // /status serves handoff counts at most 1 s old (docs/API.md).
    teld.wait_for("3 webhook deliveries in /status", Duration::from_secs(10), |t| {
        (t.get("/api/v1/status")["handoff"]["webhook"]["delivered"] == 3).then_some(())
    });

    if let Some(sub) = sub {
        for id in &ids {
            let m = sub.wait("frame message", Duration::from_secs(30), |m| {
                m.payload["frame_id"].as_i64() == Some(*id)
            });
            assert_eq!(m.topic, format!("{}/la-palma/frames", site.topic_prefix));
            assert!(m.payload["sha256"].as_str().is_some_and(|s| s.len() == 64), "{m:?}");
            assert!(m.payload["idempotency_key"].as_str().unwrap().starts_with("la-palma/frame/"));
            assert_eq!(m.payload["url"], format!("/api/v1/frames/{id}/fits"));
        }
    }
}

#[test]
fn frames_not_delivered_before_a_stop_are_delivered_after_the_restart() {
    // A port with nobody listening: the webhook is down all night.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/frames");
    let extra = format!("[handoff]\nmqtt = false\nwebhook_url = \"{url}\"\n");
    let site = TestSite::new("pipeline-restart", &[], &extra);
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    let a = teld.submit(REQUEST);
    teld.wait_state(a, "completed", Duration::from_secs(120));
    teld.wait_log("frame handoff failed", Duration::from_secs(30));
    teld.wait_for("3 pending webhook handoffs in /status", Duration::from_secs(10), |t| {
        (t.get("/api/v1/status")["handoff"]["webhook"]["pending"] == 3).then_some(())
    });
    assert!(teld.terminate().success());

    // The receiver comes up, then teld: the outbox in the store is worked off.
    let hook = Webhook::start(&format!("127.0.0.1:{port}"), 0);
    let teld = Teld::start(&site, "2026-11-24T21:00:00", 300.0);
    let posts = hook.wait("the three frames after the restart", Duration::from_secs(60), |p| {
        p.iter().filter_map(|p| p.body["frame_id"].as_i64()).collect::<BTreeSet<_>>().len() == 3
    });
    assert!(posts.iter().all(|p| p.body["request_id"] == a), "{posts:#?}");
    teld.wait_for("the outbox to be empty", Duration::from_secs(30), |t| {
        let s = t.get("/api/v1/status");
        (s["handoff"]["webhook"]["pending"] == 0 && s["handoff"]["webhook"]["delivered"] == 3)
            .then_some(())
    });
}

#[test]
fn frames_failing_quick_look_do_not_count_and_the_request_retires_after_its_attempts() {
    // Seeing of 12″ on a 1.5″/px camera: every frame is out of focus by the verdict's
    // 4″ limit.
    let site = TestSite::new(
        "pipeline-defocus",
        &[
            ("[drivers.settings.camera]", "[drivers.settings.camera]\nseeing_fwhm_arcsec = 12.0"),
            ("max_attempts = 3", "max_attempts = 2"),
        ],
        "[handoff]\nmqtt = false\n",
    );
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    let body = REQUEST.replace("\"count\": 3", "\"count\": 2");
    let a = teld.submit(&body);
    let r = teld.wait_state(a, "failed", Duration::from_secs(180));
    let details: Vec<&str> =
        r["history"].as_array().unwrap().iter().filter_map(|e| e["detail"].as_str()).collect();
    assert!(
        details.iter().any(|d| d.contains("failed quick-look") && d.contains("defocus")),
        "{details:#?}"
    );
    assert_eq!(r["attempts"], 2, "{r}");
    // Both attempts' frames are kept (nothing is deleted), and listed as failed.
    let failed = teld.get(&format!("/api/v1/frames?request_id={a}&pass=false"));
    let failed = failed["frames"].as_array().unwrap();
    assert_eq!(failed.len(), 4, "two attempts of two frames: {failed:#?}");
    for f in failed {
        assert_eq!(f["quality"]["reason"], "defocus", "{f}");
        assert!(f["quality"]["fwhm_arcsec"].as_f64().unwrap() > 4.0, "{f}");
    }
}

#[test]
fn a_copy_of_a_teld_frame_dropped_into_the_inbox_is_a_duplicate_not_a_new_frame() {
    let site = TestSite::new("pipeline-dup", &[], "[handoff]\nmqtt = false\n");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    let a = teld.submit(&REQUEST.replace("\"count\": 3", "\"count\": 1"));
    teld.wait_state(a, "completed", Duration::from_secs(120));
    let frame = teld.wait_for("the frame's quick-look", Duration::from_secs(30), |t| {
        let f = frames_of(t, a).into_iter().next()?;
        (!f["quality"].is_null()).then_some(f)
    });
    let original = site.archive().join(frame["path"].as_str().unwrap());
    let inbox = site.state_dir().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(&original, inbox.join("copy.fits")).unwrap();
    let reason = inbox.join("quarantine").join("copy.fits.reason");
    teld.wait_for("the copy in quarantine", Duration::from_secs(60), |_| {
        reason.is_file().then_some(())
    });
    let why = std::fs::read_to_string(&reason).unwrap();
    assert!(why.contains(&format!("duplicate of frame {}", frame["id"])), "{why}");
    assert_eq!(frames_of(&teld, a).len(), 1);
}
