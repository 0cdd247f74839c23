//! The handoff outbox: frame messages waiting for, or delivered to, the pipeline.

use hifitime::Epoch;

use super::{Store, StoreError, time};
use crate::model::FrameId;

/// One message to deliver.
#[derive(Debug, Clone)]
pub struct PendingHandoff {
    pub id: i64,
    pub frame_id: FrameId,
    pub idempotency_key: String,
    pub payload: String,
    pub attempts: u32,
}

/// Counts for the status page.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HandoffCounts {
    pub delivered: u64,
    pub pending: u64,
    /// Pending rows that failed at least once.
    pub retrying: u64,
}

impl Store {
    /// Undelivered messages for `sink` due at `now`, oldest first.
    pub async fn due_handoffs(
        &self,
        sink: &str,
        now: Epoch,
        limit: u32,
    ) -> Result<Vec<PendingHandoff>, StoreError> {
        let rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, frame_id, idempotency_key, payload, attempts FROM handoffs
             WHERE sink = ?1 AND delivered_at IS NULL AND next_at <= ?2 ORDER BY id LIMIT ?3",
        )
        .bind(sink)
        .bind(time::encode(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, frame_id, idempotency_key, payload, attempts)| PendingHandoff {
                id,
                frame_id,
                idempotency_key,
                payload,
                attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
            })
            .collect())
    }

    /// When the next undelivered message for `sink` is due, if any.
    pub async fn next_handoff_at(&self, sink: &str) -> Result<Option<Epoch>, StoreError> {
        let at: Option<String> = sqlx::query_scalar(
            "SELECT MIN(next_at) FROM handoffs WHERE sink = ?1 AND delivered_at IS NULL",
        )
        .bind(sink)
        .fetch_one(&self.pool)
        .await?;
        at.as_deref().map(time::decode).transpose()
    }

    pub async fn handoff_delivered(&self, id: i64, at: Epoch) -> Result<(), StoreError> {
        sqlx::query("UPDATE handoffs SET delivered_at = ?1, attempts = attempts + 1 WHERE id = ?2")
            .bind(time::encode(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn handoff_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Epoch,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE handoffs SET attempts = attempts + 1, last_error = ?1, next_at = ?2 WHERE id = ?3",
        )
        .bind(error)
        .bind(time::encode(retry_at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn handoff_counts(&self, sink: &str) -> Result<HandoffCounts, StoreError> {
        let (delivered, pending, retrying): (i64, i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(delivered_at IS NOT NULL), 0),
                    COALESCE(SUM(delivered_at IS NULL), 0),
                    COALESCE(SUM(delivered_at IS NULL AND attempts > 0), 0)
             FROM handoffs WHERE sink = ?1",
        )
        .bind(sink)
        .fetch_one(&self.pool)
        .await?;
        Ok(HandoffCounts {
            delivered: delivered.max(0) as u64,
            pending: pending.max(0) as u64,
            retrying: retrying.max(0) as u64,
        })
    }
}
