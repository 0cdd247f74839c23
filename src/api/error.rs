//! API errors as JSON with stable codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::FieldError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable: clients switch on this, never on the message.
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub errors: Vec<FieldError>,
    /// Machine-readable facts that go with the error (an existing id, a date).
    pub detail: Option<Box<serde_json::Value>>,
}

/// Put into every error response's extensions, so the access layer can audit the
/// outcome without parsing the body.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            errors: Vec::new(),
            detail: None,
        }
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// Range errors: all of them, the first also as `field`.
    pub fn invalid_values(errors: Vec<FieldError>) -> Self {
        let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        let field = errors.first().map(|e| e.field.clone());
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_value",
            message,
            field,
            errors,
            detail: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!("store error in API: {e}");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!(
                "the store could not complete the operation ({e}); nothing was changed — retry later"
            ),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                errors: &self.errors,
                detail: self.detail.as_deref(),
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        r.extensions_mut().insert(ErrorInfo { code: self.code, message: self.message });
        r
    }
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {uri}; see docs/API.md"))
}

pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {uri}; see docs/API.md"),
    )
}
