//! The LX200 driver process against the LX200 emulator process on a real pty at
//! 9600 baud: connect, identification and precision, site and time as the mount reads
//! them back, slews confirmed by the mount, park/unpark in both dialects, shutdown
//! parking, bad settings.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::emulator::EmulatorProc;
use support::link::Driver;
use teld_driver_lx200::port::{Port, Reply};
use teld_driver_lx200::sexagesimal::parse_hours;

const LONG: Duration = Duration::from_secs(30);

fn connect(dialect: &str) -> (EmulatorProc, Driver, tempfile::TempDir) {
    let emu = EmulatorProc::start(dialect, &[]);
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let r = d.configure(emu.settings(2.0), spool.path());
    assert!(r.get("error").is_none(), "{r}");
    // Identified by :GVP#/:GVN#, the dialect found from the product name.
    let info = &r["result"][0];
    assert_eq!(info["name"], "mount", "{r}");
    assert_eq!(info["kind"], "mount", "{r}");
    let description = info["description"].as_str().unwrap();
    let product = if dialect == "onstep" { "On-Step 4.24a" } else { "LX200GPS 4.2g" };
    assert!(description.starts_with(product), "{description}");
    assert!(description.contains(&format!("LX200 {dialect} dialect")), "{description}");
    assert!(description.contains(&emu.link.display().to_string()), "{description}");
    (emu, d, spool)
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// Hours apart on the 24 h circle.
fn ra_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(24.0);
    d.min(24.0 - d)
}

/// A target high in the sky: half an hour west of the meridian, dec 35°.
fn high_target(emu: &mut EmulatorProc) -> (f64, f64) {
    // Parked at the pole with hour angle 0, the mount's RA is its sidereal time.
    let lst = f(&emu.status(), "right_ascension");
    ((lst - 0.5).rem_euclid(24.0), 35.0)
}

#[test]
fn connect_identifies_the_mount_switches_to_high_precision_and_sets_site_and_time() {
    let (mut emu, d, _spool) = connect("generic");
    let st = emu.status();
    assert_eq!(st["high_precision"], true, "the driver sent :U#: {st}");
    // One ACK at connect and none since: the classic `:SC` answer (`1` and two
    // "Updating planetary data" strings) was read whole, leaving the line in step.
    assert_eq!(st["acks"], 1, "{st}");
    d.finish();

    // Read back over the pty the way any LX200 client would.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let link = emu.link.display().to_string();
    let (lon, lat, time, date, offset, ra) = rt.block_on(async {
        let mut p = Port::open(&link, 9600, Duration::from_secs(2)).unwrap();
        let mut q = async |c: &str| p.command(c, Reply::Text).await.unwrap();
        (
            q(":Gg#").await,
            q(":Gt#").await,
            q(":GL#").await,
            q(":GC#").await,
            q(":GG#").await,
            q(":GR#").await,
        )
    });
    // La Palma is 17.88° WEST: Meade's longitude is west-positive, so +017*53.
    assert_eq!(lon, "+017*53");
    assert_eq!(lat, "+28*46");
    assert_eq!(offset, "+00.0", "local time is UTC");
    assert_eq!(date, "11/24/26", "the daemon's date, not the machine's");
    let (t, _) = parse_hours(&time).unwrap();
    assert!((22.0..22.0 + 1.0 / 60.0).contains(&t), "the daemon's clock: {time}");
    assert_eq!(ra.len(), 8, "high precision HH:MM:SS: {ra}");
    assert!((f(&emu.status(), "longitude_west_deg") - 17.8833).abs() < 0.01);
}

#[test]
fn slew_is_confirmed_by_the_mount_and_lands_on_target_in_jnow() {
    let (mut emu, mut d, _spool) = connect("generic");
    let info = d.call(None, "ping", None);
    assert!(info.get("error").is_none());
    d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
    let (ra, dec) = high_target(&mut emu);
    let s = d.state("mount");
    assert_eq!(s["equatorial_system"], "topocentric", "LX200 coordinates are JNow: {s}");
    assert_eq!(s["tracking"], true, "{s}");
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": dec})),
    );
    let moving = d.state("mount");
    assert_eq!(moving["slewing"], true, "a 55° slew at 30°/s is still going: {moving}");
    let s = d.wait_state("mount", "slew done", LONG, |s| s["slewing"] == false);
    assert!(ra_diff(f(&s, "right_ascension"), ra) < 1.5 / 3600.0, "{s} vs {ra}");
    assert!((f(&s, "declination") - dec).abs() < 1.5 / 3600.0, "{s} vs {dec}");
    // Altitude/azimuth are the mount's, consistent with where it points: west of
    // the meridian, high up.
    assert!(f(&s, "altitude") > 60.0 && f(&s, "azimuth") > 180.0, "{s}");
    // Tracking holds the RA a while later.
    std::thread::sleep(Duration::from_secs(2));
    let later = d.state("mount");
    assert!(ra_diff(f(&later, "right_ascension"), ra) < 1.5 / 3600.0, "{later}");

    // Below the horizon: the mount refuses with 1<msg>#, the driver says so.
    let r = d.call(
        Some("mount"),
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": -80.0})),
    );
    assert_eq!(r["error"]["code"], "invalid_operation", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("below the horizon"), "{r}");

    // An aborted slew stops short of its target.
    let far = ((ra + 3.0).rem_euclid(24.0), 10.0);
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": far.0, "declination": far.1})),
    );
    d.ok("mount", "abort_slew", None);
    let s = d.wait_state("mount", "stopped", LONG, |s| s["slewing"] == false);
    assert!(ra_diff(f(&s, "right_ascension"), far.0) > 0.1, "{s}");

    // Calls a mount does not have, and a device this driver does not have.
    let r = d.call(Some("mount"), "open_shutter", None);
    assert_eq!(r["error"]["code"], "not_implemented", "{r}");
    let r = d.call(Some("camera"), "get_state", None);
    assert_eq!(r["error"]["code"], "bad_request", "{r}");
}

#[test]
fn onstep_park_and_unpark_as_the_mount_reports_them() {
    let (mut emu, mut d, _spool) = connect("onstep");
    let s = d.state("mount");
    assert_eq!(s["at_park"], false, "{s}");
    let (ra, dec) = high_target(&mut emu);
    d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": dec})),
    );
    let s = d.wait_state("mount", "slew done", LONG, |s| s["slewing"] == false);
    // OnStep's `:Gm#`: the side the goto chose, for teld's meridian flips.
    assert!(s["side_of_pier"] == "east" || s["side_of_pier"] == "west", "{s}");
    d.ok("mount", "park", None);
    let s = d.wait_state("mount", "parked", LONG, |s| s["at_park"] == true);
    assert_eq!(s["tracking"], false, "parked mounts do not track: {s}");
    assert!((f(&s, "declination") - 90.0).abs() < 1e-3, "at the pole: {s}");
    assert_eq!(emu.status()["parked"], true);
    // Idempotent, and slews refused while parked.
    d.ok("mount", "park", None);
    let r = d.call(
        Some("mount"),
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": dec})),
    );
    assert_eq!(r["error"]["code"], "invalid_operation", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("parked"), "{r}");
    assert_eq!(emu.status()["slewing"], false, "nothing was sent to the mount");

    d.ok("mount", "unpark", None);
    let s = d.wait_state("mount", "unparked", LONG, |s| s["at_park"] == false);
    assert_eq!(s["at_park"], false);
    assert_eq!(emu.status()["parked"], false);
    d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": dec})),
    );
    let s = d.wait_state("mount", "slew done", LONG, |s| s["slewing"] == false);
    assert!((f(&s, "declination") - dec).abs() < 1.5 / 3600.0, "{s}");
    assert_eq!(s["tracking"], true);
    d.ok("mount", "set_tracking", Some(json!({"tracking": false})));
    assert_eq!(d.state("mount")["tracking"], false);
}

#[test]
fn generic_park_refuses_slews_until_unparked() {
    let (mut emu, mut d, _spool) = connect("generic");
    d.ok("mount", "park", None);
    let s = d.wait_state("mount", "parked", LONG, |s| s["at_park"] == true);
    assert_eq!(s["slewing"], false);
    assert_eq!(s["side_of_pier"], "unknown", "the Meade set has no pier side: {s}");
    assert_eq!(emu.status()["parked"], true, "the mount itself parked");
    let (ra, dec) = high_target(&mut emu);
    let r = d.call(
        Some("mount"),
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": dec})),
    );
    assert_eq!(r["error"]["code"], "invalid_operation", "{r}");
    d.ok("mount", "unpark", None);
    assert_eq!(d.state("mount")["at_park"], false);
    d.ok(
        "mount",
        "slew_to_coordinates_async",
        Some(json!({"right_ascension": ra, "declination": dec})),
    );
    let s = d.wait_state("mount", "slew done", LONG, |s| s["slewing"] == false);
    assert!((f(&s, "declination") - dec).abs() < 1.5 / 3600.0, "{s}");
}

#[test]
fn shutdown_parks_the_mount() {
    for dialect in ["generic", "onstep"] {
        let (mut emu, mut d, _spool) = connect(dialect);
        let (ra, dec) = high_target(&mut emu);
        d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
        d.ok(
            "mount",
            "slew_to_coordinates_async",
            Some(json!({"right_ascension": ra, "declination": dec})),
        );
        d.wait_state("mount", "slew done", LONG, |s| s["slewing"] == false);
        let status = d.finish();
        assert!(status.success(), "{status:?}");
        let s = emu.wait("parked after shutdown", LONG, |s| s["parked"] == true);
        assert_eq!(s["tracking"], false, "{dialect}: {s}");
        assert!((f(&s, "declination") - 90.0).abs() < 1e-9, "{dialect}: at the pole: {s}");
    }
}

#[test]
fn bad_settings_are_refused_each_with_what_to_fix() {
    let emu = EmulatorProc::start("generic", &[]);
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let port = emu.link.display().to_string();
    for (settings, needle) in [
        (json!({"port": port, "parity": "none"}), "unknown field `parity`"),
        (json!({"baud": 9600}), "missing field `port`"),
        (json!({"port": port, "baud": 9601}), "not a serial line speed"),
        (json!({"port": port, "dialect": "nexstar"}), "unknown variant `nexstar`"),
        (json!({"port": port, "timeout_s": -1.0}), "`timeout_s` = -1"),
        (json!({"port": "/dev/ttyNOPE-lx200"}), "cannot open serial port /dev/ttyNOPE-lx200"),
        // A Meade mount told it is OnStep: found at connect, not at every state read.
        (
            json!({"port": port, "dialect": "onstep", "timeout_s": 0.3}),
            "set dialect = \"generic\" (or \"auto\") in the driver settings",
        ),
    ] {
        let r = d.configure(settings.clone(), spool.path());
        let e = &r["error"];
        assert!(!e.is_null(), "{settings} accepted: {r}");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{settings}: {msg}");
        let advice = ["see drivers/lx200/README.md", "check the port path", "set dialect"];
        assert!(advice.iter().any(|a| msg.contains(a)), "says what to do: {msg}");
    }
}

#[test]
fn the_mount_clock_follows_the_daemons_set_clock() {
    let (mut emu, mut d, _spool) = connect("onstep");
    assert!(emu.status()["utc"].as_str().unwrap().starts_with("2026-11-24T22:00"));
    let r =
        d.call(None, "set_clock", Some(json!({"utc": "2026-11-25T03:30:00.000000", "speed": 1.0})));
    assert!(r.get("error").is_none(), "{r}");
    let st = emu.wait("the new time on the mount", LONG, |s| {
        s["utc"].as_str().unwrap().starts_with("2026-11-25T03:30")
    });
    assert_eq!(st["utc_offset_h"], 0.0, "{st}");
    assert!(st["local"].as_str().unwrap().starts_with("2026-11-25T03:30"), "{st}");
    // teld's clock at 60x: the mount, whose own clock runs in real time, is set
    // again every 10 s and keeps up.
    let r = d.call(
        None,
        "set_clock",
        Some(json!({"utc": "2026-11-25T04:00:00.000000", "speed": 60.0})),
    );
    assert!(r.get("error").is_none(), "{r}");
    emu.wait("the mount's clock kept up with 60x", LONG, |s| {
        s["utc"].as_str().unwrap() >= "2026-11-25T04:10"
    });
    // And state reads go on as before.
    assert_eq!(d.state("mount")["kind"], "mount");
}
