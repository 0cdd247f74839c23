//! End-to-end tests of the real `teld-driver-sim` binary over its stdin/stdout, on a
//! clock running 600× real time: a night's work of slews and exposures, bad input,
//! and every way the driver can end.

mod common;

use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{Client, PATIENCE, configure, empty, meridian_ra_hours, night};
use serde_json::json;
use teld_driver_protocol::{
    Call, CameraStatus, DeviceKind, DeviceState, DriverMessage, ErrorCode, Event, ImageInfo,
    ShutterStatus,
};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const SPEED: f64 = 600.0;

fn spawn() -> (Child, Client<ChildStdout, ChildStdin>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_teld-driver-sim"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("the driver binary starts");
    let stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, Client::new(stdout, stdin))
}

async fn exit_status(child: &mut Child) -> ExitStatus {
    tokio::time::timeout(PATIENCE, child.wait()).await.expect("driver exits in time").unwrap()
}

#[tokio::test]
async fn a_night_of_work_at_600x() {
    let spool = tempfile::tempdir().unwrap();
    let (mut child, mut c) = spawn();
    let hello = c.hello().await;
    assert_eq!((hello.protocol, hello.driver.as_str()), (1, "sim"));
    assert_eq!(hello.version, env!("CARGO_PKG_VERSION"));

    let early = c.call(Some("mount"), Call::GetState).await;
    assert_eq!(early.error.unwrap().code, ErrorCode::NotConnected);

    let spool_dir = spool.path().to_str().unwrap();
    let devices = c.ok(None, configure(empty(), night(), SPEED, spool_dir, 10_000)).await;
    let devices: Vec<teld_driver_protocol::DeviceInfo> = serde_json::from_value(devices).unwrap();
    let names: Vec<_> = devices.iter().map(|d| (d.name.as_str(), d.kind)).collect();
    assert_eq!(
        names,
        [
            ("mount", DeviceKind::Mount),
            ("camera", DeviceKind::Camera),
            ("dome", DeviceKind::Dome),
            ("weather", DeviceKind::Weather),
            ("filter_wheel", DeviceKind::FilterWheel),
            ("focuser", DeviceKind::Focuser)
        ]
    );
    assert_eq!(devices[0].capabilities.get("can_slew_async"), Some(&true));
    assert_eq!(devices[1].capabilities.get("can_abort_exposure"), Some(&true));
    assert_eq!(devices[2].capabilities.get("can_set_shutter"), Some(&true));

    // Slew to the meridian at Dec +20 (a mid galactic latitude field on this night).
    c.ok(Some("mount"), Call::Unpark).await;
    c.ok(Some("mount"), Call::SetTracking { tracking: true }).await;
    c.ok(Some("dome"), Call::OpenShutter).await;
    let ra = meridian_ra_hours(night());
    let t0 = Instant::now();
    c.ok(Some("mount"), Call::SlewToCoordinatesAsync { right_ascension: ra, declination: 20.0 })
        .await;
    c.state("mount", "slewing", |s| matches!(s, DeviceState::Mount(m) if m.slewing)).await;
    let arrived =
        c.state("mount", "slew done", |s| matches!(s, DeviceState::Mount(m) if !m.slewing)).await;
    let DeviceState::Mount(m) = arrived else { unreachable!() };
    assert!(m.tracking && (m.declination - 20.0).abs() < 1e-6, "{m:?}");
    // A ~60 s slew at 600× takes about 0.1 s of real time.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    c.state(
        "dome",
        "shutter open",
        |s| matches!(s, DeviceState::Dome(d) if d.shutter_status == ShutterStatus::Open),
    )
    .await;

    c.ok(Some("camera"), Call::StartExposure { duration: 60.0, light: true, bin: 1 }).await;
    c.state(
        "camera",
        "reading",
        |s| matches!(s, DeviceState::Camera(cam) if cam.camera_state == CameraStatus::Reading),
    )
    .await;
    c.state("camera", "image ready", |s| matches!(s, DeviceState::Camera(cam) if cam.image_ready))
        .await;
    let path = spool.path().join("frame-0001.raw");
    let info = c
        .ok(Some("camera"), Call::ReadImage { spool_path: path.to_str().unwrap().to_string() })
        .await;
    let info: ImageInfo = serde_json::from_value(info).unwrap();
    assert_eq!((info.width, info.height, info.duration, info.light), (1024, 1024, 60.0, true));
    let start = teld_driver_protocol::time::parse_utc(&info.exposure_start).unwrap();
    let since_night = (start - night()).to_seconds();
    assert!(since_night > 60.0 && since_night < 3.0 * 3600.0, "{}", info.exposure_start);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 1024 * 1024 * 2);
    let mut pixels: Vec<u16> = bytes.chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
    pixels.sort_unstable();
    let (median, max) = (pixels[pixels.len() / 2], pixels[pixels.len() - 1]);
    assert!(median > 1100 && median < 1400, "bias + sky: {median}");
    assert!(max > median + 5000, "stars: max {max}, median {median}");

    // Garbage and an unknown method are answered (when they carry an id) and survived.
    c.send_raw("this is not json").await;
    c.send_raw(r#"{"type":"request","id":900,"method":"self_destruct"}"#).await;
    let r = c.response(900).await;
    let e = r.error.unwrap();
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert!(e.message.contains("self_destruct"), "{}", e.message);
    c.send_raw(r#"{"type":"request","id":901,"device":"mount","method":"slew_to_coordinates_async","params":{"right_ascension":"x"}}"#).await;
    assert_eq!(c.response(901).await.error.unwrap().code, ErrorCode::BadRequest);
    c.send_raw(&format!(r#"{{"junk":"{}"}}"#, "x".repeat(2 << 20))).await;
    assert_eq!(c.ok(None, Call::Ping).await, json!({}));

    // Shutdown makes safe, answers, and exits 0.
    let id = c.send(None, Call::Shutdown).await;
    let rest = c.until_closed().await;
    let answered = rest
        .iter()
        .any(|m| matches!(m, DriverMessage::Response(r) if r.id == id && r.error.is_none()));
    assert!(answered, "shutdown answered");
    let closing = rest.iter().any(|m| {
        matches!(m, DriverMessage::Event(Event::State { state: DeviceState::Dome(d), .. })
            if d.shutter_status == ShutterStatus::Closing)
    });
    assert!(closing, "shutter closing before exit: {rest:?}");
    assert!(exit_status(&mut child).await.success());
}

#[tokio::test]
async fn end_of_input_exits_cleanly() {
    let spool = tempfile::tempdir().unwrap();
    let (mut child, mut c) = spawn();
    c.hello().await;
    c.ok(None, configure(empty(), night(), SPEED, spool.path().to_str().unwrap(), 10_000)).await;
    c.close().await;
    assert_eq!(exit_status(&mut child).await.code(), Some(0));
}

#[tokio::test]
async fn silence_from_the_daemon_ends_the_driver_with_an_error() {
    let spool = tempfile::tempdir().unwrap();
    let (mut child, mut c) = spawn();
    c.hello().await;
    let t0 = Instant::now();
    c.ok(None, configure(empty(), night(), SPEED, spool.path().to_str().unwrap(), 400)).await;
    // Keep stdin open but say nothing more.
    let status = exit_status(&mut child).await;
    let waited = t0.elapsed();
    assert!(!status.success(), "{status:?}");
    assert!(waited >= Duration::from_millis(400), "not before the timeout: {waited:?}");
    assert!(waited < Duration::from_secs(5), "soon after it: {waited:?}");
    drop(c);
}

#[tokio::test]
async fn pings_keep_the_driver_alive() {
    let spool = tempfile::tempdir().unwrap();
    let (mut child, mut c) = spawn();
    c.hello().await;
    c.ok(None, configure(empty(), night(), SPEED, spool.path().to_str().unwrap(), 400)).await;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(1200) {
        c.ok(None, Call::Ping).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(child.try_wait().unwrap().is_none(), "still running after 3 timeouts' worth of pings");
    c.ok(None, Call::Shutdown).await;
    assert!(exit_status(&mut child).await.success());
}
