//! Driver processes: their status, and a restart on request (a driver update).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::{ApiError, ApiState};
use crate::core::DriverView;

#[derive(Serialize)]
pub struct NamedDriver {
    pub name: String,
    #[serde(flatten)]
    pub view: DriverView,
}

#[utoipa::path(get, path = "/api/v1/drivers", operation_id = "list_drivers", tag = "drivers",
    responses((status = 200, description = "Every driver process", body = Vec<super::schemas::DriverState>)))]
pub async fn list(State(st): State<ApiState>) -> Json<Vec<NamedDriver>> {
    let snap = st.core.snapshot();
    Json(
        snap.drivers
            .iter()
            .map(|(name, view)| NamedDriver { name: name.clone(), view: view.clone() })
            .collect(),
    )
}

/// Answers 202 once the supervisor is told: the new process's `up` comes on the
/// live feed (`driver` items) and in `GET /api/v1/drivers`.
#[utoipa::path(post, path = "/api/v1/drivers/{name}/restart", operation_id = "restart_driver", tag = "drivers",
    params(("name" = String, Path, description = "The driver's name from the config")),
    responses(
        (status = 202, description = "The supervisor is restarting it; `up` follows on the live feed", body = super::schemas::DriverState),
        (status = 404, description = "`not_found`: no such driver", body = super::schemas::ErrorBody),
        (status = 409, description = "`driver_not_up`: starting or being restarted already", body = super::schemas::ErrorBody),
    ))]
pub async fn restart(
    State(st): State<ApiState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<NamedDriver>), ApiError> {
    let handle = st.drivers.get(&name).ok_or_else(|| {
        ApiError::not_found(format!("no driver `{name}`; GET /api/v1/drivers lists them"))
    })?;
    if !handle.restart() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "driver_not_up",
            format!(
                "driver `{name}` is not up (it is starting or being restarted already); wait for it to come up and retry"
            ),
        ));
    }
    let view = st.core.snapshot().drivers.get(&name).cloned();
    let view = view.ok_or_else(|| ApiError::not_found(format!("no driver `{name}`")))?;
    Ok((StatusCode::ACCEPTED, Json(NamedDriver { name, view })))
}
