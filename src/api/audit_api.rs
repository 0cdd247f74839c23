//! `GET /api/v1/audit?after_id=&limit=` (admins): the audit log, oldest first,
//! paged by id.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiState};

const LIST_DEFAULT: u32 = 100;
const LIST_MAX: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    after_id: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", operation_id = "audit_log", tag = "access",
    params(
        ("after_id" = Option<i64>, Query, description = "Continue after this entry id (`next_after_id`); default 0"),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 4294967295_i64, description = "Page size, default 100; 0 counts as 1 and values over 1000 as 1000"),
    ),
    responses((status = 200, description = "Audit entries, oldest first", body = super::schemas::AuditPage)))]
pub async fn page(
    State(st): State<ApiState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("{}; use ?after_id=N&limit=N", e.body_text()),
        )
    })?;
    let limit = q.limit.unwrap_or(LIST_DEFAULT).clamp(1, LIST_MAX);
    let rows = st.ledger.store.audit_page(q.after_id.unwrap_or(0), limit).await?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id)).flatten();
    Ok(Json(json!({ "entries": rows, "next_after_id": next })))
}
