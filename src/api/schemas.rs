//! The shapes of answers that handlers build with `json!`, for the OpenAPI document.
//! Each mirrors one handler's body field for field; schemathesis checks every answer
//! against them (tests/api_contract.rs), so a drift fails CI.

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{RequestClass, RequestSpec, RequestState};

/// Every error: a stable `code` to switch on and a `message` that says what to do.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInner,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorInner {
    /// Stable and machine-readable (`not_found`, `invalid_value`, `store_unavailable`, …).
    pub code: String,
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every range error of a submitted request (422 `invalid_value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<serde_json::Value>>,
    /// Machine-readable facts (an existing id, a date).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestCreated {
    pub id: i64,
    pub state: RequestState,
    pub submitted_at: String,
    /// Where to follow it: `/api/v1/requests/{id}`.
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    /// Newest first.
    pub requests: Vec<RequestSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestSummary {
    pub id: i64,
    pub name: String,
    pub state: RequestState,
    pub priority: u32,
    pub class: RequestClass,
    pub external_id: Option<String>,
    pub attempts: u32,
    pub submitted_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RequestDetail {
    pub id: i64,
    pub state: RequestState,
    pub attempts: u32,
    pub submitted_at: String,
    pub updated_at: String,
    pub spec: RequestSpec,
    /// Every state change: `{at, state, detail}`.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<serde_json::Value>,
    /// Every attempt: `{id, telescope, started_at, ended_at, outcome, detail}`.
    #[schema(value_type = Vec<Object>)]
    pub observations: Vec<serde_json::Value>,
    /// The frames' store records.
    #[schema(value_type = Vec<Object>)]
    pub frames: Vec<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct Cancelled {
    pub id: i64,
    pub state: RequestState,
}

#[derive(Serialize, ToSchema)]
pub struct FrameList {
    pub frames: Vec<FrameView>,
    /// Set when the page is full: pass it as `after_id` for the next page.
    pub next_after_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct FrameView {
    pub id: i64,
    pub request_id: Option<i64>,
    pub observation_id: Option<i64>,
    /// `teld` or `inbox`.
    pub source: String,
    pub telescope: String,
    /// Relative to the archive root.
    pub path: String,
    pub date_obs: String,
    pub exptime_s: f64,
    pub bytes: u64,
    pub fits_url: String,
    pub preview_url: Option<String>,
    /// The quick-look measurements, once made.
    #[schema(value_type = Option<Object>)]
    pub quality: Option<serde_json::Value>,
}
