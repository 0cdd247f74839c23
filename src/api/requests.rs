//! Observers' requests: submit, list, show, cancel.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::body::JsonBody;
use super::{ApiError, ApiState};
use crate::auth::Caller;
use crate::model::{RequestId, RequestSpec, RequestState, SubmitContext};
use crate::store::RequestRecord;

/// Stores the request, then answers 201: the id in the answer is only ever one the
/// store has committed.
#[utoipa::path(post, path = "/api/v1/requests", operation_id = "submit_request", tag = "requests",
    request_body = crate::model::RequestSpec,
    responses(
        (status = 201, description = "Stored; follow it at `url`", body = super::schemas::RequestCreated,
            headers(("location" = String, description = "The request's URL"))),
        (status = 409, description = "`duplicate_external_id`: an open request has that external_id", body = super::schemas::ErrorBody),
        (status = 422, description = "`invalid_value`, `invalid_request` or `never_observable`", body = super::schemas::ErrorBody),
    ))]
pub async fn submit(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    JsonBody(spec): JsonBody<RequestSpec>,
) -> Result<impl IntoResponse, ApiError> {
    let now = st.clock.now();
    let (filters, telescopes) = (st.planner.filters(), st.planner.telescope_names());
    let errors =
        spec.validate_for(&SubmitContext { now, filters: &filters, telescopes: &telescopes });
    if !errors.is_empty() {
        return Err(ApiError::invalid_values(errors));
    }
    if let Err(no) = st.planner.check_observable(&spec, now).await {
        let next = no.next_observable.map(teld_driver_protocol::time::format_utc);
        let when = next.as_ref().map_or_else(
            || "it is not observable from here within a year".to_string(),
            |t| format!("it is next observable at {t}; resubmit with a window that includes it"),
        );
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "never_observable",
            format!("{}; {when}", no.reason),
        )
        .field("target")
        .detail(json!({ "reason": no.reason, "next_observable": next })));
    }
    let _one_at_a_time = st.submit_lock.lock().await;
    if let Some(x) = &spec.external_id {
        let open = [RequestState::Queued, RequestState::Scheduled, RequestState::Observing];
        let store = &st.ledger.store;
        if let Some(dup) = store
            .requests_in(&open)
            .await?
            .into_iter()
            // Per submitter: another observer's id is theirs to reuse, and naming
            // their request here would show it exists.
            .find(|r| r.spec.external_id.as_ref() == Some(x) && r.owner == caller.token_id)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_external_id",
                format!(
                    "request {} with external_id `{x}` is still {}: follow it at /api/v1/requests/{}, or cancel it before submitting again",
                    dup.id, dup.state, dup.id
                ),
            )
            .field("external_id")
            .detail(json!({ "existing_id": dup.id })));
        }
    }
    let rec = st.ledger.submit_as(&spec, caller.token_id).await?;
    replan(&st);
    let location = format!("/api/v1/requests/{}", rec.id);
    let body = json!({
        "id": rec.id,
        "state": rec.state,
        "submitted_at": teld_driver_protocol::time::format_utc(rec.submitted_at),
        "url": location,
    });
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<u32>,
}

/// Default and largest page of the listing.
const LIST_DEFAULT: u32 = 100;
const LIST_MAX: u32 = 1000;

#[utoipa::path(get, path = "/api/v1/requests", operation_id = "list_requests", tag = "requests",
    params(("limit" = Option<i64>, Query, minimum = 0, maximum = 4294967295_i64, description = "Page size, default 100; 0 counts as 1 and values over 1000 as 1000")),
    responses((status = 200, description = "The newest requests", body = super::schemas::RequestList)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("{}; use ?limit=N", e.body_text()),
        )
        .field("limit")
    })?;
    let limit = q.limit.unwrap_or(LIST_DEFAULT).clamp(1, LIST_MAX);
    let recs = st.ledger.store.recent_requests_of(limit, caller.owner_filter()).await?;
    let items: Vec<Value> = recs
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.spec.display_name(),
                "state": r.state,
                "priority": r.spec.priority,
                "class": r.spec.class,
                "external_id": r.spec.external_id,
                "attempts": r.attempts,
                "submitted_at": teld_driver_protocol::time::format_utc(r.submitted_at),
                "updated_at": teld_driver_protocol::time::format_utc(r.updated_at),
            })
        })
        .collect();
    Ok(Json(json!({ "requests": items })))
}

fn parse_id(id: &str) -> Result<RequestId, ApiError> {
    id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("`{id}` is not a request id (a positive integer)"),
        )
        .field("id")
    })
}

/// The request, if the caller may see it. Someone else's is "does not exist" to an
/// observer, exactly like a missing one, so ids cannot be probed.
async fn visible(st: &ApiState, caller: &Caller, id: RequestId) -> Result<RequestRecord, ApiError> {
    match st.ledger.store.request(id).await? {
        Some(rec) if caller.owns_or_oversees(rec.owner) => Ok(rec),
        _ => Err(ApiError::not_found(format!("request {id} does not exist"))),
    }
}

/// Cancels a request that is not yet being observed; its time goes back to the plan
/// at the executors' next look (woken at once).
#[utoipa::path(post, path = "/api/v1/requests/{id}/cancel", operation_id = "cancel_request", tag = "requests",
    params(("id" = i64, Path, description = "The request id")),
    responses(
        (status = 200, description = "Cancelled", body = super::schemas::Cancelled),
        (status = 404, description = "`not_found`", body = super::schemas::ErrorBody),
        (status = 409, description = "`not_cancellable`: it is being observed or has ended", body = super::schemas::ErrorBody),
    ))]
pub async fn cancel(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let rec = visible(&st, &caller, id).await?;
    let open = [RequestState::Queued, RequestState::Scheduled];
    // The submitter withdrawing it, or staff cancelling someone else's.
    let detail = if rec.owner == caller.token_id {
        format!("cancelled by an observer ({})", caller.name)
    } else {
        format!("cancelled by {} {}", caller.role, caller.name)
    };
    if !st.ledger.transition(id, &open, RequestState::Cancelled, Some(&detail)).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_cancellable",
            format!(
                "request {id} is {}; only queued or scheduled requests can be cancelled",
                rec.state
            ),
        ));
    }
    replan(&st);
    Ok(Json(json!({ "id": id, "state": RequestState::Cancelled })))
}

/// The set of open requests changed: idle executors look again, and the plan is
/// repaired now rather than when a busy telescope finishes its block (a
/// rapid-response request may preempt that block). In the background: the answer does
/// not wait for the planner.
fn replan(st: &ApiState) {
    st.observe.wake_executors();
    let (planner, clock) = (st.planner.clone(), st.clock.clone());
    tokio::spawn(async move {
        if let Err(e) = planner.refresh(clock.now()).await {
            tracing::warn!("could not repair the plan after a request change: {e}");
        }
    });
}

#[utoipa::path(get, path = "/api/v1/requests/{id}", operation_id = "show_request", tag = "requests",
    params(("id" = i64, Path, description = "The request id")),
    responses(
        (status = 200, description = "The request with its history, observations and frames", body = super::schemas::RequestDetail),
        (status = 404, description = "`not_found`", body = super::schemas::ErrorBody),
    ))]
pub async fn show(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let store = &st.ledger.store;
    let rec = visible(&st, &caller, id).await?;
    let history = store.request_events(id).await?;
    let observations = store.observations_for(id).await?;
    let frames = store.frames_for(id).await?;
    Ok(Json(json!({
        "id": rec.id,
        "state": rec.state,
        "attempts": rec.attempts,
        "submitted_at": teld_driver_protocol::time::format_utc(rec.submitted_at),
        "updated_at": teld_driver_protocol::time::format_utc(rec.updated_at),
        "spec": rec.spec,
        "history": history,
        "observations": observations,
        "frames": frames,
    })))
}
