//! LX200 command round trip through the emulator on a real pty at an emulated 9600
//! baud, side by side with the line's physical limit: every byte of command and
//! answer takes 10 bit times (start, 8 data, stop), so a round trip can never beat
//! `(command bytes + answer bytes) × 10 / baud`.
//!
//! ```text
//! cargo run --release -p teld-driver-lx200 --example bench_roundtrip [-- --reps 200 --baud 9600]
//! ```
//! `--reps 5` is the CI smoke run.

use std::time::{Duration, Instant};

use teld_driver_lx200::emulator::{Config, Emulator};
use teld_driver_lx200::mount::{Init, Session};
use teld_driver_lx200::port::{Port, Reply};
use teld_driver_lx200::settings::DialectSetting;

/// The commands a generic-dialect `get_state` sends, in order.
const STATE: [&str; 6] = [":D#", ":GW#", ":GR#", ":GD#", ":GA#", ":GZ#"];

fn args() -> (usize, u32) {
    let mut reps = 200;
    let mut baud = 9600;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().and_then(|v| v.parse::<usize>().ok());
        match (a.as_str(), v) {
            ("--reps", Some(n)) if n > 0 => reps = n,
            ("--baud", Some(b)) if b > 0 => baud = b as u32,
            _ => {
                eprintln!("usage: bench_roundtrip [--reps N] [--baud B]");
                std::process::exit(2);
            }
        }
    }
    (reps, baud)
}

struct Stats {
    median: Duration,
    p95: Duration,
    mean: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    Stats { median: v[v.len() / 2], p95: v[(v.len() * 95 / 100).min(v.len() - 1)], mean }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(what: &str, s: &Stats, bytes: usize, baud: u32) {
    let limit = bytes as f64 * 10.0 / f64::from(baud);
    println!(
        "{what:<28} {:>8.2} {:>8.2} {:>8.2}   {:>8.2} ({bytes:>3} B)   {:>5.2}x",
        ms(s.median),
        ms(s.p95),
        ms(s.mean),
        limit * 1e3,
        s.median.as_secs_f64() / limit
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (reps, baud) = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("ttyLX200");
    let mut cfg = Config::new(&link);
    cfg.baud = Some(baud);
    cfg.high_precision = true;
    let _emulator = Emulator::start(cfg).expect("emulator on a pty");
    let path = link.display().to_string();
    let timeout = Duration::from_secs(2);

    let mut port = Port::open(&path, baud, timeout).expect("open the pty");
    port.resync().await.expect("resync");
    // Bytes on the wire for one get_state: each command, each answer and its '#'.
    let mut state_bytes = 0;
    for c in STATE {
        let a = port.command(c, Reply::Text).await.expect("answer");
        state_bytes += c.len() + a.len() + 1;
    }
    let gr_bytes = ":GR#".len() + "HH:MM:SS#".len();
    let mut gr = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        let a = port.command(":GR#", Reply::Text).await.expect(":GR#");
        gr.push(t.elapsed());
        assert_eq!(a.len(), 8, "high precision: {a}");
    }
    drop(port);

    let port = Port::open(&path, baud, timeout).expect("reopen the pty");
    let init = Init { dialect: DialectSetting::Generic, site: None, time: None };
    let mut session = Session::connect(port, &init).await.expect("connect");
    let mut st = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        session.state().await.expect("state");
        st.push(t.elapsed());
    }

    println!("LX200 round trip through teld-lx200-emulator on a pty at {baud} baud, {reps} reps");
    println!(
        "{:<28} {:>8} {:>8} {:>8}   {:>17}   {:>6}",
        "", "median", "p95", "mean", "line limit", "ratio"
    );
    println!("{:<28} {:>8} {:>8} {:>8}   {:>17}", "", "ms", "ms", "ms", "ms");
    row(":GR# -> HH:MM:SS#", &stats(gr), gr_bytes, baud);
    row("get_state (6 commands)", &stats(st), state_bytes, baud);
    println!("ratio = measured median / physical limit ((command + answer bytes) x 10 / baud)");
}
