//! API tokens as stored: name, role and the SHA-256 of the secret, never the secret.

use hifitime::Epoch;
use serde::Serialize;

use super::{Store, StoreError, time};
use crate::auth::Role;

/// A token as listed: everything but the secret, which the store never had.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub hint: String,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub created_at: Epoch,
    pub created_by: String,
    /// UTC, as stored; `None` while the token is live.
    pub revoked_at: Option<String>,
}

type Row = (i64, String, String, String, String, String, Option<String>);

fn record(r: Row) -> Result<TokenRecord, StoreError> {
    let (id, name, role, hint, created_at, created_by, revoked_at) = r;
    Ok(TokenRecord {
        id,
        role: role.parse().map_err(|e: crate::auth::RoleError| StoreError::Corrupt {
            what: format!("token {name}: {e}"),
        })?,
        name,
        hint,
        created_at: time::decode(&created_at)?,
        created_by,
        revoked_at,
    })
}

impl Store {
    /// Stores a new token; refused if a live token already has this name.
    pub async fn insert_token(
        &self,
        name: &str,
        role: Role,
        hash: &[u8; 32],
        hint: &str,
        created_by: &str,
        at: Epoch,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, role, hash, hint, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(&hash[..])
        .bind(hint)
        .bind(time::encode(at))
        .bind(created_by)
        .fetch_one(&self.pool)
        .await;
        match r {
            Ok(id) => Ok(id),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::TokenNameTaken(name.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The live (not revoked) token with this hash.
    pub async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, name, role, hint, created_at, created_by, revoked_at FROM api_tokens
             WHERE hash = ?1 AND revoked_at IS NULL",
        )
        .bind(&hash[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(record).transpose()
    }

    /// Every token, revoked ones too, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, role, hint, created_at, created_by, revoked_at FROM api_tokens
             ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(record).collect()
    }

    /// Revokes the live token called `name`; `false` if there is none.
    pub async fn revoke_token(&self, name: &str, at: Epoch) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL",
        )
        .bind(time::encode(at))
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
