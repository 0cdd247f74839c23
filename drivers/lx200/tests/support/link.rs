//! The real `teld-driver-lx200` process, driven over its stdin/stdout the way teld
//! drives it (the shared harness, `teld-driver-testkit`).

#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;
use teld_driver_testkit::{Driver as Kit, Stderr};

/// Alerts seen so far, as text.
pub fn alerts(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "alert")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

teld_driver_testkit::newtype!(Driver);

impl Driver {
    pub fn start() -> Driver {
        let program = env!("CARGO_BIN_EXE_teld-driver-lx200");
        Driver(Kit::start(program, "lx200", "warn", Stderr::Inherit))
    }

    pub fn configure(&mut self, settings: Value, spool_dir: &Path) -> Value {
        self.0.configure(settings, spool_dir, 500)
    }

    /// `state_interval_ms`: long keeps the poller off the line except right after calls.
    pub fn configure_with(
        &mut self,
        settings: Value,
        spool_dir: &Path,
        state_interval_ms: u64,
    ) -> Value {
        self.0.configure(settings, spool_dir, state_interval_ms)
    }
}
