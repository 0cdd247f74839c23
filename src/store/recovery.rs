//! What start-up recovery of the archive asks the store (see `ingest::recover`).

use std::collections::HashSet;

use super::{Store, StoreError};
use crate::model::{ObservationId, RequestId};

impl Store {
    /// Every registered frame path (relative to the archive root), to tell the files
    /// of the archive that have a row from those that lost theirs in a crash.
    pub async fn frame_paths(&self) -> Result<HashSet<String>, StoreError> {
        let paths: Vec<String> =
            sqlx::query_scalar("SELECT path FROM frames").fetch_all(&self.pool).await?;
        Ok(paths.into_iter().collect())
    }

    /// The paths of the frames registered for one observation.
    pub async fn frame_paths_of_observation(
        &self,
        observation_id: ObservationId,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT path FROM frames WHERE observation_id = ?1 ORDER BY id")
            .bind(observation_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The request and telescope of an observation, if it exists.
    pub async fn observation_owner(
        &self,
        observation_id: ObservationId,
    ) -> Result<Option<(RequestId, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT request_id, telescope FROM observations WHERE id = ?1")
            .bind(observation_id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
