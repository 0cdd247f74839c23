//! The night plan: `GET /api/v1/plan` (JSON) and `GET /api/v1/plan.svg` (picture).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{ApiError, ApiState};
use crate::schedule::{PlanView, svg};

#[utoipa::path(get, path = "/api/v1/plan", operation_id = "show_plan", tag = "plan",
    responses((status = 200, description = "Tonight's plan", body = crate::schedule::PlanView)))]
pub async fn show(State(s): State<ApiState>) -> Json<PlanView> {
    Json(s.planner.view())
}

#[derive(Deserialize)]
pub struct PictureQuery {
    /// Draw the daemon clock's "now" as a line (the web page's chart).
    #[serde(default)]
    now: bool,
}

#[utoipa::path(get, path = "/api/v1/plan.svg", operation_id = "plan_svg", tag = "plan",
    params(("now" = Option<bool>, Query, description = "draw the current time as a line")),
    responses((status = 200, description = "Tonight's plan as a picture", content_type = "image/svg+xml", body = String)))]
pub async fn picture(
    State(s): State<ApiState>,
    q: Result<Query<PictureQuery>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("{}; the one parameter is now=true|false", e.body_text()),
        )
    })?;
    let view = s.planner.view();
    let now_s = q
        .now
        .then(|| view.night_start.as_deref().map(teld_driver_protocol::time::parse_utc))
        .flatten()
        .and_then(Result::ok)
        .map(|start| (s.clock.now() - start).to_seconds());
    let svg = svg::render_at(&view, &view.sun_altitudes, view.span_s, now_s);
    Ok(([(CONTENT_TYPE, "image/svg+xml")], svg))
}
