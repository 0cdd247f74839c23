//! Faults on a real serial line, each with an asserted outcome: garbage before an
//! answer, an answer dropped or cut short, a frozen controller, the port unplugged
//! and plugged back (with the mount power-cycled meanwhile). The driver never exits,
//! reports each as a device fault, and recovers by itself.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::emulator::EmulatorProc;
use support::link::{Driver, alerts};

/// Short, so a dropped answer is noticed quickly.
const TIMEOUT_S: f64 = 0.5;
const LONG: Duration = Duration::from_secs(30);

fn connect(dialect: &str) -> (EmulatorProc, Driver, tempfile::TempDir) {
    let emu = EmulatorProc::start(dialect, &[]);
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    let r = d.configure(emu.settings(TIMEOUT_S), spool.path());
    assert!(r.get("error").is_none(), "{r}");
    (emu, d, spool)
}

fn acks(emu: &mut EmulatorProc) -> u64 {
    emu.status()["acks"].as_u64().unwrap()
}

fn error_of(r: &Value) -> (String, String) {
    let e = &r["error"];
    assert!(!e.is_null(), "expected an error: {r}");
    (e["code"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string())
}

/// Reads state until it succeeds again (the poller and the call share the line).
fn state_recovers(d: &mut Driver, what: &str, wait: Duration) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let r = d.call(Some("mount"), "get_state", None);
        if r.get("error").is_none() {
            return r["result"].clone();
        }
        assert!(Instant::now() < deadline, "{what}: still failing after {wait:?}: {r}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn garbage_on_the_line_is_resynchronised_and_the_next_call_succeeds() {
    let (mut emu, mut d, _spool) = connect("generic");
    let before = acks(&mut emu);
    for _ in 0..3 {
        emu.cmd("garbage");
        // Either this read hit the garbage (and was retried once after resync) or the
        // poller did; both leave a clean line and a true state.
        let s = state_recovers(&mut d, "after garbage", LONG);
        assert_eq!(s["kind"], "mount");
        assert!((s["declination"].as_f64().unwrap() - 90.0).abs() < 1e-3, "{s}");
    }
    assert!(acks(&mut emu) > before, "the driver resynchronised with ACK");
    // A burst that outlasts the retry: one call fails, naming the cause, the next works.
    emu.cmd("garbage 6");
    let mut failures = vec![];
    for _ in 0..6 {
        let r = d.call(Some("mount"), "get_state", None);
        if r.get("error").is_some() {
            failures.push(error_of(&r));
        }
    }
    state_recovers(&mut d, "after a garbage burst", LONG);
    for (code, msg) in &failures {
        assert_eq!(code, "device_fault", "{msg}");
        assert!(msg.contains("unreadable answer") && msg.contains("baud"), "{msg}");
    }
    d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
}

#[test]
fn a_dropped_or_partial_answer_times_out_naming_the_port_then_the_driver_recovers() {
    let emu = EmulatorProc::start("onstep", &[]);
    let spool = tempfile::tempdir().unwrap();
    let mut d = Driver::start();
    // The poller reads state only right after calls, so the fault meets our call.
    let r = d.configure_with(emu.settings(TIMEOUT_S), spool.path(), 60_000);
    assert!(r.get("error").is_none(), "{r}");
    let mut emu = emu;
    let port = emu.link.display().to_string();
    for (fault, says) in [("drop", "no answer from the mount"), ("partial", "partial answer")] {
        std::thread::sleep(Duration::from_millis(500)); // the poller's read is over
        emu.cmd(fault);
        let r = d.call(Some("mount"), "get_state", None);
        let (code, msg) = error_of(&r);
        assert_eq!(code, "timeout", "{fault}: {msg}");
        assert!(msg.contains(&port), "{fault}: names the port: {msg}");
        assert!(msg.contains(says) && msg.contains("`:GU#`"), "{fault}: {msg}");
        // The next call resynchronises and succeeds.
        let s = d.state("mount");
        assert_eq!(s["at_park"], false, "{s}");
    }
    assert!(emu.status()["acks"].as_u64().unwrap() >= 2, "resynchronised after each");
}

#[test]
fn a_frozen_mount_times_out_while_pings_are_answered_promptly() {
    let (mut emu, mut d, _spool) = connect("generic");
    emu.cmd("freeze");
    let id = d.send(Some("mount"), "get_state", None);
    for _ in 0..5 {
        let t = Instant::now();
        let r = d.call(None, "ping", None);
        assert!(r.get("error").is_none(), "{r}");
        assert!(t.elapsed() < Duration::from_millis(300), "ping took {:?}", t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    let r = d.answer(id, LONG);
    let (code, msg) = error_of(&r);
    assert_eq!(code, "timeout", "{msg}");
    assert!(msg.contains(&emu.link.display().to_string()), "{msg}");
    // The serve runtime alerts once when the mount stops answering...
    let deadline = Instant::now() + LONG;
    while !alerts(&d.events).iter().any(|a| a.contains("mount cannot be read")) {
        assert!(Instant::now() < deadline, "no alert: {:?}", d.events);
        let _ = d.call(None, "ping", None);
        std::thread::sleep(Duration::from_millis(100));
    }
    // Power lost while silent, the USB adapter still plugged in: the mount comes
    // back knowing nothing, and the driver initialises it again.
    emu.cmd("power-cycle");
    emu.cmd("thaw");
    let s = state_recovers(&mut d, "after thaw", LONG);
    assert_eq!(s["kind"], "mount");
    let st = emu.wait("initialised again", LONG, |s| {
        s["high_precision"] == true && s["utc"].as_str().unwrap().starts_with("2026-11-24T22:0")
    });
    assert!((st["longitude_west_deg"].as_f64().unwrap() - 17.883).abs() < 0.01, "{st}");
    // ...and once when it answers again.
    let deadline = Instant::now() + LONG;
    while !alerts(&d.events).iter().any(|a| a.contains("mount answers again")) {
        assert!(Instant::now() < deadline, "no recovery alert: {:?}", alerts(&d.events));
        let _ = d.call(None, "ping", None);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_unplugged_port_is_a_fault_and_the_driver_reconnects_and_reinitialises_by_itself() {
    let (mut emu, mut d, _spool) = connect("onstep");
    assert_eq!(emu.status()["high_precision"], true);
    let r = emu.cmd("unplug");
    assert_eq!(r["ok"], true, "{r}");
    assert!(!emu.link.exists());
    // State reads fail: first the dead port, then "not connected" while it is gone.
    let deadline = Instant::now() + LONG;
    let (code, msg) = loop {
        let r = d.call(Some("mount"), "get_state", None);
        if r.get("error").is_some() {
            break error_of(&r);
        }
        assert!(Instant::now() < deadline, "state still read from an unplugged port");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, "device_fault", "{msg}");
    assert!(msg.contains("unplugged") || msg.contains("not connected"), "{msg}");
    std::thread::sleep(Duration::from_secs(1));
    let r = d.call(Some("mount"), "get_state", None);
    let (_, msg) = error_of(&r);
    assert!(msg.contains("reconnect"), "says it keeps trying: {msg}");
    assert!(alerts(&d.events).iter().any(|a| a.contains("mount cannot be read")), "{:?}", d.events);

    // Power lost too: the mount comes back in low precision, knowing neither site
    // nor date — the driver must tell it all again.
    emu.cmd("power-cycle");
    let st = emu.status();
    assert_eq!(st["high_precision"], false, "{st}");
    let r = emu.cmd("replug");
    assert_eq!(r["ok"], true, "{r}");
    let s = state_recovers(&mut d, "after replug", LONG);
    assert_eq!(s["kind"], "mount");
    let st = emu.status();
    assert_eq!(st["high_precision"], true, "precision set again: {st}");
    assert!((st["longitude_west_deg"].as_f64().unwrap() - 17.883).abs() < 0.01, "{st}");
    assert!(st["utc"].as_str().unwrap().starts_with("2026-11-24T22:0"), "time set again: {st}");
    // Commands work again, and the driver never restarted.
    d.ok("mount", "set_tracking", Some(json!({"tracking": true})));
    assert_eq!(d.state("mount")["tracking"], true);
    let deadline = Instant::now() + LONG;
    while !alerts(&d.events).iter().any(|a| a.contains("mount answers again")) {
        assert!(Instant::now() < deadline, "no recovery alert: {:?}", alerts(&d.events));
        let _ = d.call(None, "ping", None);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(d.finish().success());
}
