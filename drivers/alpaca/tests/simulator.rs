//! The Alpaca driver process against the real ASCOM Alpaca simulators: every device
//! driven through teld's protocol, and the faults a real server has — frozen, gone,
//! unsafe weather, rain, bad settings.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::link::Driver;
use support::simulator::AlpacaSim;

fn simulators() -> Option<AlpacaSim> {
    let sim = AlpacaSim::start();
    if sim.is_none() {
        let msg = "alpaca-simulators not installed (run .ci/install-peers): the Alpaca driver against a real server NOT exercised";
        assert!(std::env::var("TELD_REQUIRE_PEERS").as_deref() != Ok("1"), "{msg}");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
    }
    sim
}

fn settings(sim: &AlpacaSim, timeout_s: f64) -> Value {
    let a = &sim.addr;
    json!({
        "timeout_s": timeout_s,
        "devices": {
            "mount": {"address": format!("{a}/telescope/0"), "equatorial_system": "j2000"},
            "camera": {"address": format!("{a}/camera/0")},
            "dome": {"address": format!("{a}/dome/0")},
            "weather": {
                "address": format!("{a}/safetymonitor/0"),
                "conditions": format!("{a}/observingconditions/0"),
                "max_wind_speed": 15.0
            }
        }
    })
}

/// Local maxima well above the background: stars.
fn count_stars(pixels: &[u16], width: usize) -> usize {
    let mut sorted = pixels.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2] as f64;
    let threshold = (median + 200.0) as u16;
    let height = pixels.len() / width;
    let mut n = 0;
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let v = pixels[y * width + x];
            if v < threshold {
                continue;
            }
            let peak = (-1i64..=1).all(|dy| {
                (-1i64..=1).all(|dx| {
                    let (xx, yy) = ((x as i64 + dx) as usize, (y as i64 + dy) as usize);
                    (dx == 0 && dy == 0) || pixels[yy * width + xx] < v
                })
            });
            n += peak as usize;
        }
    }
    n
}

fn expose(d: &mut Driver, spool: &std::path::Path, name: &str, bin: u32) -> (Value, Vec<u16>) {
    d.ok("camera", "start_exposure", Some(json!({"duration": 0.5, "light": true, "bin": bin})));
    d.wait_state("camera", "image ready", Duration::from_secs(60), |s| s["image_ready"] == true);
    let path = spool.join(name);
    let info =
        d.ok("camera", "read_image", Some(json!({"spool_path": path.display().to_string()})));
    let bytes = std::fs::read(&path).unwrap();
    let pixels: Vec<u16> =
        bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    (info, pixels)
}

#[test]
fn every_device_of_the_simulators_through_the_driver() {
    let Some(sim) = simulators() else { return };
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let r = d.configure(settings(&sim, 5.0), spool.path());
    let devices = r["result"].as_array().unwrap_or_else(|| panic!("configure: {r}"));
    let kinds: Vec<(&str, &str)> = devices
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("camera", "camera"), ("dome", "dome"), ("mount", "mount"), ("weather", "weather")]
    );
    let mount = devices.iter().find(|i| i["name"] == "mount").unwrap();
    assert_eq!(mount["capabilities"]["can_park"], true, "{mount}");
    assert_eq!(mount["capabilities"]["can_slew_async"], true);
    assert!(mount["description"].as_str().unwrap().contains("/telescope/0"), "{mount}");
    // The driver told the mount where it stands.
    assert!((sim.get("telescope/0/sitelatitude").as_f64().unwrap() - 28.7606).abs() < 1e-9);

    // Mount: parked at start; unpark, track, slew (asynchronous, ~10 s at 15°/s).
    assert_eq!(d.state("mount")["at_park"], true);
    let refused = d.call(
        Some("mount"),
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": 10.0, "declination": 20.0})),
    );
    assert_eq!(refused["error"]["code"], "invalid_operation", "slew while parked: {refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("parked"), "{refused}");
    d.ok("mount", "unpark", None);
    d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
    let started = Instant::now();
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": 10.0, "declination": 20.0})),
    );
    assert!(started.elapsed() < Duration::from_secs(2), "the slew call returns at once");
    assert_eq!(d.state("mount")["slewing"], true);
    let mut st =
        d.wait_state("mount", "slew done", Duration::from_secs(60), |s| s["slewing"] == false);
    // alpaca-simulators 1.3.2 advances the mount from its 0.1 s background thread and
    // from coordinate reads, unlocked; now and then a stale step lands after the slew
    // finished, leaving the mount one step short with Slewing false. That is the
    // simulator's race, not the driver's; teld answers it the way it answers a real
    // mount that stops short (a second slew), and so does this test — at most twice.
    let arrived = |s: &Value| {
        (s["right_ascension"].as_f64().unwrap() - 10.0).abs() < 1e-3
            && (s["declination"].as_f64().unwrap() - 20.0).abs() < 1e-3
    };
    for _ in 0..2 {
        if arrived(&st) {
            break;
        }
        eprintln!("the simulator stopped short ({st}); slewing again");
        d.ok(
            "mount",
            "slew_to_coordinates_async",
            Some(json!({"right_ascension": 10.0, "declination": 20.0})),
        );
        st = d.wait_state("mount", "slew done", Duration::from_secs(60), |s| s["slewing"] == false);
    }
    assert!((st["right_ascension"].as_f64().unwrap() - 10.0).abs() < 1e-3, "{st}");
    assert!((st["declination"].as_f64().unwrap() - 20.0).abs() < 1e-3, "{st}");
    assert_eq!(st["equatorial_system"], "j2000");
    assert_eq!(st["tracking"], true);

    // Camera: a light frame of the catalogue's field, binned and unbinned.
    let (info, pixels) = expose(&mut d, spool.path(), "f1.raw", 1);
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(1024), Some(1024)),
        "{info}"
    );
    assert_eq!(info["pixel_type"], "u16");
    assert_eq!(info["light"], true);
    assert!(info["exposure_start"].as_str().unwrap().len() == 26, "{info}");
    let stars = count_stars(&pixels, 1024);
    assert!(stars >= 10, "the simulator's star field is in the frame: {stars} stars");
    let (info2, pixels2) = expose(&mut d, spool.path(), "f2.raw", 2);
    assert_eq!((info2["width"].as_u64(), info2["bin_x"].as_u64()), (Some(512), Some(2)), "{info2}");
    assert!(count_stars(&pixels2, 512) >= 5);
    let again = d.call(
        Some("camera"),
        "read_image",
        Some(json!({"spool_path": spool.path().join("f3.raw").display().to_string()})),
    );
    assert_eq!(again["error"]["code"], "invalid_operation", "an image is read once: {again}");
    let outside =
        d.call(Some("camera"), "read_image", Some(json!({"spool_path": "/etc/teld.raw"})));
    assert_eq!(outside["error"]["code"], "invalid_value", "{outside}");

    // An aborted exposure's late ImageReady is not taken for a frame.
    d.ok("camera", "start_exposure", Some(json!({"duration": 1.0, "light": true})));
    d.ok("camera", "abort_exposure", None);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sim.get("camera/0/imageready"), true, "the simulator raises ImageReady after abort");
    assert_eq!(d.state("camera")["image_ready"], false, "but the driver does not believe it");

    // Dome: open and close, confirmed by the shutter status.
    assert_eq!(d.state("dome")["shutter_status"], "closed");
    d.ok("dome", "open_shutter", None);
    d.wait_state("dome", "open", Duration::from_secs(10), |s| s["shutter_status"] == "open");

    // Weather: safe, with the sensors the device has.
    let w = d.state("weather");
    assert_eq!(w["is_safe"], true, "{w}");
    assert_eq!(w["rain_rate"], 0.0);
    assert!(w["humidity"].is_number() && w["wind_speed"].is_number(), "{w}");

    // Shutdown leaves the observatory safe: shutter closed, mount parked.
    assert!(d.finish().success());
    assert_eq!(sim.get("dome/0/shutterstatus"), 1, "closed");
    assert_eq!(sim.get("telescope/0/atpark"), true);
    assert_eq!(sim.get("camera/0/camerastate"), 0);
}

#[test]
fn the_filter_wheel_and_focuser_of_the_simulators_through_the_driver() {
    let Some(sim) = simulators() else { return };
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let a = &sim.addr;
    let r = d.configure(
        json!({"devices": {
            "wheel": {"address": format!("{a}/filterwheel/0")},
            "focuser": {"address": format!("{a}/focuser/0")}
        }}),
        spool.path(),
    );
    let devices = r["result"].as_array().unwrap_or_else(|| panic!("configure: {r}"));
    let kinds: Vec<&str> = devices.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["focuser", "filter_wheel"]);
    assert_eq!(devices[0]["capabilities"]["absolute"], true, "{r}");

    // The wheel's own names and offsets, as the simulator is set up.
    let w = d.state("wheel");
    assert_eq!(w["names"], json!(["Red", "Green", "Blue", "Clear", "Luminance"]), "{w}");
    assert_eq!(w["focus_offsets"], json!([-100, -100, 50, 0, 100]));
    d.ok("wheel", "set_position", Some(json!({"position": 3})));
    let w = d.wait_state("wheel", "at Clear", Duration::from_secs(10), |s| s["position"] == 3);
    assert_eq!(sim.get("filterwheel/0/position"), 3, "{w}");
    let bad = d.call(Some("wheel"), "set_position", Some(json!({"position": 5})));
    assert_eq!(bad["error"]["code"], "invalid_value", "{bad}");
    assert!(bad["error"]["message"].as_str().unwrap().contains("slots 0 to 4"), "{bad}");

    // The focuser: absolute, with a probe; moves confirmed by IsMoving and Position.
    let f = d.state("focuser");
    assert_eq!((f["absolute"].as_bool(), f["max_step"].as_u64()), (Some(true), Some(100_000)));
    assert!(f["temperature"].is_number(), "{f}");
    d.ok("focuser", "move", Some(json!({"position": 9_900})));
    let f = d.wait_state("focuser", "moved", Duration::from_secs(10), |s| {
        s["is_moving"] == false && s["position"] == 9_900
    });
    assert_eq!(sim.get("focuser/0/position"), 9_900, "{f}");
    let beyond = d.call(Some("focuser"), "move", Some(json!({"position": 100_001})));
    assert_eq!(beyond["error"]["code"], "invalid_value", "{beyond}");
    assert!(beyond["error"]["message"].as_str().unwrap().contains("travel"), "{beyond}");
    assert_eq!(sim.get("focuser/0/position"), 9_900, "a refused move never reached the device");
    d.ok("focuser", "halt", None);
    let not_for = d.call(Some("wheel"), "halt", None);
    assert_eq!(not_for["error"]["code"], "not_implemented", "{not_for}");
    assert!(d.finish().success());
}

#[test]
fn unsafe_monitor_rain_and_wind_make_the_weather_unsafe() {
    let Some(sim) = simulators() else { return };
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let r = d.configure(settings(&sim, 5.0), spool.path());
    assert!(r["result"].is_array(), "{r}");
    assert_eq!(d.state("weather")["is_safe"], true);

    sim.put("safetymonitor/0/issafe", "IsSafe=false");
    assert_eq!(d.state("weather")["is_safe"], false, "the safety monitor says unsafe");
    sim.put("safetymonitor/0/issafe", "IsSafe=true");
    assert_eq!(d.state("weather")["is_safe"], true);

    sim.put("observingconditions/0/rainrate", "RainRate=5");
    let w = d.state("weather");
    assert_eq!(
        (w["is_safe"].as_bool(), w["rain_rate"].as_f64()),
        (Some(false), Some(5.0)),
        "rain: {w}"
    );
    sim.put("observingconditions/0/rainrate", "RainRate=0");
    sim.put("observingconditions/0/windspeed", "WindSpeed=25");
    assert_eq!(d.state("weather")["is_safe"], false, "wind above max_wind_speed");
    sim.put("observingconditions/0/windspeed", "WindSpeed=3");
    let w = d.wait_state("weather", "safe again", Duration::from_secs(5), |s| s["is_safe"] == true);
    assert_eq!(w["wind_speed"], 3.0);

    // State events follow the changes without being asked.
    sim.put("safetymonitor/0/issafe", "IsSafe=false");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        d.call(None, "ping", None);
        let seen = d.events.iter().any(|e| {
            e["event"] == "state" && e["device"] == "weather" && e["state"]["is_safe"] == false
        });
        if seen {
            break;
        }
        assert!(Instant::now() < deadline, "no unsafe weather event: {:?}", d.events);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_frozen_server_times_out_mid_slew_and_the_driver_recovers_after_it_thaws() {
    let Some(mut sim) = simulators() else { return };
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let r = d.configure(settings(&sim, 1.0), spool.path());
    assert!(r["result"].is_array(), "{r}");
    d.ok("mount", "unpark", None);
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": 4.0, "declination": 25.0})),
    );
    assert_eq!(d.state("mount")["slewing"], true);

    sim.freeze();
    let started = Instant::now();
    let id = d.send(Some("mount"), "get_state", None);
    // The frozen device holds up its own call only: the driver answers pings.
    let ping = d.call(None, "ping", None);
    assert!(
        ping.get("error").is_none() && started.elapsed() < Duration::from_millis(900),
        "{ping}"
    );
    let r = d.answer(id, Duration::from_secs(10));
    let waited = started.elapsed();
    assert_eq!(r["error"]["code"], "timeout", "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("hung") && msg.contains(&sim.addr), "{msg}");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "{waited:?}");
    let r = d.call(Some("mount"), "abort_slew", None);
    assert_eq!(r["error"]["code"], "timeout", "commands time out too: {r}");

    sim.thaw();
    // The queued abort may or may not reach the server; either way the mount answers
    // again and the driver reads it afresh (no cached state).
    let st =
        d.wait_state("mount", "answers again", Duration::from_secs(30), |s| s["slewing"] == false);
    assert_eq!(st["at_park"], false, "{st}");
    d.ok("mount", "park", None);
    d.wait_state("mount", "parked", Duration::from_secs(30), |s| s["at_park"] == true);
    let alerts: Vec<&Value> = d.events.iter().filter(|e| e["event"] == "alert").collect();
    assert!(
        alerts.iter().any(|a| a["message"].as_str().unwrap().contains("cannot be read")),
        "the freeze was alerted: {alerts:?}"
    );
}

#[test]
fn a_frozen_server_mid_download_times_out_and_the_frame_can_be_read_after() {
    let Some(mut sim) = simulators() else { return };
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let mut s = settings(&sim, 1.0);
    s["image_timeout_s"] = json!(1.5);
    let r = d.configure(s, spool.path());
    assert!(r["result"].is_array(), "{r}");
    d.ok("mount", "unpark", None);
    d.ok("camera", "start_exposure", Some(json!({"duration": 0.2, "light": false})));
    d.wait_state("camera", "image ready", Duration::from_secs(30), |s| s["image_ready"] == true);
    sim.freeze();
    let path = spool.path().join("dl.raw").display().to_string();
    let r = d.call(Some("camera"), "read_image", Some(json!({"spool_path": path})));
    assert_eq!(r["error"]["code"], "timeout", "{r}");
    sim.thaw();
    // The frame was not lost: the next read gets it.
    let info = d.wait_read(&path);
    assert_eq!(info["width"], 1024);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 1024 * 1024 * 2);
}

trait ReadAgain {
    fn wait_read(&mut self, path: &str) -> Value;
}

impl ReadAgain for Driver {
    fn wait_read(&mut self, path: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.call(Some("camera"), "read_image", Some(json!({"spool_path": path})));
            if r.get("error").is_none() {
                return r["result"].clone();
            }
            assert!(Instant::now() < deadline, "frame never read after the thaw: {r}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn a_server_that_is_gone_or_misaddressed_is_refused_with_what_to_do() {
    // No simulator needed: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let r = d.configure(
        json!({"devices": {"mount": {"address": format!("127.0.0.1:{port}/telescope/0")}}}),
        spool.path(),
    );
    assert_eq!(r["error"]["code"], "not_connected", "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("device `mount`") && msg.contains("check that it runs"), "{msg}");

    for (settings, says) in [
        (json!({"devices": {"mount": {"address": "localhost/telescope/0"}}}), "port is missing"),
        (json!({"devices": {"x": {"address": "127.0.0.1:1/rotator/0"}}}), "unknown device type"),
        (
            json!({"devices": {"f": {"address": "127.0.0.1:1/focuser/0", "set_site": true}}}),
            "apply to a telescope only",
        ),
        (json!({"devices": {"x": {"adress": "127.0.0.1:1/camera/0"}}}), "adress"),
        (json!({"devices": {}}), "no devices"),
        (
            json!({"timeout_s": -1, "devices": {"m": {"address": "127.0.0.1:1/camera/0"}}}),
            "timeout_s",
        ),
        (
            json!({"devices": {"c": {"address": "127.0.0.1:1/camera/0", "max_rain_rate": 1}}}),
            "apply to a safetymonitor",
        ),
    ] {
        let mut d = Driver::start();
        let r = d.configure(settings, spool.path());
        assert_eq!(r["error"]["code"], "invalid_value", "{r}");
        let msg = r["error"]["message"].as_str().unwrap();
        assert!(msg.contains(says), "expected `{says}` in: {msg}");
    }
    let r = d.call(Some("mount"), "get_state", None);
    assert_eq!(r["error"]["code"], "not_connected", "no device calls before configure: {r}");
}
