//! Driver processes: their status and signed updates; restart, update and rollback
//! on request.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiError, ApiState};
use crate::core::DriverView;
use crate::update::handle::CommandError;
use crate::update::view::SlotView;

#[derive(Serialize)]
pub struct NamedDriver {
    pub name: String,
    #[serde(flatten)]
    pub view: DriverView,
    /// The update state of the driver's kind; absent when updates are off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<SlotView>,
}

#[utoipa::path(get, path = "/api/v1/drivers", operation_id = "list_drivers", tag = "drivers",
    responses((status = 200, description = "Every driver process", body = Vec<super::schemas::DriverState>)))]
pub async fn list(State(st): State<ApiState>) -> Json<Vec<NamedDriver>> {
    let snap = st.core.snapshot();
    Json(
        snap.drivers
            .iter()
            .map(|(name, view)| NamedDriver {
                name: name.clone(),
                view: view.clone(),
                update: st.updates.driver_view(name, &view.kind),
            })
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
    let update = st.updates.driver_view(&name, &view.kind);
    Ok((StatusCode::ACCEPTED, Json(NamedDriver { name, view, update })))
}

/// `POST /api/v1/drivers/{name}/update` body: nothing (the newest acceptable build)
/// or one version.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// Install exactly this version (still only upwards, above every floor).
    #[serde(default)]
    pub version: Option<String>,
}

/// What an update or rollback request was told.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdateAnswer {
    pub driver: String,
    pub kind: String,
    /// What the service will do, in words; the outcome follows on the live feed.
    pub accepted: String,
}

/// Checks the update source now for the driver's kind and installs what passes
/// (when the telescope is idle); the trial's outcome comes on the live feed.
#[utoipa::path(post, path = "/api/v1/drivers/{name}/update", operation_id = "update_driver", tag = "drivers",
    params(("name" = String, Path, description = "The driver's name from the config")),
    request_body(content = Option<UpdateBody>, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted; `update` events follow on the live feed", body = UpdateAnswer),
        (status = 422, description = "`invalid_value`: the version is not semver", body = super::schemas::ErrorBody),
        (status = 404, description = "`not_found`: no such driver", body = super::schemas::ErrorBody),
        (status = 409, description = "`updates_disabled` or `update_refused`", body = super::schemas::ErrorBody),
    ))]
pub async fn update(
    State(st): State<ApiState>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<UpdateAnswer>), ApiError> {
    let kind = kind_of(&st, &name)?;
    // No body means "the newest acceptable build"; a body is checked like every other
    // (JSON errors name the field).
    let body: UpdateBody = if body.iter().all(u8::is_ascii_whitespace) {
        UpdateBody::default()
    } else {
        super::body::parse(&body)?
    };
    let version = match body.version {
        None => None,
        Some(v) => Some(v.parse::<semver::Version>().map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                format!("`{v}` is not a semantic version ({e}); give e.g. 1.4.2"),
            )
            .field("version")
        })?),
    };
    let accepted = st.updates.check(&kind, version).await.map_err(command_error)?;
    Ok((StatusCode::ACCEPTED, Json(UpdateAnswer { driver: name, kind, accepted })))
}

/// Goes back to the previous verified build of the driver's kind and marks the
/// current one bad (never offered again).
#[utoipa::path(post, path = "/api/v1/drivers/{name}/rollback", operation_id = "rollback_driver", tag = "drivers",
    params(("name" = String, Path, description = "The driver's name from the config")),
    responses(
        (status = 202, description = "Accepted; `update` events follow on the live feed", body = UpdateAnswer),
        (status = 404, description = "`not_found`: no such driver", body = super::schemas::ErrorBody),
        (status = 409, description = "`updates_disabled` or `update_refused` (e.g. nothing to go back to)", body = super::schemas::ErrorBody),
    ))]
pub async fn rollback(
    State(st): State<ApiState>,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<UpdateAnswer>), ApiError> {
    let kind = kind_of(&st, &name)?;
    let accepted = st.updates.rollback(&kind).await.map_err(command_error)?;
    Ok((StatusCode::ACCEPTED, Json(UpdateAnswer { driver: name, kind, accepted })))
}

fn kind_of(st: &ApiState, name: &str) -> Result<String, ApiError> {
    let kind = st.core.snapshot().drivers.get(name).map(|v| v.kind.clone()).ok_or_else(|| {
        ApiError::not_found(format!("no driver `{name}`; GET /api/v1/drivers lists them"))
    })?;
    if st.updates.enabled() && !st.updates.manages(name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "update_refused",
            format!(
                "driver `{name}` is pinned (it has its own `program`, or [update] drivers does not list `{kind}`); updates never change what it runs"
            ),
        ));
    }
    Ok(kind)
}

fn command_error(e: CommandError) -> ApiError {
    let code = match e {
        CommandError::Disabled => "updates_disabled",
        CommandError::Stopped => "shutting_down",
        CommandError::UnknownKind(_) | CommandError::Refused(_) => "update_refused",
    };
    ApiError::new(StatusCode::CONFLICT, code, e.to_string())
}
