//! One live connection to a driver process: request ids, pending answers, timeouts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use teld_driver_protocol::message::WireError;
use teld_driver_protocol::{Call, DaemonMessage, DeviceInfo, Request, Response};
use tokio::sync::{mpsc, oneshot};

use super::DeviceError;

type Answer = Result<Value, WireError>;

pub struct Link {
    pub driver: String,
    devices: Mutex<Vec<DeviceInfo>>,
    to_driver: mpsc::Sender<DaemonMessage>,
    pending: Mutex<HashMap<u64, (String, oneshot::Sender<Answer>)>>,
    next_id: AtomicU64,
    /// Set when the process is gone: later calls fail at once instead of waiting
    /// for an answer that cannot come.
    closed: AtomicBool,
}

impl Link {
    pub fn new(driver: &str, to_driver: mpsc::Sender<DaemonMessage>) -> Self {
        Link {
            driver: driver.into(),
            devices: Mutex::new(Vec::new()),
            to_driver,
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        }
    }

    pub fn set_devices(&self, devices: Vec<DeviceInfo>) {
        *self.devices.lock().unwrap_or_else(|e| e.into_inner()) = devices;
    }

    pub fn device(&self, name: &str) -> Option<DeviceInfo> {
        let devices = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        devices.iter().find(|d| d.name == name).cloned()
    }

    pub async fn call(
        &self,
        device: Option<&str>,
        call: Call,
        timeout: Duration,
    ) -> Result<Value, DeviceError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let method = call.method().to_string();
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(id, (method.clone(), tx));
        let interrupted =
            || DeviceError::Interrupted { driver: self.driver.clone(), method: method.clone() };
        // Checked after inserting: either `fail_all` ran later and dropped our
        // sender, or it ran earlier and we see `closed` here.
        if self.closed.load(Ordering::SeqCst) {
            self.lock_pending().remove(&id);
            return Err(interrupted());
        }
        let msg = DaemonMessage::Request(Request { id, device: device.map(str::to_string), call });
        if self.to_driver.send(msg).await.is_err() {
            self.lock_pending().remove(&id);
            return Err(interrupted());
        }
        let answer = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(interrupted()),
            Err(_) => {
                self.lock_pending().remove(&id);
                return Err(DeviceError::Timeout {
                    driver: self.driver.clone(),
                    method,
                    after_s: timeout.as_secs_f64(),
                });
            }
        };
        answer.map_err(|e| DeviceError::Device {
            driver: self.driver.clone(),
            device: device.unwrap_or("-").to_string(),
            method,
            code: e.code,
            message: e.message,
        })
    }

    /// Delivers a response; `false` if nobody waits for that id (late or bogus).
    pub fn resolve(&self, resp: Response) -> bool {
        let Some((method, tx)) = self.lock_pending().remove(&resp.id) else { return false };
        let answer = match (resp.result, resp.error) {
            (_, Some(e)) => Err(e),
            (Some(v), None) => Ok(v),
            (None, None) => Err(WireError {
                code: teld_driver_protocol::ErrorCode::BadRequest,
                message: format!("response to `{method}` has neither result nor error"),
            }),
        };
        let _ = tx.send(answer);
        true
    }

    /// Closes the link: every pending and later request gets `Interrupted`.
    pub fn fail_all(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.lock_pending().clear();
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, (String, oneshot::Sender<Answer>)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}
