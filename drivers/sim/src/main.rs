//! The `teld-driver-sim` binary: logs to stderr, speaks the protocol on stdin/stdout,
//! and exits 0 after `shutdown` or end of input, non-zero when the daemon vanished.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(teld_driver_sim::run(tokio::io::stdin(), tokio::io::stdout()));
    // Tokio's stdin reads on a blocking thread that may be parked in read(2); do not
    // wait for it.
    runtime.shutdown_background();
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(_) => ExitCode::FAILURE, // already logged by `run`
    }
}
