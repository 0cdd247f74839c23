//! `teld-mqtt-device`: an emulated roll-off roof and/or weather station on an MQTT 5
//! broker, following docs/mqtt-devices.md. Scenario control lines on stdin
//! (`rain 5`, `silent`, `offline`, `quit`…); events on stdout (`ACTION open #1`…);
//! its log on stderr. SIGINT/SIGTERM end it like `quit` (availability `offline`).

use std::process::ExitCode;

use teld_driver_mqtt::emulator::control::{self, Control, HELP};
use teld_driver_mqtt::emulator::device::{self, Kind, say};
use teld_driver_mqtt::emulator::roof::Roof;
use teld_driver_mqtt::emulator::station::Station;
use teld_driver_mqtt::emulator::{Options, USAGE};
use tokio::io::AsyncBufReadExt;
use tokio::sync::broadcast;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let o = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("teld-mqtt-device: {e}");
            }
            eprintln!("{USAGE}{HELP}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("teld-mqtt-device: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(o));
    // Tokio's stdin reads on a blocking thread that may be parked in read(2).
    runtime.shutdown_background();
    ExitCode::SUCCESS
}

async fn run(o: Options) {
    let (tx, _) = broadcast::channel::<Control>(64);
    let mut devices = tokio::task::JoinSet::new();
    if let Some(prefix) = o.roof.clone() {
        let roof = Roof::new(o.open, o.travel, tokio::time::Instant::now());
        devices.spawn(device::run(o.clone(), Kind::Roof(roof), prefix, tx.subscribe()));
    }
    if let Some(prefix) = o.weather.clone() {
        let station = Station::default();
        devices.spawn(device::run(o.clone(), Kind::Station(station), prefix, tx.subscribe()));
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => match control::parse(&line) {
                    Ok(c) => {
                        let quit = c == Control::Quit;
                        let _ = tx.send(c);
                        say(&format!("OK {}", line.trim()));
                        if quit {
                            break;
                        }
                    }
                    Err(e) => say(&format!("ERR {e}")),
                },
                // No more controls (run in the background): carry on until a signal.
                Ok(None) | Err(_) => stdin_open = false,
            },
            _ = tokio::signal::ctrl_c() => {
                let _ = tx.send(Control::Quit);
                break;
            }
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {
                let _ = tx.send(Control::Quit);
                break;
            }
            _ = devices.join_next(), if !devices.is_empty() => {}
        }
    }
    while devices.join_next().await.is_some() {}
}
