//! HTTP API (axum), versioned under `/api/v1`. Every error is JSON
//! `{"error": {"code", "message", "field"?}}` with a 4xx that fits.

mod body;
mod error;
mod frames;
mod health;
mod metrics;
pub mod openapi;
mod plan;
mod requests;
mod schemas;
mod status;
mod timing;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::SiteConfig;
use crate::core::Core;
use crate::ledger::Ledger;
use crate::observe::ObserveContext;
use crate::schedule::Planner;

pub use error::ApiError;

/// Largest request body: a follow-up request is a few hundred bytes; 64 KiB leaves
/// room for long notes without letting a client make the daemon buffer megabytes.
const MAX_BODY: usize = 64 * 1024;

#[derive(Clone)]
pub struct ApiState {
    pub ledger: Ledger,
    pub core: Core,
    pub clock: Clock,
    pub site: SiteConfig,
    pub observe: Arc<ObserveContext>,
    pub planner: Arc<Planner>,
    /// Serialises submissions, so two with the same `external_id` cannot both pass
    /// the duplicate check.
    pub submit_lock: Arc<tokio::sync::Mutex<()>>,
    /// HTTP histograms and cached store counts, shared with `/metrics` and `/status`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::show))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/requests", get(requests::list).post(requests::submit))
        .route("/api/v1/requests/{id}", get(requests::show))
        .route("/api/v1/requests/{id}/cancel", axum::routing::post(requests::cancel))
        .route("/api/v1/frames", get(frames::list))
        .route("/api/v1/frames/{id}", get(frames::show))
        .route("/api/v1/frames/{id}/fits", get(frames::fits))
        .route("/api/v1/frames/{id}/preview.png", get(frames::preview))
        .route("/api/v1/plan", get(plan::show))
        .route("/api/v1/plan.svg", get(plan::picture))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Outermost, so it times and counts every answer, errors and fallbacks included.
        .layer(axum::middleware::from_fn_with_state(state.clone(), timing::timing))
        .with_state(state)
}

/// Binds `addr`; the caller logs the bound address (port 0 picks a free one).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until `shutdown`, then finishes requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
