//! HTTP API (axum), versioned under `/api/v1`. Every error is JSON
//! `{"error": {"code", "message", "field"?}}` with a 4xx that fits.

pub mod access;
mod audit_api;
pub mod authn;
mod body;
mod drivers;
mod error;
mod events;
mod frames;
mod health;
mod listener;
mod metrics;
pub mod openapi;
mod plan;
mod requests;
mod safety;
mod schemas;
mod status;
mod telescopes;
mod timing;
mod tls;
mod tokens;
mod web;
mod whoami;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::{HttpConfig, SiteConfig};
use crate::core::Core;
use crate::devices::DriverHandle;
use crate::feed::Feed;
use crate::ledger::Ledger;
use crate::observe::{Controls, ObserveContext};
use crate::schedule::Planner;

pub use error::{ApiError, ErrorInfo};
pub use listener::{ApiListener, Peer};
pub use tls::TlsError;

/// What `POST /api/v1/requests` does with a body before the planner and the store
/// see it: the JSON parsed (errors name the field), then checked against the site.
/// For `fuzz/` only; the handler runs the same two functions.
#[doc(hidden)]
pub fn submission_checks(
    body: &[u8],
    ctx: &crate::model::SubmitContext,
) -> Result<crate::model::RequestSpec, ApiError> {
    let spec: crate::model::RequestSpec = body::parse(body)?;
    let errors = spec.validate_for(ctx);
    if !errors.is_empty() {
        return Err(ApiError::invalid_values(errors));
    }
    Ok(spec)
}

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
    /// Tokens, rate limits and the auth counters (access layer, `authn.rs`).
    pub auth: Arc<Auth>,
    /// The live feed served as server-sent events.
    pub feed: Arc<Feed>,
    /// Each telescope's control mode, and the telescope for operator actions.
    pub controls: Arc<Controls>,
    /// Driver supervisors, for restarts on request.
    pub drivers: Arc<BTreeMap<String, DriverHandle>>,
    /// Signed driver updates: views and requests.
    pub updates: crate::update::handle::Updates,
    /// HTTP histograms and cached store counts, shared with `/metrics` and `/status`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/app.js", get(web::app_js))
        .route("/app.css", get(web::app_css))
        .route("/favicon.svg", get(web::favicon))
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
        .route("/api/v1/whoami", get(whoami::show))
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/api/v1/tokens/{id}/revoke", axum::routing::post(tokens::revoke))
        .route("/api/v1/audit", get(audit_api::page))
        .route("/api/v1/telescopes", get(telescopes::list))
        .route("/api/v1/telescopes/{name}", get(telescopes::show))
        .route(
            "/api/v1/telescopes/{name}/actions/{action}",
            axum::routing::post(telescopes::action),
        )
        .route("/api/v1/drivers", get(drivers::list))
        .route("/api/v1/drivers/{name}/restart", axum::routing::post(drivers::restart))
        .route("/api/v1/drivers/{name}/update", axum::routing::post(drivers::update))
        .route("/api/v1/drivers/{name}/rollback", axum::routing::post(drivers::rollback))
        .route("/api/v1/events", get(events::stream))
        .route("/api/v1/safety/stop", axum::routing::post(safety::stop))
        .route("/api/v1/safety/clear", axum::routing::post(safety::clear))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Runs after routing (it needs the matched route's template), before any
        // handler or body extraction.
        .layer(axum::middleware::from_fn_with_state(state.clone(), authn::authn))
        // Outermost, so it times and counts every answer, errors and fallbacks included.
        .layer(axum::middleware::from_fn_with_state(state.clone(), timing::timing))
        .with_state(state)
}

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(
        "cannot listen on {addr}: {source}; is another teld running? pick another port with --listen or http.listen"
    )]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Binds `http.listen` (TLS when configured); the caller logs the bound address
/// (port 0 picks a free one).
pub async fn listen(http: &HttpConfig) -> Result<ApiListener, ListenError> {
    let tls = match (&http.tls_cert, &http.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    let bind_err = |source| ListenError::Bind { addr: http.listen, source };
    let tcp = TcpListener::bind(http.listen).await.map_err(bind_err)?;
    ApiListener::start(tcp, tls, http.max_connections).map_err(bind_err)
}

/// Serves until `shutdown`, then finishes requests in flight.
pub async fn serve(
    listener: ApiListener,
    state: ApiState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<Peer>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
