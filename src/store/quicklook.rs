//! Quick-look results of archived frames, and the handoff outbox rows they create.
//!
//! Both are written in one transaction: a frame is either not yet assessed (the
//! pipeline worker will assess it) or assessed with its handoffs queued — never
//! assessed and forgotten by the pipeline.

use hifitime::Epoch;
use serde::Serialize;

use super::{Store, StoreError, time};
use crate::model::{FrameId, ObservationId, RequestId};

/// What the quick-look found for one frame, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameQuality {
    pub frame_id: FrameId,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub measured_at: Epoch,
    pub sha256: String,
    /// `None`: not judged (not a light frame) or not measurable.
    pub pass: Option<bool>,
    pub reason: Option<String>,
    pub detail: String,
    pub background: Option<f64>,
    pub noise: Option<f64>,
    pub sources: Option<u64>,
    pub fwhm_px: Option<f64>,
    pub fwhm_arcsec: Option<f64>,
    pub ellipticity: Option<f64>,
    pub saturated_fraction: Option<f64>,
    /// Relative to the archive root.
    pub preview: Option<String>,
}

/// A delivery to queue with the quality row: `sink` names the destination.
#[derive(Debug, Clone)]
pub struct NewHandoff {
    pub sink: &'static str,
    pub idempotency_key: String,
    pub payload: String,
}

/// A frame that has no quick-look yet (the pipeline worker's to-do list).
#[derive(Debug, Clone)]
pub struct Unassessed {
    pub frame_id: FrameId,
    pub path: String,
}

type QualityRow = (
    i64,
    String,
    String,
    Option<bool>,
    Option<String>,
    String,
    Option<f64>,
    Option<f64>,
    Option<i64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<String>,
);

/// The columns of `frame_quicklook` in [`QualityRow`] order (a macro: sqlx takes only
/// literal SQL).
macro_rules! quality_columns {
    () => {
        "frame_id, measured_at, sha256, pass, reason, detail, background, noise, sources,
         fwhm_px, fwhm_arcsec, ellipticity, saturated_fraction, preview"
    };
}

fn quality_from(r: QualityRow) -> Result<FrameQuality, StoreError> {
    Ok(FrameQuality {
        frame_id: r.0,
        measured_at: time::decode(&r.1)?,
        sha256: r.2,
        pass: r.3,
        reason: r.4,
        detail: r.5,
        background: r.6,
        noise: r.7,
        sources: r.8.map(|n| n.max(0) as u64),
        fwhm_px: r.9,
        fwhm_arcsec: r.10,
        ellipticity: r.11,
        saturated_fraction: r.12,
        preview: r.13,
    })
}

impl Store {
    /// Stores the quick-look of a frame and queues its handoffs, atomically. A second
    /// call for the same frame changes nothing and returns `false` (the worker and the
    /// frame writer may race after a restart).
    pub async fn record_quality(
        &self,
        q: &FrameQuality,
        handoffs: &[NewHandoff],
        data_sha256: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let at = time::encode(q.measured_at);
        let inserted = sqlx::query(concat!(
            "INSERT OR IGNORE INTO frame_quicklook (",
            quality_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ))
        .bind(q.frame_id)
        .bind(&at)
        .bind(&q.sha256)
        .bind(q.pass)
        .bind(&q.reason)
        .bind(&q.detail)
        .bind(q.background)
        .bind(q.noise)
        .bind(q.sources.map(|n| n as i64))
        .bind(q.fwhm_px)
        .bind(q.fwhm_arcsec)
        .bind(q.ellipticity)
        .bind(q.saturated_fraction)
        .bind(&q.preview)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            if let Some(sum) = data_sha256 {
                sqlx::query(
                    "UPDATE frames SET data_sha256 = ?1 WHERE id = ?2 AND data_sha256 IS NULL",
                )
                .bind(sum)
                .bind(q.frame_id)
                .execute(&mut *tx)
                .await?;
            }
            for h in handoffs {
                sqlx::query(
                    "INSERT OR IGNORE INTO handoffs (frame_id, sink, idempotency_key, payload, created_at, next_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )
                .bind(q.frame_id)
                .bind(h.sink)
                .bind(&h.idempotency_key)
                .bind(&h.payload)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn quality(&self, frame_id: FrameId) -> Result<Option<FrameQuality>, StoreError> {
        let row: Option<QualityRow> = sqlx::query_as(concat!(
            "SELECT ",
            quality_columns!(),
            " FROM frame_quicklook WHERE frame_id = ?1"
        ))
        .bind(frame_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(quality_from).transpose()
    }

    /// Frames whose quick-look failed in one observation: (frame id, reason, detail).
    pub async fn failed_frames(
        &self,
        observation_id: ObservationId,
    ) -> Result<Vec<(FrameId, Option<String>, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT f.id, q.reason, q.detail FROM frames f
             JOIN frame_quicklook q ON q.frame_id = f.id
             WHERE f.observation_id = ?1 AND q.pass = 0 ORDER BY f.id",
        )
        .bind(observation_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Frames of a request that count towards it: all but those the quick-look failed
    /// when failed frames are retaken (`quicklook.requeue_failed`), otherwise all. The
    /// two must agree with how a block decides it is complete, or a resumed block
    /// takes frames again under sequence numbers already used.
    pub async fn frames_that_count(
        &self,
        request_id: RequestId,
        failed_are_retaken: bool,
    ) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM frames f LEFT JOIN frame_quicklook q ON q.frame_id = f.id
             WHERE f.request_id = ?1 AND (?2 = 0 OR q.pass IS NULL OR q.pass = 1)",
        )
        .bind(request_id)
        .bind(failed_are_retaken)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.try_into().unwrap_or(u32::MAX))
    }

    /// Frames not assessed yet, oldest first.
    pub async fn unassessed_frames(&self, limit: u32) -> Result<Vec<Unassessed>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT f.id, f.path FROM frames f LEFT JOIN frame_quicklook q ON q.frame_id = f.id
             WHERE q.frame_id IS NULL ORDER BY f.id LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(frame_id, path)| Unassessed { frame_id, path }).collect())
    }
}
