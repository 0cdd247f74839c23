//! The control mode of each telescope, as last set by an operator.

use super::{Store, StoreError};

/// One `telescope_control` row; `since` is UTC text as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRecord {
    pub telescope: String,
    pub mode: String,
    pub holder_name: Option<String>,
    pub holder_token_id: Option<i64>,
    pub reason: Option<String>,
    pub since: String,
}

type Row = (String, String, Option<String>, Option<i64>, Option<String>, String);

impl Store {
    pub async fn controls(&self) -> Result<Vec<ControlRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT telescope, mode, holder_name, holder_token_id, reason, since
             FROM telescope_control ORDER BY telescope",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(telescope, mode, holder_name, holder_token_id, reason, since)| ControlRecord {
                telescope,
                mode,
                holder_name,
                holder_token_id,
                reason,
                since,
            })
            .collect())
    }

    pub async fn set_control(&self, c: &ControlRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO telescope_control (telescope, mode, holder_name, holder_token_id, reason, since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (telescope) DO UPDATE SET mode = excluded.mode,
                holder_name = excluded.holder_name, holder_token_id = excluded.holder_token_id,
                reason = excluded.reason, since = excluded.since",
        )
        .bind(&c.telescope)
        .bind(&c.mode)
        .bind(&c.holder_name)
        .bind(c.holder_token_id)
        .bind(&c.reason)
        .bind(&c.since)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
