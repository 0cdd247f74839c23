//! Waiting for a device to reach a state, the ASCOM way: command, then confirm by
//! reading the device's own state.

use std::future::Future;
use std::time::Duration as StdDuration;

use hifitime::Duration;

use super::{Device, DeviceError};
use crate::clock::Clock;

/// Re-read at least this often (real time) even without a state event, in case an
/// event was lost or the driver only reports on request.
const POLL: StdDuration = StdDuration::from_millis(250);

/// Reads with `read` until `done` holds, waking on every state event the device's
/// driver reports and at least every [`POLL`]. Gives up after `timeout_s` seconds of
/// the daemon's clock.
pub async fn wait_for<T, F, Fut>(
    clock: &Clock,
    device: &Device,
    what: &str,
    timeout_s: f64,
    mut read: F,
    done: impl Fn(&T) -> bool,
) -> Result<T, DeviceError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, DeviceError>>,
{
    let deadline = clock.now() + Duration::from_seconds(timeout_s);
    let mut events = device.driver.states();
    loop {
        crate::liveness::touch();
        let value = read().await?;
        if done(&value) {
            return Ok(value);
        }
        if clock.now() >= deadline {
            return Err(DeviceError::WaitTimeout { what: what.to_string(), after_s: timeout_s });
        }
        tokio::select! {
            _ = next_event_for(&mut events, &device.name) => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = clock.sleep_until(deadline) => {}
        }
    }
}

async fn next_event_for(
    events: &mut tokio::sync::broadcast::Receiver<(String, teld_driver_protocol::DeviceState)>,
    device: &str,
) {
    loop {
        match events.recv().await {
            Ok((name, _)) if name == device => return,
            Ok(_) => {}
            // Missed some: re-read now.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                return std::future::pending().await;
            }
        }
    }
}
