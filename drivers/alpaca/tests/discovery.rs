//! `teld-driver-alpaca discover` against the real ASCOM Alpaca simulators. They do not
//! answer UDP discovery themselves, so a responder here plays the server's side of
//! the discovery datagram exactly as the Alpaca API specifies it (`alpacadiscovery1`
//! in, `{"AlpacaPort": N}` back) — on loopback, never a broadcast — and the devices
//! are then listed from the real simulator over HTTP.

mod support;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use support::simulator::AlpacaSim;

/// Answers one discovery request: first with a stray datagram that is not a reply
/// (to be ignored), then as an Alpaca server on `port` would.
fn responder(port: u16) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let at = socket.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let (n, from) = socket.recv_from(&mut buf).expect("a discovery request");
        socket.send_to(b"not an alpaca reply", from).unwrap();
        socket.send_to(format!("{{\"AlpacaPort\": {port}}}").as_bytes(), from).unwrap();
        buf[..n].to_vec()
    });
    (at, thread)
}

#[test]
fn discover_finds_the_server_and_lists_its_devices_as_settings() {
    let Some(sim) = AlpacaSim::start() else {
        let msg = "alpaca-simulators not installed (run .ci/install-peers): Alpaca discovery listing NOT exercised";
        assert!(std::env::var("TELD_REQUIRE_PEERS").as_deref() != Ok("1"), "{msg}");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
        return;
    };
    let port: u16 = sim.addr.rsplit(':').next().unwrap().parse().unwrap();
    let (at, asked) = responder(port);
    let out = Command::new(env!("CARGO_BIN_EXE_teld-driver-alpaca"))
        .args(["discover", "--to", &format!("127.0.0.1:{at}"), "--wait-s", "1"])
        .output()
        .unwrap();
    assert_eq!(asked.join().unwrap(), b"alpacadiscovery1", "the request as the spec words it");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("# Alpaca server 127.0.0.1:{port}:")), "{text}");
    for (table, address) in [
        ("telescope0", "telescope/0"),
        ("camera0", "camera/0"),
        ("dome0", "dome/0"),
        ("filterwheel0", "filterwheel/0"),
        ("focuser0", "focuser/0"),
        ("safetymonitor0", "safetymonitor/0"),
        ("observingconditions0", "observingconditions/0"),
    ] {
        let want = format!("[drivers.settings.devices.{table}]");
        assert!(text.contains(&want), "{want} missing from:\n{text}");
        assert!(text.contains(&format!("address = \"127.0.0.1:{port}/{address}\"")), "{text}");
    }
    assert!(text.contains("# Simulator Filter Wheel"), "named as the device says: {text}");
    assert!(!text.contains("camera1"), "only the devices that exist: {text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not an Alpaca discovery reply"),
        "the stray answer is logged: {stderr}"
    );
}

#[test]
fn nobody_answering_is_a_clear_failure() {
    // A port nobody listens on: the request goes nowhere, nothing answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let at = silent.local_addr().unwrap().port();
    drop(silent);
    let out = Command::new(env!("CARGO_BIN_EXE_teld-driver-alpaca"))
        .args(["discover", "--to", &format!("127.0.0.1:{at}"), "--wait-s", "0.3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no Alpaca server answered") && err.contains("--to"), "{err}");
    let bad = Command::new(env!("CARGO_BIN_EXE_teld-driver-alpaca"))
        .args(["discover", "--to", "somewhere"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("give an IP address and port"));
}
