//! JSON bodies with errors that name the offending field.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Like `axum::Json`, but a bad body is answered with what is wrong and where:
/// 400 `malformed_json` for text that is not JSON, 422 `invalid_request` with `field`
/// for JSON of the wrong shape.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(ct) = &ct
            && !ct.starts_with("application/json")
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("body must be JSON sent as application/json, not {ct}"),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(e.status(), "body_unreadable", format!("cannot read the body: {e}"))
        })?;
        parse(&bytes).map(JsonBody)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("body is not valid JSON: {inner}"),
            );
        }
        let msg = inner.to_string();
        let field = field_of(&path, &msg);
        let message = match &field {
            Some(f) => format!("{f}: {}", strip_position(&msg)),
            None => strip_position(&msg).to_string(),
        };
        let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message);
        match field {
            Some(f) => err.field(f),
            None => err,
        }
    })?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// The full dotted path of the problem: serde reports a missing field at its parent's
/// path with the name only in the message (an unknown field's path already ends in it).
fn field_of(path: &str, msg: &str) -> Option<String> {
    let named = msg.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let parent = if path == "." { None } else { Some(path) };
    match (parent, named) {
        (Some(p), Some(n)) => Some(format!("{p}.{n}")),
        (None, Some(n)) => Some(n.to_string()),
        (Some(p), None) => Some(p.to_string()),
        (None, None) => None,
    }
}

fn strip_position(msg: &str) -> &str {
    msg.rsplit_once(" at line ").map_or(msg, |(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RequestSpec;

    fn err(body: &str) -> ApiError {
        match parse::<RequestSpec>(body.as_bytes()) {
            Ok(_) => panic!("accepted {body}"),
            Err(e) => e,
        }
    }

    #[test]
    fn names_missing_nested_and_mistyped_fields() {
        let e = err(r#"{"exposure_s": 10, "count": 1}"#);
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (422, Some("target")));
        // A half-given place parses (moving targets have none) and is refused by
        // validation, still naming the field.
        let half = r#"{"target": {"name": "x", "ra_deg": 1}, "exposure_s": 10, "count": 1}"#;
        let spec = parse::<RequestSpec>(half.as_bytes()).unwrap();
        assert_eq!(spec.validate()[0].field, "target.dec_deg");
        let e = err(
            r#"{"target": {"name": "x", "ra_deg": 1, "dec_deg": "north"}, "exposure_s": 10, "count": 1}"#,
        );
        assert_eq!(e.field.as_deref(), Some("target.dec_deg"));
        assert!(e.message.contains("invalid type"), "{}", e.message);
        let e = err(
            r#"{"target": {"name": "x", "ra_deg": 1, "dec_deg": 2}, "exposure_s": 10, "count": 1, "colour": "red"}"#,
        );
        assert_eq!(e.field.as_deref(), Some("colour"));
    }

    #[test]
    fn malformed_json_is_400() {
        let trailing = r#"{"target": {"name": "x", "ra_deg": 1, "dec_deg": 2}, "exposure_s": 10, "count": 1} x"#;
        for body in ["{", "not json", trailing, ""] {
            let e = err(body);
            assert_eq!((e.status.as_u16(), e.code), (400, "malformed_json"), "{body}");
        }
    }
}
