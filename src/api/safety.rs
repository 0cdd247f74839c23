//! The operator's site-wide stop: every telescope to safety level `stop` (abort,
//! park, close) until an operator clears it. Stored before it is acknowledged, so it
//! survives a restart.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;

use super::{ApiError, ApiState};
use crate::auth::Caller;
use crate::store::HoldRecord;

/// Longest reason kept: it is shown in status and events, not a log.
const MAX_REASON: usize = 500;

#[derive(Serialize, utoipa::ToSchema)]
pub struct HoldReply {
    /// The stop in force; `null` once cleared.
    pub hold: Option<HoldRecord>,
}

/// Stops the whole site; idempotent (a second stop replaces the reason). The safety
/// monitors act at once; the devices' confirmation shows in `GET /api/v1/status`
/// (`safety.level` is `stop`, dome and mount as they report).
#[utoipa::path(post, path = "/api/v1/safety/stop", operation_id = "safety_stop", tag = "safety",
    params(("reason" = Option<String>, Query, description = "Why, shown with the verdict (at most 500 characters)")),
    responses(
        (status = 200, description = "Stored and in force", body = HoldReply),
        (status = 400, description = "`invalid_query`: the reason is too long", body = super::schemas::ErrorBody),
        (status = 503, description = "`store_unavailable`: not stored, not in force; retry", body = super::schemas::ErrorBody),
    ))]
pub async fn stop(
    State(st): State<ApiState>,
    caller: Option<Extension<Caller>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<HoldReply>, ApiError> {
    let caller = caller.map(|Extension(c)| c).unwrap_or_else(Caller::local);
    let reason = q.get("reason").map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("reason must be at most {MAX_REASON} characters; shorten it"),
        )
        .field("reason"));
    }
    let hold = HoldRecord {
        by: caller.name.clone(),
        reason,
        since: teld_driver_protocol::time::format_utc(st.clock.now()),
    };
    st.ledger.store.set_safety_hold(Some(&hold)).await?;
    tracing::warn!(by = %hold.by, "operator stop: the whole site to `stop`");
    st.observe.hold.send_replace(Some(hold.clone()));
    Ok(Json(HoldReply { hold: Some(hold) }))
}

/// Releases the operator stop. The telescopes stay closed until every other input
/// is safe too; observing then resumes by itself (a weather spell's reopen delay
/// still applies).
#[utoipa::path(post, path = "/api/v1/safety/clear", operation_id = "safety_clear", tag = "safety",
    responses(
        (status = 200, description = "Cleared (or there was none)", body = HoldReply),
        (status = 503, description = "`store_unavailable`: not cleared; retry", body = super::schemas::ErrorBody),
    ))]
pub async fn clear(
    State(st): State<ApiState>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<HoldReply>, ApiError> {
    let caller = caller.map(|Extension(c)| c).unwrap_or_else(Caller::local);
    st.ledger.store.set_safety_hold(None).await?;
    if st.observe.hold.send_replace(None).is_some() {
        tracing::warn!(by = %caller.name, "operator stop cleared");
    }
    Ok(Json(HoldReply { hold: None }))
}
