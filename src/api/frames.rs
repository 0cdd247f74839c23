//! Archived frames: list with their quick-look, download the FITS, see the preview.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiState};
use crate::auth::{Caller, Role};
use crate::model::FrameId;
use crate::store::{FrameFilter, FrameRecord};

/// Default and largest page of the listing.
const LIST_DEFAULT: u32 = 100;
const LIST_MAX: u32 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramesQuery {
    request_id: Option<i64>,
    observation_id: Option<i64>,
    telescope: Option<String>,
    night: Option<String>,
    after_id: Option<i64>,
    pass: Option<bool>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/frames", operation_id = "list_frames", tag = "frames",
    params(
        ("request_id" = Option<i64>, Query),
        ("observation_id" = Option<i64>, Query),
        ("telescope" = Option<String>, Query),
        ("night" = Option<String>, Query, description = "The local night, YYYY-MM-DD", pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
        ("after_id" = Option<i64>, Query, description = "Continue after this frame id (`next_after_id`)"),
        ("pass" = Option<bool>, Query, description = "Only frames whose quick-look passed (true) or failed (false)"),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 4294967295_i64, description = "Page size, default 100; 0 counts as 1 and values over 1000 as 1000"),
    ),
    responses((status = 200, description = "Frames, oldest first", body = super::schemas::FrameList)))]
pub async fn list(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<FramesQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "{}; filters are request_id, observation_id, telescope, night (YYYY-MM-DD), after_id, pass (true/false), limit",
                e.body_text()
            ),
        )
    })?;
    if let Some(n) = &q.night
        && !is_night(n)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("night `{n}` is not a date; write it as YYYY-MM-DD"),
        )
        .field("night"));
    }
    let limit = q.limit.unwrap_or(LIST_DEFAULT).clamp(1, LIST_MAX);
    let filter = FrameFilter {
        request_id: q.request_id,
        observation_id: q.observation_id,
        telescope: q.telescope,
        night: q.night,
        after_id: q.after_id,
        pass: q.pass,
        owner: caller.owner_filter(),
        limit,
    };
    let store = &st.ledger.store;
    let frames = store.list_frames(&filter).await?;
    let mut items = Vec::with_capacity(frames.len());
    for f in &frames {
        items.push(describe(f, store.quality(f.id).await?));
    }
    // A full page may have a next one: continue after its last id.
    let next = (frames.len() == limit as usize).then(|| frames.last().map(|f| f.id)).flatten();
    Ok(Json(json!({ "frames": items, "next_after_id": next })))
}

#[utoipa::path(get, path = "/api/v1/frames/{id}", operation_id = "show_frame", tag = "frames",
    params(("id" = i64, Path, description = "The frame id")),
    responses(
        (status = 200, description = "The frame and its quick-look", body = super::schemas::FrameView),
        (status = 404, description = "`not_found`", body = super::schemas::ErrorBody),
    ))]
pub async fn show(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (frame, _) = find(&st, &caller, &id).await?;
    let quality = st.ledger.store.quality(frame.id).await?;
    Ok(Json(describe(&frame, quality)))
}

/// The FITS file as archived, streamed.
#[utoipa::path(get, path = "/api/v1/frames/{id}/fits", operation_id = "frame_fits", tag = "frames",
    params(("id" = i64, Path, description = "The frame id")),
    responses(
        (status = 200, description = "The FITS file as archived", content_type = "application/fits", body = Vec<u8>),
        (status = 404, description = "`not_found`", body = super::schemas::ErrorBody),
        (status = 500, description = "`archive_unreadable`: registered but the file cannot be read", body = super::schemas::ErrorBody),
    ))]
pub async fn fits(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (frame, path) = find(&st, &caller, &id).await?;
    let file = tokio::fs::File::open(&path).await.map_err(|e| missing(&frame, &path, e))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(frame.bytes);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("frame.fits").to_string();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/fits".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/frames/{id}/preview.png", operation_id = "frame_preview", tag = "frames",
    params(("id" = i64, Path, description = "The frame id")),
    responses(
        (status = 200, description = "The quick-look preview", content_type = "image/png", body = Vec<u8>),
        (status = 404, description = "`not_found`, also while the preview is not made yet", body = super::schemas::ErrorBody),
        (status = 500, description = "`archive_unreadable`", body = super::schemas::ErrorBody),
    ))]
pub async fn preview(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (frame, _) = find(&st, &caller, &id).await?;
    let quality = st.ledger.store.quality(frame.id).await?;
    let Some(rel) = quality.and_then(|q| q.preview) else {
        return Err(ApiError::not_found(format!(
            "frame {} has no preview yet (the quick-look makes one after the frame is archived; try again shortly)",
            frame.id
        )));
    };
    let path = st.observe.archive.root().join(&rel);
    let png = tokio::fs::read(&path).await.map_err(|e| missing(&frame, &path, e))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// The frame, if the caller may see it: observers only frames of their own
/// requests; another's is "does not exist", like a missing one.
async fn find(
    st: &ApiState,
    caller: &Caller,
    id: &str,
) -> Result<(FrameRecord, std::path::PathBuf), ApiError> {
    let id: FrameId = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("`{id}` is not a frame id (a positive integer)"),
        )
        .field("id")
    })?;
    let store = &st.ledger.store;
    let frame = match store.frame(id).await? {
        Some(f)
            if caller.may(Role::Operator)
                || caller.owns_or_oversees(store.frame_owner(id).await?) =>
        {
            f
        }
        _ => return Err(ApiError::not_found(format!("frame {id} does not exist"))),
    };
    let path = st.observe.archive.root().join(&frame.path);
    Ok((frame, path))
}

fn missing(frame: &FrameRecord, path: &std::path::Path, e: std::io::Error) -> ApiError {
    tracing::error!(frame = frame.id, path = %path.display(), "archived file unreadable: {e}");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "archive_unreadable",
        format!(
            "frame {} is registered but {} cannot be read ({e}); check the archive disk",
            frame.id,
            path.display()
        ),
    )
}

fn describe(f: &FrameRecord, quality: Option<crate::store::FrameQuality>) -> Value {
    json!({
        "id": f.id,
        "request_id": f.request_id,
        "observation_id": f.observation_id,
        "source": f.source,
        "telescope": f.telescope,
        "path": f.path,
        "date_obs": teld_driver_protocol::time::format_utc(f.date_obs),
        "exptime_s": f.exptime_s,
        "bytes": f.bytes,
        "fits_url": format!("/api/v1/frames/{}/fits", f.id),
        "preview_url": quality.as_ref().and_then(|q| q.preview.as_ref())
            .map(|_| format!("/api/v1/frames/{}/preview.png", f.id)),
        "quality": quality,
    })
}

fn is_night(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter()
            .enumerate()
            .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}
