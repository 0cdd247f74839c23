//! Camera image download and decode from the ASCOM Alpaca simulators: teld's Alpaca
//! client (ImageBytes, decoded and transposed to FITS order) against alpyca's
//! `Camera.ImageArray` (the ASCOM reference Python client), same server, same run.
//!
//!     cargo run --release -p teld-driver-alpaca --example bench_download -- [--reps N] [--sizes 1024,4096]
//!
//! Needs `.ci/install-peers` (alpaca-simulators and alpyca in .venv-peers). Prints
//! the median time of each and the ratio alpyca / teld.

#[path = "../tests/support/simulator.rs"]
mod simulator;

use std::sync::Arc;
use std::time::{Duration, Instant};

use teld_driver_alpaca::address::Address;
use teld_driver_alpaca::client::{Endpoint, Session, Timeouts};
use teld_driver_alpaca::http::{Server, Wait};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or(default.into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let reps: usize = arg("--reps", "10").parse().expect("--reps N");
    let sizes: Vec<usize> =
        arg("--sizes", "1024,4096").split(',').map(|s| s.parse().expect("--sizes")).collect();
    println!(
        "| frame | bytes | HTTP transfer alone (server's limit) | teld download + decode | alpyca ImageArray | alpyca / teld |"
    );
    println!("|---|---|---|---|---|---|");
    for size in sizes {
        let sim = simulator::AlpacaSim::start_with(|yaml| {
            yaml.replace("cameraxsize: 1024", &format!("cameraxsize: {size}"))
                .replace("cameraysize: 1024", &format!("cameraysize: {size}"))
                .replace("numx: 1024", &format!("numx: {size}"))
                .replace("numy: 1024", &format!("numy: {size}"))
        })
        .expect("alpaca-simulators not installed: run .ci/install-peers");
        // One dark frame; the server hands out the same image on every download.
        sim.put("camera/0/startexposure", "Duration=0.1&Light=false");
        let deadline = Instant::now() + Duration::from_secs(60);
        while sim.get("camera/0/imageready") != true {
            assert!(Instant::now() < deadline, "no image");
            std::thread::sleep(Duration::from_millis(50));
        }
        let address = Address::parse(&format!("{}/camera/0", sim.addr)).unwrap();
        let wait = Wait { answer: Duration::from_secs(60), idle: Duration::from_secs(10) };
        let ep = Endpoint::new(
            address,
            Arc::new(Server::new(sim.addr.clone())),
            Arc::new(Session::new(1)),
            Timeouts { call: wait, image: wait },
        );
        let warm = ep.image().await.expect("download");
        assert_eq!((warm.width, warm.height), (size, size));
        // The transfer alone, bytes only, on the same client: what no client can beat.
        let server = Server::new(sim.addr.clone());
        let path = format!("/api/v1/camera/0/imagearray?ClientID=1&ClientTransactionID={}", 1);
        let (mut teld, mut floor) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let t = Instant::now();
            let img = ep.image().await.expect("download");
            teld.push(t.elapsed().as_secs_f64());
            assert_eq!(img.data.len(), size * size * 2);
            let t = Instant::now();
            let raw =
                server.send(&path, None, "application/imagebytes", wait).await.expect("transfer");
            floor.push(t.elapsed().as_secs_f64());
            assert_eq!(raw.body.len(), 44 + size * size * 2);
        }
        let py = std::process::Command::new(simulator::venv().join("bin/python"))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bench_download.py"))
            .arg(&sim.addr)
            .arg((reps + 1).to_string())
            .output()
            .expect("run alpyca");
        assert!(py.status.success(), "alpyca failed: {}", String::from_utf8_lossy(&py.stderr));
        let out: serde_json::Value = serde_json::from_slice(&py.stdout).expect("alpyca JSON");
        // Its first call opens the connection, as teld's warm-up did.
        let alpyca: Vec<f64> =
            out["times"].as_array().unwrap().iter().skip(1).map(|t| t.as_f64().unwrap()).collect();
        let (f, t, a) = (median(floor), median(teld), median(alpyca));
        println!(
            "| {size}×{size} u16 | {:.1} MB | {:.1} ms | {:.1} ms | {:.1} ms | {:.2}× |",
            (size * size * 2) as f64 / 1e6,
            f * 1e3,
            t * 1e3,
            a * 1e3,
            a / t
        );
    }
}
