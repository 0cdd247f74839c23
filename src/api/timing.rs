//! One middleware for every route: the HTTP latency histogram and request count, and
//! the time limit on producing a response head.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, ApiState};

/// A handler that has not produced its response head by then is stuck (on the store
/// or a device); the client gets a 503 it can retry instead of a hung connection.
/// Streamed bodies (FITS, and SSE later) are not limited: only the head is awaited.
/// Becomes `[http] request_timeout_s` once the config has it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn timing(State(st): State<ApiState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The template ("/api/v1/requests/{id}"), never the raw path: one series per
    // route, whatever ids or junk clients send.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "no answer within {} s (the store or a device is slow); retry later, and check /readyz",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    };
    st.metrics.observe_http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
