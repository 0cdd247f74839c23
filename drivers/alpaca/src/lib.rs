//! teld's ASCOM Alpaca driver: telescopes, cameras, domes, filter wheels, focusers,
//! safety monitors and observing conditions on Alpaca servers (API v1), each at a static address, behind
//! teld's driver protocol.
//!
//! - [`envelope`] and [`imagebytes`]: the wire formats, decoded strictly.
//! - [`http`]: keep-alive HTTP/1.1 with a timeout on every wait.
//! - [`client`]: one device's members, with transaction ids and typed failures.
//! - [`mount`], [`camera`], [`dome`], [`filterwheel`], [`focuser`], [`weather`]: the ASCOM interfaces mapped to
//!   teld's calls and states; [`driver`]: the device set the protocol serves.
//!
//! Why not the `ascom-alpaca` crate: it is a 1.0 beta that brings its own HTTP
//! stack (reqwest), error-report and n-dimensional array crates, and maps the
//! servers' non-Alpaca refusals (FastAPI 422/404 bodies) to one opaque error; what
//! teld needs is a few hundred lines on the hyper already in its tree, with
//! timeouts and errors of its own. Notes on the servers tested against:
//! `docs/research/alpaca-simulators.md`.

pub mod address;
pub mod camera;
pub mod client;
pub mod discovery;
pub mod dome;
pub mod driver;
pub mod envelope;
pub mod filterwheel;
pub mod focuser;
pub mod http;
pub mod imagebytes;
pub mod mount;
pub mod settings;
pub mod weather;

use teld_driver_protocol::serve::CallError;
use teld_driver_protocol::{Call, ErrorCode};

use client::Endpoint;

/// Sets `Connected` and reads it back: the device's word, not ours, says it is.
async fn connect(ep: &Endpoint) -> Result<(), CallError> {
    ep.put("connected", &[("Connected", "true".to_string())]).await?;
    if ep.get_bool("connected").await? {
        Ok(())
    } else {
        Err(CallError::new(
            ErrorCode::NotConnected,
            format!(
                "{}: the device stays disconnected; check its cable and power, and its own log",
                ep.address
            ),
        ))
    }
}

fn not_for(kind: &str, call: &Call) -> CallError {
    CallError::new(ErrorCode::NotImplemented, format!("`{}` is not a {kind} call", call.method()))
}
