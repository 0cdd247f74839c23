//! The driver run in-process over an in-memory pipe with a stepped clock (speed 0):
//! simulated time moves only when the test sends `set_clock`, so every transition
//! happens at an instant the test chose, and the checks are exact.

mod common;

use common::{Client, configure, empty, meridian_ra_hours, night};
use hifitime::{Duration, Epoch};
use serde_json::json;
use teld_driver_protocol::{
    Call, CameraStatus, ClockSync, DeviceState, DriverMessage, ErrorCode, Event, ShutterStatus,
};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};
use tokio::task::JoinHandle;

type Pipe = Client<ReadHalf<DuplexStream>, WriteHalf<DuplexStream>>;

fn start() -> (Pipe, JoinHandle<Result<teld_driver_sim::Exit, teld_driver_sim::DriverError>>) {
    let (ours, theirs) = tokio::io::duplex(1 << 16);
    let (their_read, their_write) = tokio::io::split(theirs);
    let driver = tokio::spawn(teld_driver_sim::run(their_read, their_write));
    let (our_read, our_write) = tokio::io::split(ours);
    (Client::new(our_read, our_write), driver)
}

async fn configured(settings: serde_json::Value) -> (Pipe, tempfile::TempDir) {
    let spool = tempfile::tempdir().unwrap();
    let (mut c, _driver) = start();
    c.hello().await;
    c.ok(None, configure(settings, night(), 0.0, spool.path().to_str().unwrap(), 0)).await;
    (c, spool)
}

fn at(seconds: f64) -> Epoch {
    night() + Duration::from_seconds(seconds)
}

async fn set_clock(c: &mut Pipe, utc: Epoch) {
    c.ok(None, Call::SetClock(ClockSync { utc, speed: 0.0 })).await;
}

fn error_of(r: teld_driver_protocol::Response) -> (ErrorCode, String) {
    let e = r.error.expect("an error response");
    (e.code, e.message)
}

#[tokio::test]
async fn requests_are_routed_or_refused_with_the_right_code() {
    let (mut c, _driver) = start();
    c.hello().await;
    let (code, _) = error_of(c.call(Some("camera"), Call::AbortExposure).await);
    assert_eq!(code, ErrorCode::NotConnected);
    assert_eq!(c.ok(None, Call::Ping).await, json!({}));

    let spool = tempfile::tempdir().unwrap();
    let dir = spool.path().to_str().unwrap();
    let bad =
        c.call(None, configure(json!({"mount": {"slew_rate": 2}}), night(), 0.0, dir, 0)).await;
    let (code, msg) = error_of(bad);
    assert_eq!(code, ErrorCode::InvalidValue);
    assert!(msg.contains("slew_rate") && msg.contains("mount"), "{msg}");
    c.ok(None, configure(empty(), night(), 0.0, dir, 0)).await;

    let (code, msg) = error_of(c.call(Some("telescope"), Call::GetState).await);
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(msg.contains("telescope"), "{msg}");
    let (code, _) = error_of(
        c.call(Some("weather"), Call::StartExposure { duration: 1.0, light: true, bin: 1 }).await,
    );
    assert_eq!(code, ErrorCode::NotImplemented);
    let (code, _) = error_of(c.call(Some("camera"), Call::Park).await);
    assert_eq!(code, ErrorCode::NotImplemented);
    let (code, _) = error_of(c.call(None, Call::GetState).await);
    assert_eq!(code, ErrorCode::BadRequest);
    let (code, _) = error_of(c.call(Some("mount"), Call::Ping).await);
    assert_eq!(code, ErrorCode::BadRequest);
    let (code, _) = error_of(c.call(None, configure(empty(), night(), 0.0, dir, 0)).await);
    assert_eq!(code, ErrorCode::InvalidOperation, "configure twice");
    // Dome park is harmless and already true.
    c.ok(Some("dome"), Call::Park).await;
    let DeviceState::Weather(w) =
        serde_json::from_value(c.ok(Some("weather"), Call::GetState).await).unwrap()
    else {
        panic!("weather state")
    };
    assert!(w.is_safe && w.pressure.is_some());
}

#[tokio::test]
async fn transitions_happen_exactly_when_the_clock_reaches_them() {
    let (mut c, spool) = configured(empty()).await;
    c.ok(Some("dome"), Call::OpenShutter).await;
    c.state(
        "dome",
        "opening",
        |s| matches!(s, DeviceState::Dome(d) if d.shutter_status == ShutterStatus::Opening),
    )
    .await;
    // One microsecond short of the 60 s shutter time: still opening.
    set_clock(&mut c, at(60.0) - Duration::from_seconds(1e-6)).await;
    let DeviceState::Dome(d) =
        serde_json::from_value(c.ok(Some("dome"), Call::GetState).await).unwrap()
    else {
        panic!()
    };
    assert_eq!(d.shutter_status, ShutterStatus::Opening);
    set_clock(&mut c, at(60.0)).await;
    c.state(
        "dome",
        "open",
        |s| matches!(s, DeviceState::Dome(d) if d.shutter_status == ShutterStatus::Open),
    )
    .await;

    c.ok(Some("camera"), Call::StartExposure { duration: 30.0, light: false, bin: 1 }).await;
    let early = c.call(Some("camera"), Call::ReadImage { spool_path: "a.raw".into() }).await;
    assert_eq!(error_of(early).0, ErrorCode::InvalidOperation);
    let busy =
        c.call(Some("camera"), Call::StartExposure { duration: 1.0, light: true, bin: 1 }).await;
    assert_eq!(error_of(busy).0, ErrorCode::InvalidOperation);
    // Jump past both the exposure end and the readout end: both are reported, in order.
    set_clock(&mut c, at(100.0)).await;
    c.state(
        "camera",
        "reading",
        |s| matches!(s, DeviceState::Camera(x) if x.camera_state == CameraStatus::Reading),
    )
    .await;
    c.state("camera", "ready", |s| matches!(s, DeviceState::Camera(x) if x.image_ready)).await;
    let outside =
        c.call(Some("camera"), Call::ReadImage { spool_path: "/tmp/escape.raw".into() }).await;
    let (code, msg) = error_of(outside);
    assert_eq!(code, ErrorCode::InvalidValue);
    assert!(msg.contains("spool"), "{msg}");
    let info = c.ok(Some("camera"), Call::ReadImage { spool_path: "dark.raw".into() }).await;
    assert_eq!(info["exposure_start"], "2026-11-24T23:01:00.000000");
    assert_eq!(info["light"], false);
    assert_eq!(std::fs::metadata(spool.path().join("dark.raw")).unwrap().len(), 1024 * 1024 * 2);
}

#[tokio::test]
async fn slews_are_refused_below_the_limit_and_reported_when_done() {
    let (mut c, _spool) = configured(json!({"mount": {"min_altitude_deg": 20}})).await;
    let ra = meridian_ra_hours(night());
    let parked = c
        .call(
            Some("mount"),
            Call::SlewToCoordinatesAsync { right_ascension: ra, declination: 20.0 },
        )
        .await;
    assert_eq!(error_of(parked).0, ErrorCode::InvalidOperation);
    c.ok(Some("mount"), Call::Unpark).await;
    c.ok(Some("mount"), Call::SetTracking { tracking: true }).await;
    // Dec −45 culminates at 16° from La Palma: below a 20° limit.
    let low = c
        .call(
            Some("mount"),
            Call::SlewToCoordinatesAsync { right_ascension: ra, declination: -45.0 },
        )
        .await;
    let (code, msg) = error_of(low);
    assert_eq!(code, ErrorCode::InvalidValue);
    assert!(msg.contains("20.00"), "{msg}");
    c.ok(Some("mount"), Call::SlewToCoordinatesAsync { right_ascension: ra, declination: 20.0 })
        .await;
    set_clock(&mut c, at(600.0)).await;
    let done = c
        .state("mount", "arrived", |s| matches!(s, DeviceState::Mount(m) if !m.slewing && (m.declination - 20.0).abs() < 1e-6))
        .await;
    let DeviceState::Mount(m) = done else { unreachable!() };
    assert!((m.right_ascension - ra).abs() < 1e-9 && m.tracking);
    // Park twice: both succeed, the mount ends parked with tracking off.
    c.ok(Some("mount"), Call::Park).await;
    c.ok(Some("mount"), Call::Park).await;
    set_clock(&mut c, at(1200.0)).await;
    let parked =
        c.state("mount", "parked", |s| matches!(s, DeviceState::Mount(m) if m.at_park)).await;
    let DeviceState::Mount(m) = parked else { unreachable!() };
    assert!(!m.tracking && !m.slewing);
    c.ok(Some("mount"), Call::Park).await;
}

#[tokio::test]
async fn weather_turns_at_the_scripted_edges_with_alerts() {
    let script = json!({"weather": {"unsafe": [
        {"from": "2026-11-24T23:10:00", "to": "2026-11-24T23:20:00", "reason": "rain"}
    ]}});
    let (mut c, _spool) = configured(script).await;
    // Jump over the whole interval: both edges are still reported, in order.
    set_clock(&mut c, at(3600.0)).await;
    // Record alerts and changes of is_safe (periodic reports repeat the same state).
    let mut seen = Vec::new();
    let mut safe = true;
    while seen.len() < 4 {
        match c.next().await {
            DriverMessage::Event(Event::Alert { device, message }) => {
                assert_eq!(device.as_deref(), Some("weather"));
                seen.push(format!("alert: {message}"));
            }
            DriverMessage::Event(Event::State { state: DeviceState::Weather(w), .. })
                if w.is_safe != safe =>
            {
                safe = w.is_safe;
                seen.push(format!("safe={} rain={:?}", w.is_safe, w.rain_rate));
            }
            _ => {}
        }
    }
    assert!(
        seen[0].starts_with("alert: weather unsafe (rain) until 2026-11-24T23:20:00"),
        "{seen:?}"
    );
    assert_eq!(seen[1], "safe=false rain=Some(2.0)");
    assert_eq!(seen[2], "alert: weather safe again");
    assert_eq!(seen[3], "safe=true rain=Some(0.0)");
}

#[tokio::test]
async fn end_of_input_and_shutdown_end_run() {
    let (mut c, driver) = start();
    c.hello().await;
    c.close().await;
    assert_eq!(driver.await.unwrap().unwrap(), teld_driver_sim::Exit::EndOfInput);

    let (mut c, driver) = start();
    c.hello().await;
    c.ok(None, Call::Shutdown).await;
    assert_eq!(driver.await.unwrap().unwrap(), teld_driver_sim::Exit::Shutdown);
}

#[tokio::test]
async fn the_filter_wheel_and_focuser_move_and_report_where_they_are() {
    let (mut c, _spool) = configured(json!({
        "filter_wheel": {"names": ["L", "R", "Ha"], "focus_offsets": [0, 30, -20], "slot_time_s": 2},
        "focuser": {"start_position": 1000, "steps_per_s": 100}
    }))
    .await;
    c.ok(Some("filter_wheel"), Call::SetPosition { position: 2 }).await;
    // Three slots: 0 → 2 is one slot backwards; the position is unknown meanwhile.
    let turning = c.ok(Some("filter_wheel"), Call::GetState).await;
    assert_eq!(turning["position"], serde_json::Value::Null, "{turning}");
    set_clock(&mut c, at(2.0)).await;
    let at_ha = c
        .state(
            "filter_wheel",
            "at Ha",
            |s| matches!(s, DeviceState::FilterWheel(w) if w.filter() == Some("Ha")),
        )
        .await;
    let DeviceState::FilterWheel(w) = at_ha else { unreachable!() };
    assert_eq!((w.position, w.focus_offsets[2]), (Some(2), -20));
    let (code, msg) =
        error_of(c.call(Some("filter_wheel"), Call::SetPosition { position: 3 }).await);
    assert_eq!(code, ErrorCode::InvalidValue);
    assert!(msg.contains("slot 3 does not exist"), "{msg}");

    c.ok(Some("focuser"), Call::Move { position: 980 }).await;
    set_clock(&mut c, at(2.1)).await;
    let moving = c.ok(Some("focuser"), Call::GetState).await;
    assert_eq!(
        (moving["is_moving"].as_bool(), moving["position"].as_i64()),
        (Some(true), Some(990))
    );
    set_clock(&mut c, at(2.2)).await;
    let there = c
        .state("focuser", "focused", |s| matches!(s, DeviceState::Focuser(f) if !f.is_moving))
        .await;
    let DeviceState::Focuser(f) = there else { unreachable!() };
    assert_eq!(f.position, Some(980));
    assert!(f.temperature.is_some(), "the probe reads the air temperature");
    let (code, _) = error_of(c.call(Some("focuser"), Call::Move { position: -5 }).await);
    assert_eq!(code, ErrorCode::InvalidValue);
    let bad = c.call(Some("camera"), Call::Halt).await;
    assert_eq!(error_of(bad).0, ErrorCode::NotImplemented);
}
