//! The real driver, emulator and mosquitto when things go wrong: a device that goes
//! quiet, dies, hangs or talks nonsense, and a broker that restarts mid-command.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::broker::Broker;
use support::device::Emulator;
use support::link::Driver;

const WAIT: Duration = Duration::from_secs(10);
/// Short, so staleness shows quickly; the emulator publishes every 0.5 s.
const MAX_AGE_S: f64 = 2.0;

fn start(what: &str, command_timeout_s: f64) -> Option<(Broker, Emulator, Driver)> {
    let broker = Broker::start(what)?;
    let args =
        ["--roof", "obs/roof", "--weather", "obs/weather", "--travel-s", "1", "--period-s", "0.5"];
    let emulator = Emulator::start(&broker.address(), &args);
    let mut driver = Driver::start();
    let settings = json!({"broker": broker.address(), "client_id": "teld-test",
        "command_timeout_s": command_timeout_s, "max_age_s": MAX_AGE_S,
        "devices": {
            "roof": {"kind": "dome", "prefix": "obs/roof"},
            "weather": {"kind": "weather", "prefix": "obs/weather"}}});
    let r = driver.configure(settings);
    assert!(r.get("error").is_none(), "{r}");
    Some((broker, emulator, driver))
}

fn shutter(s: &Value) -> &str {
    s["result"]["shutter_status"].as_str().unwrap_or("?")
}

fn safe(s: &Value) -> bool {
    s["result"]["is_safe"] == true
}

fn fault(s: &Value) -> String {
    assert_eq!(s["error"]["code"], "device_fault", "{s}");
    s["error"]["message"].as_str().unwrap().to_string()
}

#[test]
fn a_silent_device_goes_stale_weather_unsafe_and_the_roof_unreadable() {
    let Some((_b, mut emulator, mut driver)) = start("MQTT stale state", 3.0) else { return };
    assert!(safe(&driver.state("weather")));
    emulator.say("silent");
    let t0 = Instant::now();
    let s = driver.wait_state("weather", "stale", WAIT, |s| !safe(s));
    let took = t0.elapsed().as_secs_f64();
    assert!(took > MAX_AGE_S - 0.7, "unsafe after {took} s: before the state was stale");
    assert_eq!(s["result"]["connected"], false, "{s}");
    assert!(s["result"].get("rain_rate").is_none(), "an old reading is not shown as current");
    driver.wait_log("state unknown, counted as unsafe: state of obs/weather is stale", 1, WAIT);
    let roof = driver.wait_state("roof", "stale", WAIT, |s| s.get("error").is_some());
    assert!(fault(&roof).contains("stale"), "{roof}");
    // The serve runtime tells the operator once.
    driver.wait_log("cannot read state", 1, WAIT);

    std::thread::sleep(Duration::from_millis(1500)); // more polls of the same spell
    emulator.say("talk");
    driver.wait_state("weather", "fresh", WAIT, safe);
    driver.wait_state("roof", "fresh", WAIT, |s| shutter(s) == "closed");
    driver.wait_log("weather safe", 1, WAIT);
    // Logged once per spell, not on every poll as its age ticks up.
    assert_eq!(driver.log_count("weather unsafe:"), 1, "{}", driver.log().join("\n"));
}

#[test]
fn a_killed_device_is_offline_by_its_last_will() {
    let Some((_b, mut emulator, mut driver)) = start("MQTT last will", 3.0) else { return };
    assert!(safe(&driver.state("weather")));
    emulator.kill();
    let s = driver.wait_state("weather", "offline", Duration::from_secs(5), |s| !safe(s));
    assert_eq!(s["result"]["connected"], false);
    driver.wait_log("device offline", 2, WAIT);
    let roof = driver.state("roof");
    assert!(fault(&roof).contains("offline"), "{roof}");
    // Known offline: refused at once, not after the 3 s timeout.
    let t0 = Instant::now();
    let e = driver.refused("roof", "open_shutter");
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    assert_eq!(e["code"], "device_fault");
    assert!(e["message"].as_str().unwrap().contains("offline"), "{e}");
}

#[test]
fn a_hung_device_times_out_naming_the_device_and_topic() {
    let Some((_b, mut emulator, mut driver)) = start("MQTT command timeout", 2.0) else { return };
    emulator.say("mute");
    let t0 = Instant::now();
    let e = driver.refused("roof", "open_shutter");
    let took = t0.elapsed();
    assert_eq!(e["code"], "timeout", "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("roof") && msg.contains("obs/roof/command"), "{msg}");
    assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "{took:?}");
    emulator.wait_count("IGNORED roof", 1, WAIT);
    assert_eq!(emulator.count("ACTION open"), 0);
    // Its state still arrives: the roof did not move.
    assert_eq!(shutter(&driver.state("roof")), "closed");

    emulator.say("unmute");
    driver.ok("roof", "open_shutter");
    driver.wait_state("roof", "open", WAIT, |s| shutter(s) == "open");
    assert_eq!(emulator.count("ACTION open"), 1);
}

#[test]
fn a_command_reaching_a_frozen_device_late_is_not_carried_out() {
    let Some((_b, emulator, mut driver)) = start("MQTT command expiry", 2.0) else { return };
    // Frozen with its connection open: the broker still delivers into the socket.
    emulator.signal("STOP");
    let e = driver.refused("roof", "open_shutter");
    assert_eq!(e["code"], "timeout", "{e}");
    std::thread::sleep(Duration::from_millis(1500)); // well past the command's expiry
    emulator.signal("CONT"); // before the broker's keep-alive gives up on it (7.5 s)
    emulator.wait_count("EXPIRED open", 1, WAIT);
    assert_eq!(emulator.count("ACTION open"), 0, "{:?}", emulator.lines());
    // It reports closed throughout: the old order did not open the roof.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(shutter(&driver.state("roof")), "closed");
}

#[test]
fn malformed_payloads_are_logged_and_ignored() {
    let Some((b, mut emulator, mut driver)) = start("MQTT malformed payloads", 3.0) else { return };
    emulator.say("garbage");
    // Five bad payloads on each of the two state topics, each refused with the reason.
    driver.wait_log("ignored a malformed state", 10, WAIT);
    let log = driver.log().join("\n");
    for why in ["shutter_status", "`humidity` = 140 is outside", "spec version 7", "expected"] {
        assert!(log.contains(why), "no {why:?} in the log:\n{log}");
    }
    assert!(safe(&driver.state("weather")));
    assert_eq!(shutter(&driver.state("roof")), "closed");

    // A retained state left by a long-dead device: arrives now, dated an hour ago.
    support::raw::publish(
        b.port,
        "obs/roof/state",
        br#"{"time":"2020-01-01T00:00:00Z","shutter_status":"open","at_park":false}"#,
        true,
    );
    emulator.say("silent");
    let s = driver.wait_state("roof", "old state refused", WAIT, |s| s.get("error").is_some());
    assert!(fault(&s).contains("its own time"), "{s}");
    // Replies without correlation data or of the wrong shape do not disturb anything.
    support::raw::publish(b.port, "obs/roof/reply/teld-test", b"{\"ok\":true}", false);
    driver.wait_log("ignored a reply without correlation data", 1, WAIT);
    emulator.say("talk");
    driver.wait_state("roof", "fresh", WAIT, |s| shutter(s) == "closed");
}

#[test]
fn a_broker_restart_resumes_commands_without_duplicate_actions() {
    let Some((mut broker, mut emulator, mut driver)) = start("MQTT broker restart", 10.0) else {
        return;
    };
    driver.ok("roof", "open_shutter");
    driver.wait_state("roof", "open", WAIT, |s| shutter(s) == "open");

    broker.kill();
    emulator.wait_count("DISCONNECTED roof", 1, WAIT);
    driver.wait_log("lost MQTT broker", 1, WAIT);
    // Sent while the broker is away: it must arrive once the broker is back.
    let close = driver.send(Some("roof"), "close_shutter", None);
    std::thread::sleep(Duration::from_secs(1));
    broker.start_again();
    let r = driver.answer(close, Duration::from_secs(15));
    assert!(r.get("error").is_none(), "{r}");
    emulator.wait_count("CONNECTED roof", 2, WAIT);
    emulator.wait_count("CONNECTED weather", 2, WAIT);
    driver.wait_state("roof", "closed", WAIT, |s| shutter(s) == "closed");
    driver.wait_state("weather", "fresh again", WAIT, safe);
    assert_eq!(emulator.count("ACTION close"), 1, "{:?}", emulator.lines());
    assert_eq!(emulator.count("ACTION open"), 1);

    // A reply lost to a dying broker: the command was carried out, the driver never
    // heard. After the restart it re-sends the same id; the device answers from
    // memory and does not act again.
    emulator.say("lose-reply");
    let open = driver.send(Some("roof"), "open_shutter", None);
    emulator.wait_count("LOST reply to open", 1, WAIT);
    broker.kill();
    broker.start_again();
    let r = driver.answer(open, Duration::from_secs(15));
    assert!(r.get("error").is_none(), "{r}");
    emulator.wait_count("REPLAY open", 1, WAIT);
    driver.wait_state("roof", "open", WAIT, |s| shutter(s) == "open");
    assert_eq!(emulator.count("ACTION open"), 2, "{:?}", emulator.lines());

    // Commands carry on as normal.
    driver.ok("roof", "close_shutter");
    driver.wait_state("roof", "closed", WAIT, |s| shutter(s) == "closed");
    assert_eq!(emulator.count("ACTION close"), 2);
    assert!(driver.finish().success());
}
