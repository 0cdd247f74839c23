//! The real driver against the real emulated roof and weather station through a
//! real mosquitto: what works when nothing goes wrong.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::broker::Broker;
use support::device::Emulator;
use support::link::Driver;

const WAIT: Duration = Duration::from_secs(10);

fn settings(broker: &str) -> Value {
    json!({"broker": broker, "client_id": "teld-test", "command_timeout_s": 3.0, "max_age_s": 3.0,
        "devices": {
            "roof": {"kind": "dome", "prefix": "obs/roof"},
            "weather": {"kind": "weather", "prefix": "obs/weather", "max_wind_speed": 15.0}}})
}

fn setup(what: &str) -> Option<(Broker, Emulator, Driver)> {
    let broker = Broker::start(what)?;
    let args =
        ["--roof", "obs/roof", "--weather", "obs/weather", "--travel-s", "3", "--period-s", "0.5"];
    let emulator = Emulator::start(&broker.address(), &args);
    let mut driver = Driver::start();
    let r = driver.configure(settings(&broker.address()));
    assert!(r.get("error").is_none(), "{r}");
    let kinds: Vec<(&str, &str)> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("roof", "dome"), ("weather", "weather")]);
    Some((broker, emulator, driver))
}

fn shutter(s: &Value) -> &str {
    s["result"]["shutter_status"].as_str().unwrap_or("?")
}

#[test]
fn the_roof_opens_and_closes_as_its_own_state_confirms() {
    let Some((_broker, emulator, mut driver)) = setup("MQTT roof open/close") else { return };
    let s = driver.state("roof");
    assert_eq!(
        s["result"],
        json!({"kind": "dome", "connected": true, "shutter_status": "closed", "at_park": true, "slewing": false})
    );

    driver.ok("roof", "open_shutter");
    // Acknowledged means started, not done: the device's state says it is moving.
    driver.wait_state("roof", "opening", Duration::from_millis(1500), |s| shutter(s) == "opening");
    let s = driver.wait_state("roof", "open", WAIT, |s| shutter(s) == "open");
    assert_eq!(s["result"]["at_park"], false);
    assert_eq!(emulator.count("ACTION open #1"), 1);

    driver.ok("roof", "park"); // a roof parks by closing
    let s = driver.wait_state("roof", "closed", WAIT, |s| shutter(s) == "closed");
    assert_eq!(s["result"]["at_park"], true);

    driver.ok("roof", "open_shutter");
    driver.wait_state("roof", "opening", WAIT, |s| shutter(s) == "opening");
    driver.ok("roof", "abort_slew");
    // Stopped between the limit switches: neither open nor closed.
    driver.wait_state("roof", "stopped part open", WAIT, |s| shutter(s) == "error");
    driver.ok("roof", "close_shutter");
    driver.wait_state("roof", "closed", WAIT, |s| shutter(s) == "closed");
    assert_eq!(emulator.count("ACTION abort"), 1);
    assert_eq!(emulator.count("ACTION close"), 2);
    assert_eq!(emulator.count("ACTION open"), 2);

    for (device, method) in
        [("roof", "unpark"), ("roof", "abort_exposure"), ("weather", "open_shutter")]
    {
        assert_eq!(driver.refused(device, method)["code"], "not_implemented", "{device} {method}");
    }
    let e = driver.refused("dome", "get_state");
    assert_eq!(e["code"], "bad_request");
    assert!(e["message"].as_str().unwrap().contains("roof, weather"), "{e}");
    assert!(driver.finish().success());
    // make_safe closed it once more on the way out.
    emulator.wait_count("ACTION close", 3, WAIT);
}

#[test]
fn weather_is_unsafe_on_rain_wind_or_the_stations_word() {
    let Some((_broker, mut emulator, mut driver)) = setup("MQTT weather limits") else { return };
    let s = driver.state("weather")["result"].clone();
    assert_eq!(s["is_safe"], true, "{s}");
    assert_eq!(s["connected"], true);
    assert_eq!((s["rain_rate"].as_f64(), s["humidity"].as_f64()), (Some(0.0), Some(40.0)));
    assert_eq!(s["pressure"], 770.0);

    let safe = |s: &Value| s["result"]["is_safe"] == true;
    emulator.say("rain 2.5");
    let s = driver.wait_state("weather", "rain", WAIT, |s| !safe(s));
    assert_eq!(s["result"]["rain_rate"], 2.5);
    assert_eq!(s["result"]["connected"], true, "unsafe, not unknown");
    driver.wait_log(
        "weather unsafe: the station reports unsafe; rain rate 2.5 mm/h above the limit 0",
        1,
        WAIT,
    );
    emulator.say("rain 0");
    driver.wait_state("weather", "dry", WAIT, safe);

    // The station says safe; the driver's limit (15 m/s) says no.
    emulator.say("wind 20");
    driver.wait_state("weather", "wind", WAIT, |s| !safe(s) && s["result"]["wind_speed"] == 20.0);
    driver.wait_log("wind speed 20 m/s above the limit 15", 1, WAIT);
    emulator.say("wind 5");
    driver.wait_state("weather", "calm", WAIT, safe);

    emulator.say("safe false");
    let s = driver.wait_state("weather", "station unsafe", WAIT, |s| !safe(s));
    assert_eq!(s["result"]["rain_rate"], 0.0);
    emulator.say("safe auto");
    driver.wait_state("weather", "safe again", WAIT, safe);
    assert!(driver.finish().success());
}

#[test]
fn a_repeated_command_id_is_answered_again_but_carried_out_once() {
    let Some(broker) = Broker::start("MQTT command dedup") else { return };
    let emulator = Emulator::start(&broker.address(), &["--roof", "obs/roof", "--travel-s", "1"]);
    let replies =
        support::raw::command(broker.port, "obs/roof/command", br#"{"method":"open"}"#, "dup-1", 3);
    assert_eq!(replies, vec![r#"{"ok":true}"#; 3]);
    // Its stdout is read on a thread: wait for the lines, then count exactly.
    emulator.wait_count("REPLAY open id=dup-1", 2, WAIT);
    emulator.wait_count("ACTION open", 1, WAIT);
    assert_eq!(emulator.count("ACTION open"), 1, "{:?}", emulator.lines());
    assert_eq!(emulator.count("REPLAY open id=dup-1"), 2);
    let unknown =
        support::raw::command(broker.port, "obs/roof/command", br#"{"method":"fly"}"#, "x-1", 1);
    assert!(unknown[0].contains("unknown_method"), "{unknown:?}");
}

/// Measured: a command's round trip as the daemon sees it — driver stdin → broker →
/// device → reply → driver stdout — on loopback mosquitto.
#[test]
fn command_round_trip_through_the_broker() {
    let Some((_broker, emulator, mut driver)) = setup("MQTT command round trip") else { return };
    const N: usize = 50;
    let mut took: Vec<f64> = (0..N)
        .map(|_| {
            let t0 = std::time::Instant::now();
            driver.ok("roof", "abort_slew"); // carried out, moves nothing
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    took.sort_by(f64::total_cmp);
    let (median, p95) = (took[N / 2], took[N * 95 / 100]);
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "MQTT command round trip over {N} calls: median {median:.1} ms, p95 {p95:.1} ms, max {:.1} ms",
        took[N - 1]
    );
    // Generous: a debug build on a loaded CI machine; a hang would be seconds.
    assert!(median < 200.0, "median {median} ms");
    emulator.wait_count("ACTION abort", N, WAIT);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(emulator.count("ACTION abort"), N, "each call carried out exactly once");
}
