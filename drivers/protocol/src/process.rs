//! What every driver program does around the protocol: log to stderr (the daemon
//! copies those lines into its own log), run one current-thread runtime, and turn why
//! the driver stopped into its exit status.

use std::process::ExitCode;

use tokio::runtime::Runtime;
use tracing_subscriber::EnvFilter;

use crate::serve::{Devices, serve};

/// Plain lines on stderr at `RUST_LOG` (default `info`): the daemon reads the level
/// from the start of each line.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
}

/// A current-thread runtime; `None` (logged) if the system refuses one.
pub fn runtime() -> Option<Runtime> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            None
        }
    }
}

/// Serves the devices of `D` on stdin/stdout until the daemon leaves or asks to stop:
/// exit 0 after `shutdown` or end of input, 3 when the daemon vanished, 1 on an I/O
/// failure (devices are made safe in every case).
pub fn run_driver<D: Devices>(runtime: Runtime, driver: &str, version: &str) -> ExitCode {
    let result = runtime.block_on(serve::<D, _, _>(
        driver,
        version,
        tokio::io::stdin(),
        tokio::io::stdout(),
    ));
    // Tokio's stdin reads on a blocking thread that may be parked in read(2).
    runtime.shutdown_background();
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(_) => ExitCode::FAILURE, // logged by `serve`
    }
}
