//! The operator's site-wide safety stop, while it holds.

use super::{Store, StoreError};

/// The `safety_hold` row; `since` is UTC text as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct HoldRecord {
    /// Who stopped the site: a token's name, or `local` with access control off.
    pub by: String,
    pub reason: Option<String>,
    /// UTC (daemon clock).
    pub since: String,
}

impl Store {
    pub async fn safety_hold(&self) -> Result<Option<HoldRecord>, StoreError> {
        let row: Option<(String, Option<String>, String)> =
            sqlx::query_as("SELECT by_name, reason, since FROM safety_hold WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(by, reason, since)| HoldRecord { by, reason, since }))
    }

    /// Sets the hold (replacing one in force: the latest reason is the one shown) or,
    /// with `None`, clears it.
    pub async fn set_safety_hold(&self, hold: Option<&HoldRecord>) -> Result<(), StoreError> {
        match hold {
            Some(h) => {
                sqlx::query(
                    "INSERT INTO safety_hold (id, by_name, reason, since) VALUES (1, ?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET by_name = excluded.by_name,
                        reason = excluded.reason, since = excluded.since",
                )
                .bind(&h.by)
                .bind(&h.reason)
                .bind(&h.since)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM safety_hold").execute(&self.pool).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_survives_reopening_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let url = Store::default_url(dir.path()).unwrap();
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.safety_hold().await.unwrap(), None);
        let hold = HoldRecord {
            by: "ann".into(),
            reason: Some("lightning nearby".into()),
            since: "2026-11-24T21:00:00.000000".into(),
        };
        store.set_safety_hold(Some(&hold)).await.unwrap();
        store.close().await;
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.safety_hold().await.unwrap(), Some(hold));
        store.set_safety_hold(None).await.unwrap();
        assert_eq!(store.safety_hold().await.unwrap(), None);
        store.close().await;
    }
}
