//! The `teld-driver-mqtt` binary: logs to stderr, speaks teld's driver protocol on
//! stdin/stdout, and exits 0 after `shutdown` or end of input, 3 when the daemon
//! vanished (roofs and domes are sent `close` either way).

use std::process::ExitCode;

use teld_driver_mqtt::driver::MqttDevices;
use teld_driver_protocol::serve::serve;
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
    let version = env!("CARGO_PKG_VERSION");
    let result = runtime.block_on(serve::<MqttDevices, _, _>(
        "mqtt",
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
