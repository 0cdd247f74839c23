//! The handoff message: one JSON document per archived frame, the same on MQTT and the
//! webhook, carrying everything a pipeline needs to fetch, check and route the frame.

use serde_json::{Value, json};

use super::quality::Assessed;
use crate::store::FrameRecord;

/// Stable across retries and restarts, unique per site and file content: a pipeline
/// that sees a key twice has seen the same frame twice.
pub fn idempotency_key(site: &str, frame_id: i64, sha256: &str) -> String {
    format!("{site}/frame/{frame_id}/{}", &sha256[..sha256.len().min(16)])
}

pub fn frame_message(site: &str, frame: &FrameRecord, a: &Assessed) -> (String, String) {
    let q = &a.quality;
    let key = idempotency_key(site, frame.id, &q.sha256);
    let h = &a.header;
    let body: Value = json!({
        "idempotency_key": key,
        "site": site,
        "frame_id": frame.id,
        "telescope": frame.telescope,
        "request_id": frame.request_id,
        "observation_id": frame.observation_id,
        "source": frame.source,
        "path": frame.path,
        "url": format!("/api/v1/frames/{}/fits", frame.id),
        "bytes": frame.bytes,
        "sha256": q.sha256,
        "checksum": h.checksum,
        "datasum": h.datasum,
        "imagetyp": h.imagetyp,
        "object": h.object,
        "filter": h.filter,
        "date_obs": h.date_obs,
        "exptime_s": h.exptime_s,
        "quality": {
            "pass": q.pass,
            "reason": q.reason,
            "detail": q.detail,
        },
        "quicklook": a.quicklook,
        "preview_url": q.preview.as_ref().map(|_| format!("/api/v1/frames/{}/preview.png", frame.id)),
        "at": teld_driver_protocol::time::format_utc(q.measured_at),
    });
    (key, body.to_string())
}
