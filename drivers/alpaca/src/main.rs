//! The `teld-driver-alpaca` binary: logs to stderr, speaks teld's driver protocol on
//! stdin/stdout, and exits 0 after `shutdown` or end of input, 3 when the daemon
//! vanished (devices are left closed and parked either way).
//!
//! `teld-driver-alpaca discover [--to HOST:PORT]… [--wait-s S]` instead finds Alpaca
//! servers (by broadcast unless told where to ask) and prints their devices as the
//! driver settings to paste into teld's configuration.

use std::process::ExitCode;

use teld_driver_alpaca::driver::AlpacaDevices;
use teld_driver_protocol::process::{init_logging, run_driver, runtime};

fn main() -> ExitCode {
    init_logging();
    let Some(rt) = runtime() else { return ExitCode::FAILURE };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("discover") {
        let code = rt.block_on(discover(&args[1..]));
        rt.shutdown_background();
        return code;
    }
    run_driver::<AlpacaDevices>(rt, "alpaca", env!("CARGO_PKG_VERSION"))
}

const DISCOVER_USAGE: &str =
    "usage: teld-driver-alpaca discover [--to HOST:PORT]... [--wait-s SECONDS]
  --to      where to send the discovery request (default: broadcast 255.255.255.255:32227)
  --wait-s  how long to collect answers (default 2)";

/// Finds Alpaca servers and prints their devices as driver settings.
async fn discover(args: &[String]) -> ExitCode {
    use std::net::SocketAddr;
    use std::time::Duration;
    use teld_driver_alpaca::discovery;

    let mut targets: Vec<SocketAddr> = Vec::new();
    let mut wait_s = 2.0;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next();
        match (flag.as_str(), value) {
            ("--to", Some(v)) => match v.parse() {
                Ok(a) => targets.push(a),
                Err(_) => {
                    eprintln!("--to {v}: give an IP address and port, e.g. 192.168.1.255:32227");
                    return ExitCode::from(2);
                }
            },
            ("--wait-s", Some(v)) => match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 60.0 => wait_s = s,
                _ => {
                    eprintln!("--wait-s {v}: give seconds between 0 and 60");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("{DISCOVER_USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if targets.is_empty() {
        targets.push(SocketAddr::from(([255, 255, 255, 255], discovery::DISCOVERY_PORT)));
    }
    let wait = Duration::from_secs_f64(wait_s);
    let servers = match discovery::find_servers(&targets, wait).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if servers.is_empty() {
        eprintln!(
            "no Alpaca server answered within {wait_s} s; check that the devices are on and on this network, or give their address with --to"
        );
        return ExitCode::FAILURE;
    }
    for server in servers {
        let found = discovery::list_devices(&server.to_string(), Duration::from_secs(2)).await;
        println!("# Alpaca server {server}: {} devices", found.len());
        print!("{}", discovery::as_settings(&found));
    }
    ExitCode::SUCCESS
}
