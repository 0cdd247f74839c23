//! Night plans: the latest version of each night's plan, JSON and picture.

use hifitime::Epoch;

use super::time::{decode, encode};
use super::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct StoredPlan {
    pub night_start: Epoch,
    pub updated_at: Epoch,
    pub json: String,
    pub svg: String,
}

impl Store {
    /// Replaces the stored plan of the night starting at `night_start`.
    pub async fn save_plan(&self, p: &StoredPlan) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO plans (night_start, updated_at, plan_json, plan_svg) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (night_start) DO UPDATE SET
               updated_at = excluded.updated_at, plan_json = excluded.plan_json,
               plan_svg = excluded.plan_svg",
        )
        .bind(encode(p.night_start))
        .bind(encode(p.updated_at))
        .bind(&p.json)
        .bind(&p.svg)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest night's plan that started at or before `before` (any, if `None`).
    pub async fn plan_before(
        &self,
        before: Option<Epoch>,
    ) -> Result<Option<StoredPlan>, StoreError> {
        let limit = before.map_or_else(|| "9999".to_string(), encode);
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT night_start, updated_at, plan_json, plan_svg FROM plans
             WHERE night_start <= ?1 ORDER BY night_start DESC LIMIT 1",
        )
        .bind(limit)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(n, u, json, svg)| {
            Ok(StoredPlan { night_start: decode(&n)?, updated_at: decode(&u)?, json, svg })
        })
        .transpose()
    }
}
