//! The driver supervisor against misbehaving driver processes: a real simulator that
//! freezes (SIGSTOP), a driver of the wrong protocol version, and one that writes
//! garbage between valid messages. teld must restart the first, refuse the second
//! with a clear reason, and shrug off the third — and never fall over itself.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::daemon::{ensure_sim_driver, signal, teld_bin};
use teld::clock::Clock;
use teld::config::{DEFAULT_CONFIG, DriverConfig};
use teld::core::{Core, DriverStatus, DriverView, Snapshot};
use teld::devices::{Device, DriverHandle, SupervisorContext, spawn_supervisor};
use teld::store::Store;
use teld_driver_protocol::Site;
use tokio_util::sync::CancellationToken;

struct Rig {
    core: Core,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

async fn start(program: &Path, heartbeat_timeout_s: f64) -> (Rig, DriverHandle) {
    start_with(program, heartbeat_timeout_s, 200).await
}

async fn start_with(
    program: &Path,
    heartbeat_timeout_s: f64,
    state_interval_ms: u64,
) -> (Rig, DriverHandle) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
    let core = Core::new(Snapshot::default());
    let start = teld_driver_protocol::time::parse_utc("2026-11-24T20:00:00").unwrap();
    let ctx = Arc::new(SupervisorContext {
        clock: Clock::simulated(start, 60.0),
        core: core.clone(),
        store,
        spool_dir: dir.path().to_path_buf(),
        site: Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 },
        state_interval_ms,
        routes: HashMap::new(),
        expected: HashMap::new(),
        liveness: Default::default(),
    });
    let base =
        teld::config::load_str(DEFAULT_CONFIG, "default", Vec::new()).unwrap().drivers.remove(0);
    let cfg = DriverConfig {
        program: Some(program.display().to_string()),
        heartbeat_interval_s: heartbeat_timeout_s / 4.0,
        heartbeat_timeout_s,
        restart_backoff_initial_s: 0.1,
        restart_backoff_max_s: 0.5,
        start_timeout_s: 5.0,
        ..base
    };
    let shutdown = CancellationToken::new();
    let (handle, _task) = spawn_supervisor(cfg, ctx, shutdown.clone());
    (Rig { core, shutdown, _dir: dir }, handle)
}

/// Waits (on the snapshot's change notifications) until the driver view passes `pred`.
async fn wait_view(core: &Core, what: &str, pred: impl Fn(&DriverView) -> bool) -> DriverView {
    let mut rx = core.watch();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(v) = rx.borrow_and_update().drivers.get("sim").filter(|v| pred(v)).cloned()
            {
                return v;
            }
            rx.changed().await.unwrap();
        }
    })
    .await;
    found.unwrap_or_else(|_| {
        panic!("timed out waiting for {what}; last view {:?}", core.snapshot().drivers.get("sim"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_driver_misses_its_heartbeat_and_is_replaced() {
    ensure_sim_driver();
    let sim = teld_bin().with_file_name("teld-driver-sim");
    let (rig, handle) = start(&sim, 1.0).await;
    let up = wait_view(&rig.core, "driver up", |v| v.status == DriverStatus::Up).await;
    let frozen = up.pid.unwrap();
    let mount = Device::new(handle.clone(), "mount");
    assert!(mount.state().await.is_ok());

    signal(frozen, "STOP");
    let down = wait_view(&rig.core, "driver declared dead", |v| v.restarts >= 1).await;
    assert!(down.last_error.as_deref().unwrap_or("").contains("heartbeat"), "{down:?}");
    let back = wait_view(&rig.core, "replacement up", |v| {
        v.status == DriverStatus::Up && v.pid != Some(frozen)
    })
    .await;
    assert_eq!(back.restarts, 1);
    assert!(mount.state().await.is_ok(), "calls work again after the restart");
    assert!(!common::daemon::process_alive(frozen), "the frozen process was killed");
    rig.shutdown.cancel();
}

fn python_driver(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("driver.py");
    std::fs::write(&path, format!("#!/usr/bin/env python3\nimport json, sys\n{body}")).unwrap();
    let mut perm = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_of_another_protocol_version_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let prog = python_driver(
        dir.path(),
        r#"print(json.dumps({"type": "hello", "protocol": 99, "driver": "future", "version": "9.0.0"}), flush=True)
sys.stdin.readline()
"#,
    );
    let (rig, handle) = start(&prog, 2.0).await;
    let v = wait_view(&rig.core, "refusal", |v| v.restarts >= 1).await;
    let why = v.last_error.unwrap();
    assert!(why.contains("protocol 99") && why.contains("install a matching driver"), "{why}");
    assert!(!handle.is_up());
    rig.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_pipe_is_logged_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    // Speaks the protocol for configure, ping and get_state, and between answers
    // writes things no driver should: non-JSON, unknown message types, a response to
    // an id nobody asked, an answer with neither result nor error.
    let prog = python_driver(
        dir.path(),
        r#"def out(x): sys.stdout.write(x + "\n"); sys.stdout.flush()
out(json.dumps({"type": "hello", "protocol": 1, "driver": "noisy", "version": "0.0.1"}))
for line in sys.stdin:
    req = json.loads(line)
    out("this is not json")
    out(json.dumps({"type": "gossip", "about": "the weather"}))
    out(json.dumps({"type": "response", "id": 987654}))
    m = req.get("method")
    if m == "configure":
        out(json.dumps({"type": "response", "id": req["id"], "result": [
            {"name": "mount", "kind": "mount", "description": "noisy", "capabilities": {}}]}))
    elif m == "get_state" and req.get("device") == "broken":
        out(json.dumps({"type": "response", "id": req["id"]}))
    elif m == "get_state":
        out(json.dumps({"type": "response", "id": req["id"], "result": {"kind": "mount", "connected": True,
            "right_ascension": 1.0, "declination": 2.0, "altitude": 50.0, "azimuth": 90.0, "tracking": True,
            "slewing": False, "at_park": False, "side_of_pier": "west", "equatorial_system": "j2000"}}))
    else:
        out(json.dumps({"type": "response", "id": req["id"], "result": {}}))
"#,
    );
    let (rig, handle) = start(&prog, 2.0).await;
    wait_view(&rig.core, "driver up", |v| v.status == DriverStatus::Up).await;
    let mount = Device::new(handle.clone(), "mount");
    for _ in 0..5 {
        mount.state().await.expect("valid answers get through the noise");
    }
    let broken = Device::new(handle.clone(), "broken").state().await.unwrap_err();
    assert!(broken.to_string().contains("neither result nor error"), "{broken}");
    // Several heartbeats later it is still the same process: noise is not death.
    let v = rig.core.snapshot().drivers["sim"].clone();
    tokio::time::timeout(Duration::from_secs(3), handle.wait_down()).await.expect_err("stays up");
    assert_eq!(rig.core.snapshot().drivers["sim"].pid, v.pid);
    assert_eq!(rig.core.snapshot().drivers["sim"].restarts, 0);
    rig.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_not_echoed_to_waiters() {
    // A waiter wakes on what the driver reports by itself. If teld's own reads were
    // echoed to it, every read would wake the reader at once: a busy loop hammering
    // the driver (found in review: ~6000 reads/s while idle).
    ensure_sim_driver();
    let sim = teld_bin().with_file_name("teld-driver-sim");
    // No periodic state events: the driver speaks only when something changes.
    let (rig, handle) = start_with(&sim, 5.0, 3_600_000).await;
    wait_view(&rig.core, "driver up", |v| v.status == DriverStatus::Up).await;
    let weather = Device::new(handle.clone(), "weather");
    weather.state().await.unwrap();
    let mut events = handle.states();
    for _ in 0..20 {
        weather.state().await.unwrap();
    }
    assert!(
        matches!(events.try_recv(), Err(tokio::sync::broadcast::error::TryRecvError::Empty)),
        "a read was echoed as a driver event"
    );
    rig.shutdown.cancel();
}
