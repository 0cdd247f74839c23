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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_mode_is_replaced_not_appended_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let url = Store::default_url(dir.path()).unwrap();
        let store = Store::open(&url).await.unwrap();
        let mut rec = ControlRecord {
            telescope: "t1".into(),
            mode: "paused".into(),
            holder_name: Some("local".into()),
            holder_token_id: None,
            reason: Some("mirror cleaning".into()),
            since: "2026-11-24T21:00:00.000000".into(),
        };
        store.set_control(&rec).await.unwrap();
        rec.mode = "manual".into();
        rec.holder_token_id = Some(4);
        store.set_control(&rec).await.unwrap();
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.controls().await.unwrap(), vec![rec.clone()]);
        rec.mode = "sideways".into();
        assert!(store.set_control(&rec).await.is_err(), "the CHECK refuses unknown modes");
    }
}
