//! Tokens over the API (admins): list, create (the secret is in the answer, once),
//! revoke. The same store rows as `teld token …`.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::JsonBody;
use super::{ApiError, ApiState};
use crate::auth::{Caller, Role, TokenSecret, valid_name};
use crate::store::StoreError;

/// Ten years: longer is "never", which is what leaving it out says.
const MAX_EXPIRES_DAYS: f64 = 3650.0;

#[utoipa::path(get, path = "/api/v1/tokens", operation_id = "list_tokens", tag = "access",
    responses((status = 200, description = "Every token, revoked and expired ones too; never a secret", body = super::schemas::TokenList)))]
pub async fn list(State(st): State<ApiState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "tokens": st.ledger.store.tokens().await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    role: Role,
    /// Days until it stops working; omitted: never.
    expires_days: Option<f64>,
}

#[utoipa::path(post, path = "/api/v1/tokens", operation_id = "create_token", tag = "access",
    request_body = super::schemas::NewTokenBody,
    responses(
        (status = 201, description = "Made; `token` is the secret, shown only this once", body = super::schemas::TokenCreated,
            headers(("location" = String, description = "The token's URL"))),
        (status = 409, description = "`token_name_taken`: a token has that name", body = super::schemas::ErrorBody),
        (status = 422, description = "`invalid_value`: a bad name or expires_days", body = super::schemas::ErrorBody),
        (status = 503, description = "`random_unavailable`, `store_unavailable` or `timeout`: retry later", body = super::schemas::ErrorBody),
    ))]
pub async fn create(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    JsonBody(new): JsonBody<NewToken>,
) -> Result<impl IntoResponse, ApiError> {
    if !valid_name(&new.name) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            "a token name must be 1-64 printable characters without spaces, e.g. `neocc-duty`",
        )
        .field("name"));
    }
    let now = wall_now();
    let expires_at = match new.expires_days {
        None => None,
        Some(d) if d.is_finite() && d > 0.0 && d <= MAX_EXPIRES_DAYS => {
            Some(now + hifitime::Duration::from_days(d))
        }
        Some(d) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_value",
                format!("expires_days must be above 0 and at most {MAX_EXPIRES_DAYS}, got {d}; leave it out for a token that never expires"),
            )
            .field("expires_days"));
        }
    };
    let secret = TokenSecret::generate().map_err(|e| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "random_unavailable", e.to_string())
    })?;
    let store = &st.ledger.store;
    let id = store
        .insert_token_expiring(
            &new.name,
            new.role,
            &secret.hash(),
            &secret.hint(),
            &caller.name,
            now,
            expires_at,
        )
        .await
        .map_err(|e| match e {
            StoreError::TokenNameTaken(_) => {
                ApiError::new(StatusCode::CONFLICT, "token_name_taken", e.to_string()).field("name")
            }
            e => e.into(),
        })?;
    tracing::info!(token = id, name = %new.name, role = %new.role, by = %caller.name, "token created");
    let location = format!("/api/v1/tokens/{id}");
    let body = json!({
        "id": id,
        "name": new.name,
        "role": new.role,
        "hint": secret.hint(),
        "expires_at": expires_at.map(teld_driver_protocol::time::format_utc),
        // The only time the secret leaves teld; the store has its hash alone.
        "token": secret.expose(),
    });
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)))
}

#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", operation_id = "revoke_token", tag = "access",
    params(("id" = i64, Path, description = "The token id")),
    responses(
        (status = 200, description = "Revoked, effective at once", body = super::schemas::TokenRevoked),
        (status = 400, description = "`invalid_id`: not an integer", body = super::schemas::ErrorBody),
        (status = 404, description = "`not_found`", body = super::schemas::ErrorBody),
        (status = 409, description = "`already_revoked`, or `cannot_revoke_self`: the token of this call", body = super::schemas::ErrorBody),
    ))]
pub async fn revoke(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: i64 = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("`{id}` is not a token id (a positive integer; GET /api/v1/tokens lists them)"),
        )
        .field("id")
    })?;
    if caller.token_id == Some(id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cannot_revoke_self",
            "this is the token you are calling with; revoke it with another admin token or `teld token revoke`",
        ));
    }
    let store = &st.ledger.store;
    let Some(rec) = store.token(id).await? else {
        return Err(ApiError::not_found(format!("token {id} does not exist")));
    };
    if !store.revoke_token_id(id, wall_now()).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_revoked",
            format!("token {id} (`{}`) was already revoked", rec.name),
        ));
    }
    // Effective now on this daemon; the cache's short life covers the CLI's revokes.
    st.auth.tokens.forget(id);
    tracing::info!(token = id, name = %rec.name, by = %caller.name, "token revoked");
    let rec = store.token(id).await?.unwrap_or(rec);
    Ok(Json(json!({ "id": id, "name": rec.name, "revoked_at": rec.revoked_at })))
}

fn wall_now() -> hifitime::Epoch {
    // Token records carry real time, whatever clock the daemon runs on.
    hifitime::Epoch::now().unwrap_or_else(|_| hifitime::Epoch::from_unix_seconds(0.0))
}
