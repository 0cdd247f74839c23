//! Requests and their state history.

use hifitime::Epoch;
use serde::Serialize;

use super::{Store, StoreError, time};
use crate::auth::TokenId;
use crate::model::{RequestId, RequestSpec, RequestState};

#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub id: RequestId,
    pub spec: RequestSpec,
    pub state: RequestState,
    pub attempts: u32,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub submitted_at: Epoch,
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub updated_at: Epoch,
    /// The token that submitted it; `None` for local callers, surveys and old rows.
    /// Not serialised: who may see it is the API's decision, not the record's.
    #[serde(skip)]
    pub owner: Option<TokenId>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestEvent {
    #[serde(with = "teld_driver_protocol::time::utc")]
    pub at: Epoch,
    pub state: RequestState,
    pub detail: Option<String>,
}

type Row = (i64, String, String, i64, String, String, Option<i64>);

/// The columns [`decode`]/[`record`] reads, in its order (a macro so queries stay `&'static str`).
macro_rules! request_columns {
    () => {
        "id, spec, state, attempts, submitted_at, updated_at, owner_token_id"
    };
}

fn decode(row: Row) -> Result<RequestRecord, StoreError> {
    let (id, spec, state, attempts, submitted, updated, owner) = row;
    let spec: RequestSpec = serde_json::from_str(&spec)
        .map_err(|e| StoreError::Corrupt { what: format!("request {id} spec: {e}") })?;
    let state = RequestState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt { what: format!("request {id} state `{state}`") })?;
    Ok(RequestRecord {
        id,
        spec,
        state,
        attempts: attempts.try_into().unwrap_or(u32::MAX),
        submitted_at: time::decode(&submitted)?,
        updated_at: time::decode(&updated)?,
        owner,
    })
}

impl Store {
    /// Stores a new request as `queued`, with its first history row, in one
    /// transaction. Returns only once the commit is durable.
    pub async fn insert_request(
        &self,
        spec: &RequestSpec,
        at: Epoch,
    ) -> Result<RequestRecord, StoreError> {
        self.insert_request_owned(spec, at, None).await
    }

    /// [`Store::insert_request`] on behalf of the token `owner`.
    pub async fn insert_request_owned(
        &self,
        spec: &RequestSpec,
        at: Epoch,
        owner: Option<TokenId>,
    ) -> Result<RequestRecord, StoreError> {
        let json = serde_json::to_string(spec)
            .map_err(|e| StoreError::Corrupt { what: format!("request spec: {e}") })?;
        let now = time::encode(at);
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO requests (spec, priority, state, submitted_at, updated_at, owner_token_id)
             VALUES (?1, ?2, 'queued', ?3, ?3, ?4) RETURNING id",
        )
        .bind(&json)
        .bind(spec.priority as i64)
        .bind(&now)
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO request_events (request_id, at, state, detail) VALUES (?1, ?2, 'queued', 'submitted')",
        )
        .bind(id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RequestRecord {
            id,
            spec: spec.clone(),
            state: RequestState::Queued,
            attempts: 0,
            submitted_at: at,
            updated_at: at,
            owner,
        })
    }

    pub async fn request(&self, id: RequestId) -> Result<Option<RequestRecord>, StoreError> {
        let row: Option<Row> =
            sqlx::query_as(concat!("SELECT ", request_columns!(), " FROM requests WHERE id = ?1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(decode).transpose()
    }

    pub async fn request_events(&self, id: RequestId) -> Result<Vec<RequestEvent>, StoreError> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT at, state, detail FROM request_events WHERE request_id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, state, detail)| {
                Ok(RequestEvent {
                    at: time::decode(&at)?,
                    state: RequestState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                        what: format!("request {id} event state `{state}`"),
                    })?,
                    detail,
                })
            })
            .collect()
    }

    /// Requests in any of `states`, highest priority first, then oldest first.
    pub async fn requests_in(
        &self,
        states: &[RequestState],
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let mut out = Vec::new();
        for s in states {
            let rows: Vec<Row> = sqlx::query_as(concat!(
                "SELECT ",
                request_columns!(),
                " FROM requests WHERE state = ?1"
            ))
            .bind(s.as_str())
            .fetch_all(&self.pool)
            .await?;
            for r in rows {
                out.push(decode(r)?);
            }
        }
        out.sort_by(|a, b| b.spec.priority.cmp(&a.spec.priority).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// External ids starting with `prefix`, with their request's state (survey
    /// bookkeeping: which fields were planned and done on which night).
    pub async fn external_ids_with_prefix(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, RequestState)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT json_extract(spec, '$.external_id') AS x, state FROM requests
             WHERE substr(json_extract(spec, '$.external_id'), 1, length(?1)) = ?1",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(x, s)| RequestState::parse(&s).map(|st| (x, st)))
            .collect())
    }

    /// The newest `limit` requests.
    pub async fn recent_requests(&self, limit: u32) -> Result<Vec<RequestRecord>, StoreError> {
        self.recent_requests_of(limit, None).await
    }

    /// The newest `limit` requests, only those of token `owner` if given.
    pub async fn recent_requests_of(
        &self,
        limit: u32,
        owner: Option<TokenId>,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(concat!(
            "SELECT ",
            request_columns!(),
            " FROM requests WHERE (?2 IS NULL OR owner_token_id = ?2)
             ORDER BY id DESC LIMIT ?1"
        ))
        .bind(limit as i64)
        .bind(owner)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(decode).collect()
    }

    /// Moves a request to `to` if it is currently in one of `from`, writing the history
    /// row in the same transaction. Returns the previous state, or `None` if the
    /// request was not in an allowed state (someone else moved it first).
    pub async fn transition(
        &self,
        id: RequestId,
        from: &[RequestState],
        to: RequestState,
        detail: Option<&str>,
        at: Epoch,
    ) -> Result<Option<RequestState>, StoreError> {
        let Some(current) = self.request(id).await? else {
            return Err(StoreError::NoSuchRequest(id));
        };
        if !from.contains(&current.state) {
            return Ok(None);
        }
        let now = time::encode(at);
        let mut tx = self.pool.begin().await?;
        // Compare-and-set on the state read above: a concurrent change makes this a no-op.
        let changed = sqlx::query(
            "UPDATE requests SET state = ?1, updated_at = ?2 WHERE id = ?3 AND state = ?4",
        )
        .bind(to.as_str())
        .bind(&now)
        .bind(id)
        .bind(current.state.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        insert_event(&mut tx, id, &now, to, detail).await?;
        tx.commit().await?;
        Ok(Some(current.state))
    }

    /// Counts a failed attempt of an `observing` request: back to `queued`, or
    /// `failed` once `max_attempts` is reached. Returns the new state.
    pub async fn record_failed_attempt(
        &self,
        id: RequestId,
        detail: &str,
        max_attempts: u32,
        at: Epoch,
    ) -> Result<Option<RequestState>, StoreError> {
        let Some(current) = self.request(id).await? else {
            return Err(StoreError::NoSuchRequest(id));
        };
        if current.state != RequestState::Observing {
            return Ok(None);
        }
        let attempts = current.attempts + 1;
        let (to, detail) = if attempts >= max_attempts {
            (
                RequestState::Failed,
                format!("retired after {attempts} failed attempts; last: {detail}"),
            )
        } else {
            (
                RequestState::Queued,
                format!("attempt {attempts} of {max_attempts} failed: {detail}; will retry"),
            )
        };
        let now = time::encode(at);
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE requests SET state = ?1, attempts = ?2, updated_at = ?3
             WHERE id = ?4 AND state = 'observing'",
        )
        .bind(to.as_str())
        .bind(attempts as i64)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        insert_event(&mut tx, id, &now, to, Some(&detail)).await?;
        tx.commit().await?;
        Ok(Some(to))
    }
}

async fn insert_event(
    tx: &mut sqlx::SqliteConnection,
    id: RequestId,
    at: &str,
    state: RequestState,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO request_events (request_id, at, state, detail) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(id)
    .bind(at)
    .bind(state.as_str())
    .bind(detail)
    .execute(tx)
    .await?;
    Ok(())
}
