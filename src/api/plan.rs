//! The night plan: `GET /api/v1/plan` (JSON) and `GET /api/v1/plan.svg` (picture).

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::ApiState;
use crate::schedule::{PlanView, svg};

pub async fn show(State(s): State<ApiState>) -> Json<PlanView> {
    Json(s.planner.view())
}

pub async fn picture(State(s): State<ApiState>) -> impl IntoResponse {
    let view = s.planner.view();
    ([(CONTENT_TYPE, "image/svg+xml")], svg::render(&view, &view.sun_altitudes, view.span_s))
}
