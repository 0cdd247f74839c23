//! The night plan: `GET /api/v1/plan` (JSON) and `GET /api/v1/plan.svg` (picture).

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::ApiState;
use crate::schedule::{PlanView, svg};

#[utoipa::path(get, path = "/api/v1/plan", operation_id = "show_plan", tag = "plan",
    responses((status = 200, description = "Tonight's plan", body = crate::schedule::PlanView)))]
pub async fn show(State(s): State<ApiState>) -> Json<PlanView> {
    Json(s.planner.view())
}

#[utoipa::path(get, path = "/api/v1/plan.svg", operation_id = "plan_svg", tag = "plan",
    responses((status = 200, description = "Tonight's plan as a picture", content_type = "image/svg+xml", body = String)))]
pub async fn picture(State(s): State<ApiState>) -> impl IntoResponse {
    let view = s.planner.view();
    ([(CONTENT_TYPE, "image/svg+xml")], svg::render(&view, &view.sun_altitudes, view.span_s))
}
