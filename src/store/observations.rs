//! Observation attempts and recovery after a restart.

use hifitime::Epoch;
use serde::Serialize;

use super::{Store, StoreError, time};
use crate::model::{ObservationId, RequestId, RequestState};

#[derive(Debug, Clone, Serialize)]
pub struct ObservationRecord {
    pub id: ObservationId,
    pub request_id: RequestId,
    pub telescope: String,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub started_at: Epoch,
    pub ended_at: Option<String>,
    pub outcome: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    pub async fn start_observation(
        &self,
        request_id: RequestId,
        telescope: &str,
        at: Epoch,
    ) -> Result<ObservationId, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO observations (request_id, telescope, started_at) VALUES (?1, ?2, ?3) RETURNING id",
        )
        .bind(request_id)
        .bind(telescope)
        .bind(time::encode(at))
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn end_observation(
        &self,
        id: ObservationId,
        outcome: &str,
        detail: Option<&str>,
        at: Epoch,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE observations SET ended_at = ?1, outcome = ?2, detail = ?3 WHERE id = ?4 AND outcome IS NULL",
        )
        .bind(time::encode(at))
        .bind(outcome)
        .bind(detail)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn observations_for(
        &self,
        request_id: RequestId,
    ) -> Result<Vec<ObservationRecord>, StoreError> {
        type Row = (i64, i64, String, String, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, request_id, telescope, started_at, ended_at, outcome, detail
             FROM observations WHERE request_id = ?1 ORDER BY id",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, request_id, telescope, started, ended_at, outcome, detail)| {
                Ok(ObservationRecord {
                    id,
                    request_id,
                    telescope,
                    started_at: time::decode(&started)?,
                    ended_at,
                    outcome,
                    detail,
                })
            })
            .collect()
    }

    /// After a crash or `kill -9`: observations left running are marked `interrupted`
    /// and requests caught `observing` or `scheduled` go back to `queued`, so the plan
    /// is rebuilt from the store. Interruptions by teld itself do not count as failed
    /// attempts. Returns the ids of requests put back in the queue.
    pub async fn recover_after_restart(&self, at: Epoch) -> Result<Vec<RequestId>, StoreError> {
        sqlx::query(
            "UPDATE observations SET ended_at = ?1, outcome = 'interrupted',
                    detail = 'teld stopped while this observation ran'
             WHERE outcome IS NULL",
        )
        .bind(time::encode(at))
        .execute(&self.pool)
        .await?;
        let mut requeued = Vec::new();
        for rec in self.requests_in(&[RequestState::Observing, RequestState::Scheduled]).await? {
            let detail = format!("teld restarted while {}; re-planning", rec.state);
            let from = [RequestState::Observing, RequestState::Scheduled];
            if self
                .transition(rec.id, &from, RequestState::Queued, Some(&detail), at)
                .await?
                .is_some()
            {
                requeued.push(rec.id);
            }
        }
        Ok(requeued)
    }
}
