//! The shapes of answers that handlers build with `json!`, for the OpenAPI document.
//! Each mirrors one handler's body field for field; schemathesis checks every answer
//! against them (tests/api_contract.rs), so a drift fails CI.

use std::collections::BTreeMap;

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

/// A token's role: `observer < operator < admin`.
// Only described: handlers serialise the real enum, never this one.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Observer,
    Operator,
    Admin,
}

/// `GET /api/v1/whoami` (whoami.rs).
#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    /// The token's name, or `local` when access control is off.
    pub name: String,
    pub role: RoleName,
    /// Whether tokens are checked (`http.auth`).
    pub auth: bool,
    /// The caller's rate limit; `null` without a token or when unlimited.
    pub rate_limit: Option<RateLimitView>,
}

#[derive(Serialize, ToSchema)]
pub struct RateLimitView {
    pub per_s: f64,
    pub burst: u32,
}

/// `GET /api/v1/tokens` (tokens.rs): the store's token records, secrets never.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub role: RoleName,
    /// The secret's last characters, to tell tokens apart.
    pub hint: String,
    pub created_at: String,
    pub created_by: String,
    /// UTC; `null` while the token is live.
    pub revoked_at: Option<String>,
    /// UTC; `null`: never expires.
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// `POST /api/v1/tokens` body (tokens.rs `NewToken`).
#[derive(Serialize, ToSchema)]
pub struct NewTokenBody {
    /// 1-64 printable characters without spaces.
    pub name: String,
    pub role: RoleName,
    /// Days until it stops working, above 0 and at most 3650; omitted: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_days: Option<f64>,
}

/// `POST /api/v1/tokens` answer: the only time the secret is shown.
#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    pub id: i64,
    pub name: String,
    pub role: RoleName,
    pub hint: String,
    pub expires_at: Option<String>,
    /// The bearer secret (`teld_…`); teld keeps only its hash.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenRevoked {
    pub id: i64,
    pub name: String,
    pub revoked_at: Option<String>,
}

/// `GET /api/v1/audit` (audit_api.rs), oldest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Set when the page is full: pass it as `after_id` for the next page.
    pub next_after_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// Wall-clock UTC.
    pub at: String,
    /// The daemon's clock (simulated or real), UTC.
    pub clock_at: String,
    pub token_id: Option<i64>,
    pub actor: String,
    pub role: Option<String>,
    pub peer: Option<String>,
    pub method: String,
    pub route: String,
    pub target: Option<String>,
    pub status: u16,
    pub result: String,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// `auto`, `paused` or `manual`.
// Only described: handlers serialise the real enum, never this one.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlModeName {
    Auto,
    Paused,
    Manual,
}

/// Who decides what a telescope does (core `ControlView`).
#[derive(Serialize, ToSchema)]
pub struct ControlState {
    pub mode: ControlModeName,
    /// A token's name or `local`; `null` for the start-up default.
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_token_id: Option<i64>,
    pub reason: Option<String>,
    /// UTC (daemon clock) of the last change.
    pub since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SafetyState {
    /// `level == "safe"`.
    pub safe: bool,
    /// `safe` observe; `warn` finish the exposure, start nothing new; `stop` abort,
    /// park, close; `emergency` close first, then park, until confirmed.
    pub level: crate::safety::SafetyLevel,
    pub reason: Option<String>,
    pub since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BlockState {
    pub request_id: i64,
    pub observation_id: i64,
    pub target: String,
    pub ra_deg: f64,
    pub dec_deg: f64,
    pub started_at: String,
    pub frames_done: u32,
    pub frames_total: u32,
    /// `opening`, `slewing`, `settling`, `exposing`, `reading`.
    pub phase: String,
    pub phase_since: String,
}

/// One telescope's live view (telescopes.rs `Named`: the name and core `TelescopeView`).
#[derive(Serialize, ToSchema)]
pub struct TelescopeState {
    pub name: String,
    /// Each device's last reported state; `null` until it reports.
    #[schema(value_type = Option<Object>)]
    pub mount: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub camera: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub dome: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub weather: Option<serde_json::Value>,
    /// Present only on a telescope with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub filter_wheel: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub focuser: Option<serde_json::Value>,
    pub safety: SafetyState,
    /// What the executor is doing, in words.
    pub activity: String,
    pub block: Option<BlockState>,
    pub control: ControlState,
}

/// `POST /api/v1/telescopes/{name}/actions/{action}` (telescopes.rs `ActionReply`).
#[derive(Serialize, ToSchema)]
pub struct ActionResult {
    pub telescope: String,
    /// `stop`, `park`, `close`, `open`, `resume`, `take` or `release`.
    pub action: String,
    pub control: ControlState,
    pub state: DeviceReadings,
    /// The device confirmed what was asked (parked, closed, open, stopped).
    pub done: bool,
}

/// Each device read right after the command: its state, `{"error": …}` when it
/// could not be read, `null` for a missing dome.
#[derive(Serialize, ToSchema)]
pub struct DeviceReadings {
    #[schema(value_type = Option<Object>)]
    pub mount: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub dome: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub camera: Option<serde_json::Value>,
}

/// `starting`, `up` or `down`.
// Only described: handlers serialise the real enum, never this one.
#[allow(dead_code)]
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriverStatusName {
    Starting,
    Up,
    Down,
}

/// One driver process (drivers.rs `NamedDriver`: the name and core `DriverView`).
#[derive(Serialize, ToSchema)]
pub struct DriverState {
    pub name: String,
    pub kind: String,
    pub status: DriverStatusName,
    pub pid: Option<u32>,
    pub version: Option<String>,
    pub restarts: u32,
    pub last_error: Option<String>,
    /// Devices whose last call failed, with what happened; absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faulted: Option<BTreeMap<String, String>>,
    /// The update state of the driver's kind; absent when updates are off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::update::view::SlotView>,
}
