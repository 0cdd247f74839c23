//! The real `teld-driver-alpaca` process, driven over its stdin/stdout the way teld
//! drives it (the shared harness, `teld-driver-testkit`).

#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;
use teld_driver_testkit::{Driver as Kit, Stderr};

teld_driver_testkit::newtype!(Driver);

impl Driver {
    pub fn start() -> Driver {
        let program = env!("CARGO_BIN_EXE_teld-driver-alpaca");
        Driver(Kit::start(program, "alpaca", "warn", Stderr::Inherit))
    }

    pub fn configure(&mut self, settings: Value, spool_dir: &Path) -> Value {
        self.0.configure(settings, spool_dir, 500)
    }
}
