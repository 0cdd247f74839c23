//! The `teld-driver-mqtt` binary: logs to stderr, speaks teld's driver protocol on
//! stdin/stdout, and exits 0 after `shutdown` or end of input, 3 when the daemon
//! vanished (roofs and domes are sent `close` either way).

use std::process::ExitCode;

use teld_driver_mqtt::driver::MqttDevices;
use teld_driver_protocol::process::{init_logging, run_driver, runtime};

fn main() -> ExitCode {
    init_logging();
    let Some(rt) = runtime() else { return ExitCode::FAILURE };
    run_driver::<MqttDevices>(rt, "mqtt", env!("CARGO_PKG_VERSION"))
}
