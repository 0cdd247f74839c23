//! The real `teld-driver-mqtt` process, driven over its stdin/stdout the way teld
//! drives it (the shared harness, `teld-driver-testkit`); its log (stderr) is kept so
//! tests can assert what it said.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;
use teld_driver_testkit::{Driver as Kit, Stderr};

teld_driver_testkit::newtype!(Driver);

impl Driver {
    pub fn start() -> Driver {
        let program = env!("CARGO_BIN_EXE_teld-driver-mqtt");
        Driver(Kit::start(program, "mqtt", "info", Stderr::Capture))
    }

    /// A call without parameters that must succeed: its result.
    pub fn ok(&mut self, device: &str, method: &str) -> Value {
        self.0.ok(device, method, None)
    }

    /// `get_state`'s answer (result or error): stale and missing devices answer errors.
    pub fn state(&mut self, device: &str) -> Value {
        self.0.state_answer(device)
    }

    /// Reads the device's answer to `get_state` until `done` holds.
    pub fn wait_state(
        &mut self,
        device: &str,
        what: &str,
        wait: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.0.wait_state_answer(device, what, wait, done)
    }

    pub fn configure(&mut self, settings: Value) -> Value {
        self.0.configure(settings, &std::env::temp_dir(), 500)
    }
}
