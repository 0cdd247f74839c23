//! `/healthz` (the process answers) and `/readyz` (it can do its job: the store
//! answers and every driver is up).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::ApiState;
use crate::core::DriverStatus;

/// A store that needs longer than this for `SELECT 1` is not ready for requests.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`: the process is alive and serving HTTP.
    pub status: String,
}

#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "health",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

#[derive(Serialize, ToSchema)]
pub struct Check {
    pub ok: bool,
    /// What is wrong, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    /// `store`, and `driver:<name>` for every configured driver.
    pub checks: BTreeMap<String, Check>,
    /// The names of the checks that failed (empty when ready).
    pub failed: Vec<String>,
}

#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "health",
    responses(
        (status = 200, description = "Ready: the store answers and every driver is up", body = Readiness),
        (status = 503, description = "Not ready; `failed` names the checks", body = Readiness),
    ))]
pub async fn readyz(State(st): State<ApiState>) -> (StatusCode, Json<Readiness>) {
    let mut checks = BTreeMap::new();
    let store = match tokio::time::timeout(STORE_PING_TIMEOUT, st.ledger.store.ping()).await {
        Ok(Ok(())) => Check { ok: true, detail: None },
        Ok(Err(e)) => Check { ok: false, detail: Some(e.to_string()) },
        Err(_) => Check {
            ok: false,
            detail: Some(format!("no answer within {} s", STORE_PING_TIMEOUT.as_secs())),
        },
    };
    checks.insert("store".to_string(), store);
    for (name, d) in &st.core.snapshot().drivers {
        let check = if d.status == DriverStatus::Up {
            Check { ok: true, detail: None }
        } else {
            let why = d.last_error.clone().unwrap_or_else(|| "not up yet".into());
            let status = match d.status {
                DriverStatus::Starting => "starting",
                DriverStatus::Down => "down",
                DriverStatus::Up => "up",
            };
            Check { ok: false, detail: Some(format!("{status}: {why}")) }
        };
        checks.insert(format!("driver:{name}"), check);
    }
    let failed: Vec<String> =
        checks.iter().filter(|(_, c)| !c.ok).map(|(k, _)| k.clone()).collect();
    let ready = failed.is_empty();
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { ready, checks, failed }))
}
