//! Looking frames up for the API and the pipeline: one by id, or a filtered page.

use super::{FrameRecord, Store, StoreError, time};
use crate::auth::TokenId;
use crate::model::{FrameId, RequestId};

/// Which frames to list; every field narrows the list. Pages go by id: pass the last
/// id seen as `after_id` for the next page.
#[derive(Debug, Clone, Default)]
pub struct FrameFilter {
    pub request_id: Option<RequestId>,
    pub observation_id: Option<i64>,
    pub telescope: Option<String>,
    /// Archive night folder, `YYYY-MM-DD` (the night's local evening date).
    pub night: Option<String>,
    pub after_id: Option<FrameId>,
    /// `Some(true)`: passed quick-look; `Some(false)`: failed it.
    pub pass: Option<bool>,
    /// Only frames of requests this token submitted (what an observer may see).
    pub owner: Option<TokenId>,
    pub limit: u32,
}

type Row = (i64, Option<i64>, Option<i64>, String, String, String, String, f64, i64);

fn record(r: Row) -> Result<FrameRecord, StoreError> {
    let (id, request_id, observation_id, source, telescope, path, date_obs, exptime_s, bytes) = r;
    Ok(FrameRecord {
        id,
        request_id,
        observation_id,
        source,
        telescope,
        path,
        date_obs: time::decode(&date_obs)?,
        exptime_s,
        bytes: bytes.max(0) as u64,
    })
}

impl Store {
    pub async fn frame(&self, id: FrameId) -> Result<Option<FrameRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, request_id, observation_id, source, telescope, path, date_obs, exptime_s, bytes
             FROM frames WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(record).transpose()
    }

    /// The token that submitted the request a frame belongs to: `None` for frames of
    /// no request or of a request no token owns.
    pub async fn frame_owner(&self, id: FrameId) -> Result<Option<TokenId>, StoreError> {
        let owner: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT r.owner_token_id FROM frames f JOIN requests r ON r.id = f.request_id
             WHERE f.id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(owner.flatten())
    }

    pub async fn list_frames(&self, f: &FrameFilter) -> Result<Vec<FrameRecord>, StoreError> {
        let night_prefix = f.night.as_ref().map(|n| format!("{n}/%"));
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT f.id, f.request_id, f.observation_id, f.source, f.telescope, f.path, f.date_obs, f.exptime_s, f.bytes
             FROM frames f LEFT JOIN frame_quicklook q ON q.frame_id = f.id
             WHERE (?1 IS NULL OR f.request_id = ?1)
               AND (?2 IS NULL OR f.observation_id = ?2)
               AND (?3 IS NULL OR f.telescope = ?3)
               AND (?4 IS NULL OR f.path LIKE ?4)
               AND (?5 IS NULL OR f.id > ?5)
               AND (?6 IS NULL OR q.pass = ?6)
               AND (?8 IS NULL OR f.request_id IN (SELECT id FROM requests WHERE owner_token_id = ?8))
             ORDER BY f.id LIMIT ?7",
        )
        .bind(f.request_id)
        .bind(f.observation_id)
        .bind(&f.telescope)
        .bind(night_prefix)
        .bind(f.after_id)
        .bind(f.pass)
        .bind(i64::from(f.limit))
        .bind(f.owner)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(record).collect()
    }
}
