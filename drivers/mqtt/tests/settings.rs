//! Settings the driver and the emulator refuse, and what they say: through the real
//! processes, as teld and a user meet them.

mod support;

use std::net::TcpListener;
use std::process::Command;

use serde_json::{Value, json};
use support::link::Driver;

fn refused(settings: Value) -> (String, String) {
    let mut d = Driver::start();
    let r = d.configure(settings);
    let e = &r["error"];
    assert!(!e.is_null(), "accepted: {r}");
    (e["code"].as_str().unwrap().into(), e["message"].as_str().unwrap().into())
}

fn devices() -> Value {
    json!({"roof": {"kind": "dome", "prefix": "obs/roof"}})
}

#[test]
fn bad_settings_are_refused_naming_the_key_and_what_to_do() {
    let cases = [
        (
            json!({"broker": "127.0.0.1:1883", "devices": devices(), "qos": 2}),
            "unknown field `qos`",
        ),
        (json!({"devices": devices()}), "missing field `broker`"),
        (json!({"broker": "localhost", "devices": devices()}), "give host:port"),
        (json!({"broker": "127.0.0.1:1883", "devices": {}}), "no devices"),
        (
            json!({"broker": "127.0.0.1:1883", "devices": {"roof": {"kind": "roof", "prefix": "a"}}}),
            "unknown variant `roof`, expected `dome` or `weather`",
        ),
        (
            json!({"broker": "127.0.0.1:1883", "devices": {"roof": {"kind": "dome", "prefix": "obs/+"}}}),
            "device `roof`: `prefix` \"obs/+\" contains a wildcard",
        ),
        (
            json!({"broker": "127.0.0.1:1883", "devices": {"w": {"kind": "weather", "prefix": "w", "max_rain_rate": -1}}}),
            "`max_rain_rate` = -1 must be a number of 0 or more",
        ),
        (
            json!({"broker": "127.0.0.1:1883", "max_age_s": 0.1, "devices": devices()}),
            "`max_age_s` = 0.1",
        ),
        (
            json!({"broker": "127.0.0.1:1883", "devices": {"roof": {"kind": "dome", "prefix": "r", "colour": 1}}}),
            "devices.roof.colour",
        ),
    ];
    for (settings, expect) in cases {
        let (code, message) = refused(settings.clone());
        assert_eq!(code, "invalid_value", "{settings}: {message}");
        assert!(message.contains(expect), "{settings}: {message:?} lacks {expect:?}");
        assert!(message.starts_with("mqtt driver settings"), "{message}");
    }
}

#[test]
fn an_unreachable_broker_fails_configure_saying_so() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let broker = format!("127.0.0.1:{port}");
    let (code, message) =
        refused(json!({"broker": broker, "command_timeout_s": 1.0, "devices": devices()}));
    assert_eq!(code, "not_connected");
    assert!(message.contains(&format!("cannot reach MQTT broker {broker}")), "{message}");
    assert!(message.contains("refused"), "{message}");
}

#[test]
fn the_emulator_refuses_bad_options_with_its_usage() {
    let bin = env!("CARGO_BIN_EXE_teld-mqtt-device");
    for (args, expect) in [
        (vec![], "nothing to emulate"),
        (vec!["--roof", "obs/#"], "wildcard"),
        (vec!["--roof", "r", "--period-s", "60"], "--period-s"),
        (vec!["--roof", "r", "--fast"], "unknown option --fast"),
    ] {
        let out = Command::new(bin).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect) && err.contains("usage:"), "{args:?}: {err}");
    }
}
