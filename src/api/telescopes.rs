//! Telescopes: their live view, and the operator actions on them
//! (`POST /api/v1/telescopes/{name}/actions/{action}`).
//!
//! Every action is idempotent and answers the device states read *after* the
//! command, from the devices themselves: an operator who parked needs to know the
//! mount is parked, not that teld believes so.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use teld_driver_protocol::{CameraStatus, ShutterStatus};

use super::{ApiError, ApiState};
use crate::auth::Caller;
use crate::core::{ControlView, TelescopeView};
use crate::devices::{DeviceError, Telescope};
use crate::observe::Action;
use crate::observe::control::{ApplyError, Refusal};

/// Longest `wait_s`: a dome takes a minute or two; beyond that the caller should
/// watch the live feed instead of holding a request open.
pub const MAX_WAIT_S: f64 = 120.0;
/// How often `stop` re-reads the devices while waiting for them to come to rest.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How often an action looks again for a driver that is down.
const DRIVER_RETRY: Duration = Duration::from_millis(250);

#[derive(Serialize)]
pub struct Named {
    pub name: String,
    #[serde(flatten)]
    pub view: TelescopeView,
}

#[utoipa::path(get, path = "/api/v1/telescopes", operation_id = "list_telescopes", tag = "telescopes",
    responses((status = 200, description = "Every telescope's live view", body = Vec<super::schemas::TelescopeState>)))]
pub async fn list(State(st): State<ApiState>) -> Json<Vec<Named>> {
    let snap = st.core.snapshot();
    Json(
        snap.telescopes
            .iter()
            .map(|(name, view)| Named { name: name.clone(), view: view.clone() })
            .collect(),
    )
}

#[utoipa::path(get, path = "/api/v1/telescopes/{name}", operation_id = "show_telescope", tag = "telescopes",
    params(("name" = String, Path, description = "The telescope's name from the config")),
    responses(
        (status = 200, description = "The telescope's live view", body = super::schemas::TelescopeState),
        (status = 404, description = "`not_found`: no such telescope", body = super::schemas::ErrorBody),
    ))]
pub async fn show(
    State(st): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Named>, ApiError> {
    let snap = st.core.snapshot();
    let view = snap.telescopes.get(&name).ok_or_else(|| unknown(&name))?;
    Ok(Json(Named { name, view: view.clone() }))
}

fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!("no telescope `{name}`; GET /api/v1/telescopes lists them"))
}

#[derive(Serialize)]
pub struct ActionReply {
    pub telescope: String,
    pub action: &'static str,
    pub control: ControlView,
    pub state: DeviceStates,
    /// The device confirmed what was asked (parked, closed, open, stopped).
    pub done: bool,
}

/// Each device's state as read right after the command; a device that could not
/// be read shows `{"error": …}`, a missing dome `null`.
#[derive(Serialize)]
pub struct DeviceStates {
    pub mount: Value,
    pub dome: Value,
    pub camera: Value,
}

#[utoipa::path(post, path = "/api/v1/telescopes/{name}/actions/{action}", operation_id = "telescope_action", tag = "telescopes",
    params(
        ("name" = String, Path, description = "The telescope's name from the config"),
        ("action" = String, Path, description = "`stop`, `park`, `close`, `open`, `resume`, `take` or `release`"),
        ("wait_s" = Option<f64>, Query, minimum = 0, maximum = 120, description = "Wait up to this many seconds for the devices (default 0: answer at once); over 30 s the answer is 503 `timeout` while the action goes on"),
        ("force" = Option<bool>, Query, description = "Take the telescope from another operator's manual control"),
        ("reason" = Option<String>, Query, description = "Why, kept with the control mode and in the audit log"),
    ),
    responses(
        (status = 200, description = "Done or under way; the devices as read afterwards", body = super::schemas::ActionResult),
        (status = 400, description = "`invalid_query`: wait_s or force cannot be read", body = super::schemas::ErrorBody),
        (status = 404, description = "`not_found`: no such telescope or action", body = super::schemas::ErrorBody),
        (status = 409, description = "`control_held`, `control_required` or `interlock_refused`", body = super::schemas::ErrorBody),
        (status = 500, description = "`internal`: the action's task failed", body = super::schemas::ErrorBody),
        (status = 502, description = "`device_error`: a device refused or failed the command", body = super::schemas::ErrorBody),
        (status = 503, description = "`driver_down`, `store_unavailable` or `timeout`: retry later", body = super::schemas::ErrorBody),
    ))]
pub async fn action(
    State(st): State<ApiState>,
    caller: Option<Extension<Caller>>,
    Path((name, action)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<ActionReply>, ApiError> {
    let caller = caller.map(|Extension(c)| c).unwrap_or_else(Caller::local);
    let tel = st.controls.telescope(&name).cloned().ok_or_else(|| unknown(&name))?;
    let act = Action::parse(&action).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no action `{action}`; use one of stop, park, close, open, resume, take, release"
            ),
        )
    })?;
    let wait_s = match q.get("wait_s") {
        None => 0.0,
        Some(v) => match v.parse::<f64>() {
            Ok(w) if (0.0..=MAX_WAIT_S).contains(&w) => w,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format!("wait_s must be a number of seconds from 0 to {MAX_WAIT_S}, got `{v}`"),
                )
                .field("wait_s"));
            }
        },
    };
    let force = match q.get("force").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("force must be true or false, got `{v}`"),
            )
            .field("force"));
        }
    };
    let reason = q.get("reason").filter(|r| !r.trim().is_empty()).cloned();
    let wait = Duration::from_secs_f64(wait_s);

    // The interlocks are checked before the mode changes, so a refused open leaves
    // everything as it was.
    if act == Action::Open {
        let current = st.controls.get(&name).unwrap_or_default();
        crate::observe::control::decide(&current, act, &caller, force).map_err(refused)?;
        tel.interlocks
            .check_open(&tel.safety(), st.clock.now())
            .map_err(|e| interlock(DeviceError::Interlock(e)))?;
    }
    let control = match st.controls.apply(&name, act, &caller, force, reason).await {
        Some(Ok(c)) => c,
        Some(Err(ApplyError::Refused(r))) => return Err(refused(r)),
        Some(Err(ApplyError::Store(e))) => return Err(e.into()),
        None => return Err(unknown(&name)),
    };
    let done = match act {
        Action::Stop => {
            let t = tel.clone();
            let deadline = tokio::time::Instant::now() + wait;
            run_for(wait, move || {
                let t = t.clone();
                async move {
                    // The block stops itself on the mode change; these make sure the
                    // hardware stops now even if no block was running.
                    let _ = t.camera.abort_exposure().await;
                    if t.mount.state().await.is_ok_and(|s| s.slewing) {
                        let _ = t.mount.abort_slew().await;
                    }
                    Ok(())
                }
            })
            .await?;
            // A mount decelerating or a camera finishing its abort takes a moment:
            // look again until they say so or the wait is over.
            loop {
                if stopped(&tel).await || tokio::time::Instant::now() >= deadline {
                    break stopped(&tel).await;
                }
                tokio::time::sleep(STOP_POLL).await;
            }
        }
        Action::Park => {
            // Commanded even when the mount reads parked: park is idempotent, and the
            // answer is what the mount reports after the command.
            let t = tel.clone();
            run_for(wait, move || {
                let t = t.clone();
                async move { t.park().await }
            })
            .await?;
            tel.mount.state().await.is_ok_and(|s| s.at_park && !s.slewing)
        }
        Action::Close => {
            let t = tel.clone();
            run_for(wait, move || {
                let t = t.clone();
                async move { t.close_dome().await }
            })
            .await?;
            dome_is(&tel, ShutterStatus::Closed).await
        }
        Action::Open => {
            let t = tel.clone();
            run_for(wait, move || {
                let t = t.clone();
                async move { t.open_dome().await }
            })
            .await?;
            dome_is(&tel, ShutterStatus::Open).await
        }
        Action::Resume | Action::Take | Action::Release => true,
    };
    let state = read_states(&tel).await;
    Ok(Json(ActionReply { telescope: name, action: act.as_str(), control, state, done }))
}

/// Starts `op` in its own task (so it finishes even if the caller stops waiting)
/// and waits up to `wait` for it. A failure within the wait is the answer; one
/// after it is logged. A driver that is down (starting, or restarting) is waited
/// for within `wait`: every action here is idempotent, so it is sent again once the
/// driver is back rather than refused while it boots.
async fn run_for<F, Fut>(wait: Duration, op: F) -> Result<(), ApiError>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), DeviceError>> + Send + 'static,
{
    let deadline = tokio::time::Instant::now() + wait;
    let task = tokio::spawn(async move {
        let r = loop {
            match op().await {
                Err(DeviceError::DriverDown { .. } | DeviceError::Interrupted { .. })
                    if tokio::time::Instant::now() + DRIVER_RETRY < deadline =>
                {
                    tokio::time::sleep(DRIVER_RETRY).await;
                }
                r => break r,
            }
        };
        if let Err(e) = &r {
            tracing::warn!("operator action failed: {e}");
        }
        r
    });
    match tokio::time::timeout_at(deadline, task).await {
        Ok(Ok(Ok(()))) | Err(_) => Ok(()),
        Ok(Ok(Err(e))) => Err(device_error(e)),
        Ok(Err(join)) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the action's task failed ({join}); check the daemon's log"),
        )),
    }
}

async fn stopped(tel: &Telescope) -> bool {
    let (m, c) = tokio::join!(tel.mount.state(), tel.camera.state());
    m.is_ok_and(|m| !m.slewing)
        && c.is_ok_and(|c| {
            !matches!(c.camera_state, CameraStatus::Exposing | CameraStatus::Waiting)
        })
}

async fn dome_is(tel: &Telescope, want: ShutterStatus) -> bool {
    match tel.dome_state().await {
        Ok(Some(d)) => d.shutter_status == want,
        // No dome: nothing to open or close.
        Ok(None) => true,
        Err(_) => false,
    }
}

async fn read_states(tel: &Arc<Telescope>) -> DeviceStates {
    let (m, d, c) = tokio::join!(tel.mount.state(), tel.dome_state(), tel.camera.state());
    fn v<T: Serialize>(r: Result<T, DeviceError>) -> Value {
        match r {
            Ok(s) => serde_json::to_value(s).unwrap_or(Value::Null),
            Err(e) => json!({ "error": e.to_string() }),
        }
    }
    DeviceStates { mount: v(m), dome: v(d), camera: v(c) }
}

fn refused(r: Refusal) -> ApiError {
    match &r {
        Refusal::HeldBy { holder } => {
            ApiError::new(StatusCode::CONFLICT, "control_held", r.to_string())
                .detail(json!({ "holder": holder }))
        }
        Refusal::NotHeld => ApiError::new(StatusCode::CONFLICT, "control_required", r.to_string()),
    }
}

fn interlock(e: DeviceError) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "interlock_refused", e.to_string())
}

fn device_error(e: DeviceError) -> ApiError {
    match e {
        DeviceError::Interlock(_) => interlock(e),
        DeviceError::DriverDown { .. } | DeviceError::Interrupted { .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "driver_down", e.to_string())
        }
        _ => ApiError::new(StatusCode::BAD_GATEWAY, "device_error", e.to_string()),
    }
}
