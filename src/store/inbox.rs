//! What the inbox needs from the store: the observation a foreign frame belongs to,
//! the frame that already holds the same pixels, and registering the frame.

use hifitime::Epoch;

use super::{Store, StoreError, time};
use crate::model::{FrameId, ObservationId, RequestId};

/// A frame from the inbox, complete under its final name in the archive.
#[derive(Debug, Clone)]
pub struct NewInboxFrame<'a> {
    /// `None` when no observation matched.
    pub observation: Option<ObservationRef>,
    /// Configured telescope name, or `inbox` when it could not be told.
    pub telescope: &'a str,
    /// Relative to the archive root.
    pub path: &'a str,
    pub date_obs: Epoch,
    pub exptime_s: f64,
    pub bytes: u64,
    pub source_name: &'a str,
    pub source_bytes: u64,
    pub source_mtime_ns: i64,
    pub data_sha256: &'a str,
}

/// One observation attempt as the inbox matches frames to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRef {
    pub observation_id: ObservationId,
    pub request_id: RequestId,
    pub telescope: String,
}

/// A stored frame holding the same pixels as a file in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTwin {
    pub id: FrameId,
    pub path: String,
    pub source_name: Option<String>,
    pub source_bytes: Option<u64>,
    pub source_mtime_ns: Option<i64>,
}

impl Store {
    pub async fn observation_ref(
        &self,
        id: ObservationId,
    ) -> Result<Option<ObservationRef>, StoreError> {
        let row: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT id, request_id, telescope FROM observations WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(observation_id, request_id, telescope)| ObservationRef {
            observation_id,
            request_id,
            telescope,
        }))
    }

    /// Observations running at `at` (started at or before it and not ended before
    /// it), on `telescope` if given. A frame's start lies inside its observation.
    pub async fn observations_at(
        &self,
        telescope: Option<&str>,
        at: Epoch,
    ) -> Result<Vec<ObservationRef>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, request_id, telescope FROM observations
             WHERE started_at <= ?1 AND (ended_at IS NULL OR ended_at >= ?1)
               AND (?2 IS NULL OR telescope = ?2)
             ORDER BY id",
        )
        .bind(time::encode(at))
        .bind(telescope)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(observation_id, request_id, telescope)| ObservationRef {
                observation_id,
                request_id,
                telescope,
            })
            .collect())
    }

    /// The first stored frame whose data unit has this SHA-256.
    pub async fn frame_with_data(&self, sha256: &str) -> Result<Option<DataTwin>, StoreError> {
        type Row = (i64, String, Option<String>, Option<i64>, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, path, source_name, source_bytes, source_mtime_ns FROM frames
             WHERE data_sha256 = ?1 ORDER BY id LIMIT 1",
        )
        .bind(sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, path, source_name, bytes, source_mtime_ns)| DataTwin {
            id,
            path,
            source_name,
            source_bytes: bytes.map(|b| b.max(0) as u64),
            source_mtime_ns,
        }))
    }

    /// Whether a frame is registered under this archive path.
    pub async fn frame_path_taken(&self, path: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM frames WHERE path = ?1")
            .bind(path)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Paths of the frames registered in the archive folder `dir` (relative).
    pub async fn frame_paths_under(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        // Not LIKE: `_` in a telescope name is a LIKE wildcard.
        let prefix = format!("{dir}/");
        let paths =
            sqlx::query_scalar("SELECT path FROM frames WHERE substr(path, 1, length(?1)) = ?1")
                .bind(prefix)
                .fetch_all(&self.pool)
                .await?;
        Ok(paths)
    }

    pub async fn insert_inbox_frame(
        &self,
        f: &NewInboxFrame<'_>,
        at: Epoch,
    ) -> Result<FrameId, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO frames (request_id, observation_id, telescope, path, date_obs, exptime_s,
                                 bytes, created_at, source, source_name, source_bytes,
                                 source_mtime_ns, data_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'inbox', ?9, ?10, ?11, ?12) RETURNING id",
        )
        .bind(f.observation.as_ref().map(|o| o.request_id))
        .bind(f.observation.as_ref().map(|o| o.observation_id))
        .bind(f.telescope)
        .bind(f.path)
        .bind(time::encode(f.date_obs))
        .bind(f.exptime_s)
        .bind(f.bytes as i64)
        .bind(time::encode(at))
        .bind(f.source_name)
        .bind(f.source_bytes as i64)
        .bind(f.source_mtime_ns)
        .bind(f.data_sha256)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }
}
