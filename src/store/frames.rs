//! Frames registered in the archive.

use hifitime::Epoch;
use serde::Serialize;

use super::{Store, StoreError, time};
use crate::model::{FrameId, ObservationId, RequestId};

#[derive(Debug, Clone)]
pub struct NewFrame<'a> {
    pub request_id: RequestId,
    pub observation_id: ObservationId,
    pub telescope: &'a str,
    /// Relative to the archive root.
    pub path: &'a str,
    pub date_obs: Epoch,
    pub exptime_s: f64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameRecord {
    pub id: FrameId,
    /// `None` only for an inbox frame that matched no observation.
    pub request_id: Option<RequestId>,
    pub observation_id: Option<ObservationId>,
    /// `teld` (taken by teld) or `inbox` (written by other software).
    pub source: String,
    pub telescope: String,
    pub path: String,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub date_obs: Epoch,
    pub exptime_s: f64,
    pub bytes: u64,
}

impl Store {
    /// Registers a frame that is already complete under its final name.
    pub async fn insert_frame(&self, f: &NewFrame<'_>, at: Epoch) -> Result<FrameId, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO frames (request_id, observation_id, telescope, path, date_obs, exptime_s, bytes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        )
        .bind(f.request_id)
        .bind(f.observation_id)
        .bind(f.telescope)
        .bind(f.path)
        .bind(time::encode(f.date_obs))
        .bind(f.exptime_s)
        .bind(f.bytes as i64)
        .bind(time::encode(at))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn frames_for(&self, request_id: RequestId) -> Result<Vec<FrameRecord>, StoreError> {
        let all = super::FrameFilter {
            request_id: Some(request_id),
            limit: u32::MAX,
            ..Default::default()
        };
        self.list_frames(&all).await
    }

    pub async fn frame_count(&self, request_id: RequestId) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM frames WHERE request_id = ?1")
            .bind(request_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.try_into().unwrap_or(u32::MAX))
    }
}
