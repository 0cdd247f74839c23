//! A simulated night end to end: the real teld binary with the real simulator driver,
//! two follow-up requests over HTTP, frames in the archive checked by fitsverify and
//! astropy, and the events on the real MQTT broker.

mod common;

use std::time::Duration;

use common::daemon::{Teld, TestSite};
use common::mqtt::Subscriber;
use common::peers;
use serde_json::Value;

const FIRST: &str = r#"{"name": "first", "observer": "neocc-duty",
  "target": {"name": "C4X9Z2", "ra_deg": 22.5, "dec_deg": 20.1},
  "exposure_s": 30, "count": 3, "priority": 80}"#;
const SECOND: &str = r#"{"name": "second",
  "target": {"name": "P21xQ7a", "ra_deg": 30.0, "dec_deg": 15.0},
  "exposure_s": 20, "count": 2, "priority": 60}"#;

#[test]
fn two_requests_complete_with_frames_and_events() {
    let site = TestSite::new("night", &[], "");
    let broker = peers::require(peers::mqtt_broker(), "MQTT broker", "telemetry on a real broker");
    let sub = broker.map(|b| Subscriber::start(b, &format!("{}/#", site.topic_prefix)));

    let teld = Teld::start(&site, "2026-11-24T19:30:00", 300.0);
    assert_eq!(common::http::get(teld.addr, "/healthz").status, 200);
    let a = teld.submit(FIRST);
    let b = teld.submit(SECOND);
    let ra = teld.wait_state(a, "completed", Duration::from_secs(120));
    let rb = teld.wait_state(b, "completed", Duration::from_secs(120));

    for (r, count, object) in [(&ra, 3, "C4X9Z2"), (&rb, 2, "P21xQ7a")] {
        let states: Vec<&str> =
            r["history"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["queued", "scheduled", "observing", "completed"], "{r}");
        let frames = r["frames"].as_array().unwrap();
        assert_eq!(frames.len(), count, "{r}");
        for f in frames {
            let path = site.archive().join(f["path"].as_str().unwrap());
            assert!(path.is_file(), "{} missing", path.display());
            assert!(
                f["path"].as_str().unwrap().starts_with("2026-11-24/t1/"),
                "archive layout: {f}"
            );
            check_fits(&path, object, r["id"].as_i64().unwrap());
        }
    }
    // The night plan both ran from, and its picture.
    let plan = teld.get("/api/v1/plan");
    assert_eq!(plan["telescopes"][0]["name"], "t1", "{plan}");
    assert!(plan["night_end"].as_str().is_some_and(|e| e.starts_with("2026-11-25T")), "{plan}");
    let svg = common::http::get(teld.addr, "/api/v1/plan.svg");
    assert_eq!(svg.status, 200);
    let svg_text = String::from_utf8_lossy(&svg.body);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg_text.starts_with("<svg") && svg_text.contains("t1"), "{svg_text}");

    let status = teld.get("/api/v1/status");
    assert_eq!(status["site"]["name"], "la-palma");
    assert_eq!(status["clock"]["mode"], "simulated");
    let t1 = &status["telescopes"]["t1"];
    for device in ["mount", "camera", "dome", "weather"] {
        assert!(t1[device].is_object(), "status lacks {device}: {t1}");
    }

    if let Some(sub) = &sub {
        let p = &site.topic_prefix;
        let st = sub.wait("online status", Duration::from_secs(10), |m| {
            m.topic == format!("{p}/la-palma/status")
        });
        assert_eq!(st.payload["online"], true);
        assert!(st.retained || sub.all().iter().any(|m| m.topic == st.topic));
        sub.wait("mount state", Duration::from_secs(10), |m| {
            m.topic == format!("{p}/la-palma/telescopes/t1/mount")
        });
        for id in [a, b] {
            sub.wait("request completed event", Duration::from_secs(10), |m| {
                m.topic == format!("{p}/la-palma/events/request")
                    && m.payload["request_id"] == id
                    && m.payload["state"] == "completed"
            });
        }
        let frames =
            sub.all().iter().filter(|m| m.topic == format!("{p}/la-palma/events/frame")).count();
        assert_eq!(frames, 5, "one frame event per frame");
    }

    let exit = teld.terminate();
    assert!(exit.success(), "teld exits 0 on SIGTERM: {exit:?}");
    if let Some(sub) = &sub {
        let p = &site.topic_prefix;
        sub.wait("offline status", Duration::from_secs(10), |m| {
            m.topic == format!("{p}/la-palma/status") && m.payload["online"] == false
        });
    }
}

/// fitsverify finds no error, and astropy reads the headers the pipeline needs and a
/// star field (bright sources well above a noisy sky).
fn check_fits(path: &std::path::Path, object: &str, request_id: i64) {
    if let Some(fv) =
        peers::require(peers::fitsverify(), "fitsverify", "FITS standard conformance of frames")
    {
        let out = std::process::Command::new(fv).arg(path).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("found 0 warning(s) and 0 error(s)"),
            "fitsverify on {}:\n{text}",
            path.display()
        );
    }
    let Some(py) = peers::require(
        peers::python_with_astropy(),
        "astropy",
        "reading frames the way the pipeline does",
    ) else {
        return;
    };
    let script = r#"
import json, sys
import numpy as np
from astropy.io import fits
with fits.open(sys.argv[1], checksum=True) as h:
    hd = h[0].header
    d = h[0].data.astype(np.float64)
    med = float(np.median(d)); mad = float(np.median(np.abs(d - med))) * 1.4826
    print(json.dumps({k: hd.get(k) for k in ["DATE-OBS", "EXPTIME", "OBJECT", "RA", "DEC", "TELESCOP", "INSTRUME", "REQID", "TIMESYS"]}
                     | {"median": med, "sigma": mad, "max": float(d.max()), "shape": list(d.shape),
                        "bright": int((d > med + 20 * mad).sum())}))
"#;
    let out = std::process::Command::new(py).args(["-c", script]).arg(path).output().unwrap();
    assert!(out.status.success(), "astropy: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["OBJECT"], object, "{v}");
    assert_eq!(v["REQID"], request_id, "{v}");
    assert_eq!(v["TIMESYS"], "UTC");
    assert!(v["DATE-OBS"].as_str().unwrap().starts_with("2026-11-24T"), "{v}");
    assert!(v["EXPTIME"].as_f64().unwrap() > 0.0);
    assert!(
        v["RA"].is_number()
            && v["DEC"].is_number()
            && v["TELESCOP"].is_string()
            && v["INSTRUME"].is_string(),
        "{v}"
    );
    assert!(v["sigma"].as_f64().unwrap() > 1.0, "noise present: {v}");
    assert!(v["bright"].as_u64().unwrap() > 20, "stars present: {v}");
}
