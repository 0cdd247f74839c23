//! One middleware for every route: the HTTP latency histogram and request count, and
//! the time limit on producing a response head.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::telescopes::MAX_WAIT_S;
use super::{ApiError, ApiState};

/// A handler that has not produced its response head by then is stuck (on the store
/// or a device); the client gets a 503 it can retry instead of a hung connection.
/// Streamed bodies (FITS, SSE) are not limited: only the head is awaited. The limit
/// is `[http] request_timeout_s`; an operator action may also wait for its device
/// (`?wait_s=`, up to [`MAX_WAIT_S`]), so its limit is longer by that much.
fn head_limit(st: &ApiState, route: &str) -> Duration {
    let base = st.auth.http.request_timeout_s;
    let extra = if route == ACTION_ROUTE { MAX_WAIT_S } else { 0.0 };
    Duration::from_secs_f64(base + extra)
}

const ACTION_ROUTE: &str = "/api/v1/telescopes/{name}/actions/{action}";

pub async fn timing(State(st): State<ApiState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    // The template ("/api/v1/requests/{id}"), never the raw path: one series per
    // route, whatever ids or junk clients send.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let limit = head_limit(&st, &route);
    let response = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "no answer within {} s (the store or a device is slow); retry later, and check /readyz",
                limit.as_secs_f64()
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
