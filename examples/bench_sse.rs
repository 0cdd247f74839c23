//! Fan-out latency of the live feed: N clients (default 500) hold
//! `GET /api/v1/events` open on a running teld; each round changes a telescope's
//! control mode (`take`, then `release`) and every client times the `telescope`
//! item showing the change, from the item's `real_at` (made by the hub) to its
//! receipt. Prints p50, p99 and max over all clients and rounds.
//!
//! ```text
//! cargo build --release -p teld -p teld-driver-sim
//! target/release/teld run --simulate-from 2026-11-24T19:30:00 &   # listens on 127.0.0.1:8080
//! cargo run --release --example bench_sse -- 127.0.0.1:8080 t1 500 5
//! ```
//! The telescope is left in `auto` at the end. Loopback only.

#[path = "../tests/common/sse.rs"]
#[allow(dead_code)]
mod sse;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn post(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to teld");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "POST {path}: {out}");
    out
}

/// Seconds from the item's `real_at` to now, both UTC epochs (subtracting Unix
/// seconds from a UTC epoch would count the leap seconds since 1970).
fn latency_s(v: &serde_json::Value) -> f64 {
    let sent = teld_driver_protocol::time::parse_utc(v["real_at"].as_str().unwrap()).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    (hifitime::Epoch::from_unix_seconds(now) - sent).to_seconds()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = args.first().map_or("127.0.0.1:8080", String::as_str).parse().unwrap();
    assert!(addr.ip().is_loopback(), "benchmark loopback only");
    let tel = args.get(1).cloned().unwrap_or_else(|| "t1".into());
    let clients: usize = args.get(2).map_or(500, |s| s.parse().unwrap());
    let rounds: usize = args.get(3).map_or(5, |s| s.parse().unwrap());

    // Every client connected and past its hello before the first change.
    let ready = Arc::new(Barrier::new(clients + 1));
    let (tx, rx) = mpsc::channel::<f64>();
    let mut threads = Vec::new();
    for _ in 0..clients {
        let (ready, tx, tel) = (ready.clone(), tx.clone(), tel.clone());
        threads.push(
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut c = sse::SseClient::connect(addr, None);
                    assert_eq!(c.next(Duration::from_secs(30)).unwrap().event, "hello");
                    ready.wait();
                    let mut want = "manual";
                    for _ in 0..rounds * 2 {
                        loop {
                            let m = c.next(Duration::from_secs(60)).expect("stream ended");
                            if m.event != "telescope" {
                                continue;
                            }
                            let v = m.json();
                            if v["name"] == tel.as_str() && v["view"]["control"]["mode"] == want {
                                tx.send(latency_s(&v)).unwrap();
                                break;
                            }
                        }
                        want = if want == "manual" { "paused" } else { "manual" };
                    }
                })
                .unwrap(),
        );
    }
    drop(tx);
    ready.wait();
    eprintln!("{clients} clients connected; {rounds} rounds of take/release on {tel}");
    let mut lat = Vec::new();
    for _ in 0..rounds {
        for action in ["take", "release"] {
            post(addr, &format!("/api/v1/telescopes/{tel}/actions/{action}"));
            for _ in 0..clients {
                lat.push(
                    rx.recv_timeout(Duration::from_secs(60)).expect("a client missed the item"),
                );
            }
        }
    }
    post(addr, &format!("/api/v1/telescopes/{tel}/actions/resume"));
    for t in threads {
        let _ = t.join();
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize] * 1e3;
    println!(
        "sse fan-out: {clients} clients x {} changes = {} receipts; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        rounds * 2,
        lat.len(),
        q(0.5),
        q(0.99),
        q(1.0)
    );
}
