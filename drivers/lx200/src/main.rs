//! The `teld-driver-lx200` binary: logs to stderr, speaks teld's driver protocol on
//! stdin/stdout, and exits 0 after `shutdown` or end of input, 3 when the daemon
//! vanished (the mount is left parked either way).

use std::process::ExitCode;

use teld_driver_lx200::driver::Lx200Devices;
use teld_driver_protocol::process::{init_logging, run_driver, runtime};

fn main() -> ExitCode {
    init_logging();
    let Some(rt) = runtime() else { return ExitCode::FAILURE };
    run_driver::<Lx200Devices>(rt, "lx200", env!("CARGO_PKG_VERSION"))
}
