#![no_main]
//! The body of `POST /api/v1/requests` as the daemon takes it: parsed with errors
//! naming the field, checked against the site (its filters, telescopes, the time),
//! the error rendered as the JSON answer; an accepted request is stored as JSON, so
//! it must read back from the store as an equally valid request.

use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use teld::api::submission_checks;
use teld::model::{RequestSpec, SubmitContext};
use teld_driver_protocol::time::parse_utc;

fuzz_target!(|data: &[u8]| {
    let filters = ["B".to_string(), "R".to_string(), "clear".to_string()];
    let telescopes = ["t1".to_string(), "t2".to_string()];
    let now = parse_utc("2026-11-24T20:00:00").expect("a valid instant");
    let ctx = SubmitContext { now, filters: &filters, telescopes: &telescopes };
    match submission_checks(data, &ctx) {
        Ok(spec) => {
            let _ = (spec.visits(), spec.value(), spec.expires_at(), spec.display_name());
            let _ = spec.all_windows().count();
            let stored = serde_json::to_string(&spec).expect("a request serialises");
            let back: RequestSpec = serde_json::from_str(&stored)
                .unwrap_or_else(|e| panic!("stored request {stored} does not read back: {e}"));
            let errors = back.validate_for(&ctx);
            assert!(errors.is_empty(), "stored request {stored} is no longer valid: {errors:?}");
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            let _ = e.into_response();
        }
    }
});
