//! Nights under a roll-off roof and weather station that live behind MQTT: the real
//! teld with its real sim driver (mount, camera) and MQTT driver, the emulated
//! device `teld-mqtt-device`, and a private mosquitto, from
//! `config/examples/mqtt-devices.toml`. The devices run on the real clock, so teld
//! runs at speed 1 from a simulated night-time start.

mod common;

#[path = "../drivers/mqtt/tests/support/broker.rs"]
mod broker;
#[path = "../drivers/mqtt/tests/support/device.rs"]
mod device;

use std::collections::BTreeSet;
use std::time::Duration;

use broker::Broker;
use common::daemon::{Teld, TestSite, ensure_sim_driver, history};
use device::Emulator;
use serde_json::Value;

const NIGHT: &str = "2026-11-24T22:00:00";

fn site(name: &str, broker: &Broker) -> TestSite {
    ensure_sim_driver();
    let example = include_str!("../config/examples/mqtt-devices.toml");
    let addr = format!("\"{}\"", broker.address());
    let replace = [
        // Telemetry's broker, then the driver's: both the private one.
        ("\"127.0.0.1:1883\"", addr.as_str()),
        ("\"127.0.0.1:1883\"", addr.as_str()),
        ("reopen_after_safe_s = 60.0", "reopen_after_safe_s = 3.0"),
        // A brisk mount, so parking from anywhere takes seconds, not a minute.
        (
            "[drivers.settings.camera]",
            "[drivers.settings.mount]\nslew_rate_deg_s = 15.0\n\n[drivers.settings.camera]",
        ),
    ];
    TestSite::from_config(name, example, &replace, "")
}

fn emulator(broker: &Broker) -> Emulator {
    let args = ["--roof", "teld-demo/roof", "--weather", "teld-demo/weather", "--travel-s", "2"];
    Emulator::start(&broker.address(), &args)
}

fn request(name: &str, ra: f64, dec: f64, exposure: f64, count: u32) -> String {
    format!(
        r#"{{"name": "{name}", "target": {{"name": "{name}", "ra_deg": {ra}, "dec_deg": {dec}}},
            "exposure_s": {exposure}, "count": {count}, "priority": 50}}"#
    )
}

fn telescope(teld: &Teld) -> Value {
    teld.get("/api/v1/status")["telescopes"]["t1"].clone()
}

fn wait_exposing_under_open_roof(teld: &Teld) {
    teld.wait_for("an exposure under an open roof", Duration::from_secs(90), |t| {
        let tel = telescope(t);
        (tel["camera"]["camera_state"] == "exposing" && tel["dome"]["shutter_status"] == "open")
            .then_some(())
    });
}

/// Rain: teld must say unsafe, close the roof (as the device reports) and park.
fn rain_closes_the_roof(teld: &Teld, emulator: &mut Emulator) {
    let closed_before = emulator.count("ROOF closed");
    emulator.say("rain 3");
    teld.wait_for("the site to turn unsafe for rain", Duration::from_secs(30), |t| {
        let safety = &telescope(t)["safety"];
        (safety["safe"] == false && safety["reason"].as_str().unwrap_or("").contains("rain"))
            .then_some(())
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let tel = telescope(teld);
        if tel["dome"]["shutter_status"] == "closed" && tel["mount"]["at_park"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "roof not closed and mount not parked in 60 s: {tel}\nemulator: {:?}\nteld log:\n{}",
            emulator.lines(),
            teld.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The device itself went through the motion.
    emulator.wait_count("ROOF closed", closed_before + 1, Duration::from_secs(10));
    emulator.say("rain 0");
}

/// Every action the device carried out had its own command id, and every one of
/// those ids was sent once by the driver: no command acted on twice.
fn assert_no_duplicate_actions(emulator: &Emulator, teld: &Teld) {
    let ids: Vec<String> = emulator
        .lines()
        .iter()
        .filter(|l| l.starts_with("ACTION "))
        .map(|l| l.rsplit("id=").next().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an id carried out twice: {:?}", emulator.lines());
    let log = teld.log_text();
    for id in &unique {
        let sent = log.lines().filter(|l| l.contains("command sent") && l.contains(id.as_str()));
        assert_eq!(sent.count(), 1, "command {id} not sent exactly once by the driver");
    }
}

#[test]
fn a_night_under_an_mqtt_roof_closes_for_rain_then_completes() {
    let Some(broker) = Broker::start("teld with MQTT roof and weather") else { return };
    let mut emulator = emulator(&broker);
    let site = site("mqtt-night", &broker);
    let teld = Teld::start(&site, NIGHT, 1.0);
    let a = teld.submit(&request("field-45-30", 45.0, 30.0, 2.0, 8));
    wait_exposing_under_open_roof(&teld);
    rain_closes_the_roof(&teld, &mut emulator);
    let r = teld.wait_state(a, "completed", Duration::from_secs(180));
    assert_eq!(r["frames"].as_array().unwrap().len(), 8, "{r}");
    let h = history(&r);
    assert!(h.iter().any(|(s, d)| s == "queued" && d.contains("site unsafe")), "{h:?}");
    for f in r["frames"].as_array().unwrap() {
        assert!(site.archive().join(f["path"].as_str().unwrap()).is_file(), "{f}");
    }
    // Opened for the night, closed for rain, opened again.
    assert!(emulator.count("ACTION open") >= 2, "{:?}", emulator.lines());
    assert!(emulator.count("ACTION close") >= 1);
    assert_no_duplicate_actions(&emulator, &teld);
    let st = teld.get("/api/v1/status");
    assert_eq!(st["drivers"]["mqtt"]["restarts"], 0, "{st}");
}

#[test]
fn a_broker_restart_mid_night_loses_no_command_and_repeats_no_action() {
    let Some(mut broker) = Broker::start("teld across an MQTT broker restart") else { return };
    let mut emulator = emulator(&broker);
    let site = site("mqtt-restart", &broker);
    let teld = Teld::start(&site, NIGHT, 1.0);
    let a = teld.submit(&request("field-60-25", 60.0, 25.0, 2.0, 8));
    wait_exposing_under_open_roof(&teld);

    broker.kill();
    emulator.wait_count("DISCONNECTED roof", 1, Duration::from_secs(10));
    teld.wait_log("lost MQTT broker", Duration::from_secs(10));
    broker.start_again();
    emulator.wait_count("CONNECTED roof", 2, Duration::from_secs(15));

    // Commands flow again: rain after the restart closes the roof, and dry reopens it.
    rain_closes_the_roof(&teld, &mut emulator);
    let r = teld.wait_state(a, "completed", Duration::from_secs(180));
    assert_eq!(r["frames"].as_array().unwrap().len(), 8, "{r}");
    assert!(emulator.count("ACTION open") >= 2, "{:?}", emulator.lines());
    assert_no_duplicate_actions(&emulator, &teld);
    // The driver rode out the restart; teld did not have to restart it.
    let st = teld.get("/api/v1/status");
    assert_eq!(st["drivers"]["mqtt"]["restarts"], 0, "{st}");
}
