//! `GET /api/v1/whoami`: who the access layer thinks the caller is. The web page
//! uses it to pick what to show; scripts use it to check a token.

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::ApiState;
use crate::auth::Caller;

#[utoipa::path(get, path = "/api/v1/whoami", operation_id = "whoami", tag = "access",
    responses((status = 200, description = "The caller as the access layer sees it", body = super::schemas::WhoAmI)))]
pub async fn show(State(st): State<ApiState>, Extension(caller): Extension<Caller>) -> Json<Value> {
    let limit = caller.token_id.map(|_| st.auth.rate.limit(caller.role)).filter(|l| !l.unlimited());
    Json(json!({
        "name": caller.name,
        "role": caller.role,
        "auth": st.auth.enabled,
        "rate_limit": limit.map(|l| json!({ "per_s": l.per_s, "burst": l.burst })),
    }))
}
