//! Aggregates for `/metrics` and `/api/v1/status`: one query per table, each an
//! index or table scan, so callers cache the result (see `metrics::StoreCounts`).

use super::{Store, StoreError};

impl Store {
    /// `(state, count)` for every request state present.
    pub async fn request_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as("SELECT state, COUNT(*) FROM requests GROUP BY state")
            .fetch_all(&self.pool)
            .await?)
    }

    /// `(outcome, count)`; a running observation counts as `running`.
    pub async fn observation_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(outcome, 'running'), COUNT(*) FROM observations GROUP BY 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Per sink: `(sink, delivered, pending, retrying)`, the same as
    /// [`Store::handoff_counts`] for every sink at once.
    pub async fn handoff_counts_all(&self) -> Result<Vec<(String, i64, i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT sink, COALESCE(SUM(delivered_at IS NOT NULL), 0),
                    COALESCE(SUM(delivered_at IS NULL), 0),
                    COALESCE(SUM(delivered_at IS NULL AND attempts > 0), 0)
             FROM handoffs GROUP BY sink",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
