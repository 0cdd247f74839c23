//! The `teld-driver-sim` binary: logs to stderr, speaks the protocol on stdin/stdout,
//! and exits 0 after `shutdown` or end of input, non-zero when the daemon vanished.

use std::process::ExitCode;

use teld_driver_protocol::process::{init_logging, runtime};

fn main() -> ExitCode {
    init_logging();
    let identity = match teld_driver_sim::Identity::from_args(std::env::args().skip(1)) {
        Ok(id) => id,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime() else { return ExitCode::FAILURE };
    let result = runtime.block_on(teld_driver_sim::run_as(
        tokio::io::stdin(),
        tokio::io::stdout(),
        identity,
    ));
    // Tokio's stdin reads on a blocking thread that may be parked in read(2); do not
    // wait for it.
    runtime.shutdown_background();
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(_) => ExitCode::FAILURE, // already logged by `run`
    }
}
