//! `GET /metrics`: Prometheus text format 0.0.4.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::ApiState;
use crate::metrics::{self, CONTENT_TYPE as PROMETHEUS_TEXT};

#[utoipa::path(
    get,
    path = "/metrics", operation_id = "metrics",
    tag = "health",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String))
)]
pub async fn show(State(st): State<ApiState>) -> impl IntoResponse {
    let text = metrics::render(&st.metrics, &st).await;
    ([(CONTENT_TYPE, PROMETHEUS_TEXT)], text)
}
