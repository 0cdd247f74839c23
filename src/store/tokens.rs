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
    /// UTC; `None`: never expires.
    #[serde(serialize_with = "utc_opt")]
    pub expires_at: Option<Epoch>,
    /// UTC, to the minute at best (written at most once a minute).
    pub last_used_at: Option<String>,
}

fn utc_opt<S: serde::Serializer>(t: &Option<Epoch>, s: S) -> Result<S::Ok, S::Error> {
    t.map(teld_driver_protocol::time::format_utc).serialize(s)
}

impl TokenRecord {
    /// Usable at `now`: not revoked and not past its expiry.
    pub fn live_at(&self, now: Epoch) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

type Row =
    (i64, String, String, String, String, String, Option<String>, Option<String>, Option<String>);

/// The columns [`decode`]/[`record`] reads, in its order (a macro so queries stay `&'static str`).
macro_rules! token_columns {
    () => {
        "id, name, role, hint, created_at, created_by, revoked_at, expires_at, last_used_at"
    };
}

fn record(r: Row) -> Result<TokenRecord, StoreError> {
    let (id, name, role, hint, created_at, created_by, revoked_at, expires_at, last_used_at) = r;
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
        expires_at: expires_at.as_deref().map(time::decode).transpose()?,
        last_used_at,
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
        self.insert_token_expiring(name, role, hash, hint, created_by, at, None).await
    }

    /// Like [`Store::insert_token`], with an expiry (`None`: never).
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_token_expiring(
        &self,
        name: &str,
        role: Role,
        hash: &[u8; 32],
        hint: &str,
        created_by: &str,
        at: Epoch,
        expires_at: Option<Epoch>,
    ) -> Result<i64, StoreError> {
        let r = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, role, hash, hint, created_at, created_by, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(&hash[..])
        .bind(hint)
        .bind(time::encode(at))
        .bind(created_by)
        .bind(expires_at.map(time::encode))
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
        let row: Option<Row> = sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens WHERE hash = ?1 AND revoked_at IS NULL"
        ))
        .bind(&hash[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(record).transpose()
    }

    /// Every token, revoked ones too, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<Row> =
            sqlx::query_as(concat!("SELECT ", token_columns!(), " FROM api_tokens ORDER BY id"))
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

    pub async fn token(&self, id: i64) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(concat!("SELECT ", token_columns!(), " FROM api_tokens WHERE id = ?1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(record).transpose()
    }

    /// Revokes the live token with this id; `false` if there is none.
    pub async fn revoke_token_id(&self, id: i64, at: Epoch) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        )
        .bind(time::encode(at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Notes that the token was used; callers throttle this (once a minute per token).
    pub async fn touch_token(&self, id: i64, at: Epoch) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ?1 WHERE id = ?2")
            .bind(time::encode(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expiring_tokens_are_live_until_their_time_and_revocable_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
        let t0 = Epoch::from_gregorian_utc(2026, 12, 6, 20, 0, 0, 0);
        let until = t0 + hifitime::Duration::from_days(1.0);
        let id = s
            .insert_token_expiring("temp", Role::Observer, &[7; 32], "h", "ada", t0, Some(until))
            .await
            .unwrap();
        let rec = s.token_by_hash(&[7; 32]).await.unwrap().unwrap();
        assert_eq!(rec.expires_at, Some(until));
        assert!(rec.live_at(t0) && !rec.live_at(until));
        s.touch_token(id, t0).await.unwrap();
        assert!(s.token(id).await.unwrap().unwrap().last_used_at.is_some());
        assert!(s.revoke_token_id(id, t0).await.unwrap());
        assert!(!s.revoke_token_id(id, t0).await.unwrap());
        assert!(s.token_by_hash(&[7; 32]).await.unwrap().is_none());
        let json = serde_json::to_value(s.token(id).await.unwrap().unwrap()).unwrap();
        assert_eq!(json["expires_at"], "2026-12-07T20:00:00.000000");
    }
}
