//! The audit log: who did what to the observatory over the API, and how it ended.

use hifitime::Epoch;
use serde::Serialize;

use super::{Store, StoreError, time};
use crate::auth::TokenId;

/// A row to append; the access layer fills it from the request and its answer.
#[derive(Debug, Clone)]
pub struct NewAudit {
    /// Real UTC.
    pub at: Epoch,
    /// The daemon's clock (simulated or not).
    pub clock_at: Epoch,
    pub token_id: Option<TokenId>,
    pub actor: String,
    pub role: Option<String>,
    pub peer: Option<String>,
    pub method: String,
    pub route: String,
    pub target: Option<String>,
    pub status: u16,
    pub result: String,
    /// JSON text; never a secret.
    pub detail: Option<String>,
}

/// A stored row, as the audit API lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: String,
    pub clock_at: String,
    pub token_id: Option<TokenId>,
    pub actor: String,
    pub role: Option<String>,
    pub peer: Option<String>,
    pub method: String,
    pub route: String,
    pub target: Option<String>,
    pub status: u16,
    pub result: String,
    pub detail: Option<serde_json::Value>,
}

type Row = (
    i64,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
    String,
    Option<String>,
);

impl Store {
    pub async fn append_audit(&self, a: &NewAudit) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO audit_log (at, clock_at, token_id, actor, role, peer, method, route,
                                    target, status, result, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
        )
        .bind(time::encode(a.at))
        .bind(time::encode(a.clock_at))
        .bind(a.token_id)
        .bind(&a.actor)
        .bind(&a.role)
        .bind(&a.peer)
        .bind(&a.method)
        .bind(&a.route)
        .bind(&a.target)
        .bind(i64::from(a.status))
        .bind(&a.result)
        .bind(&a.detail)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Rows after `after_id`, oldest first: a client pages with the last id it saw.
    pub async fn audit_page(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, at, clock_at, token_id, actor, role, peer, method, route, target, status,
                    result, detail
             FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.0,
                at: r.1,
                clock_at: r.2,
                token_id: r.3,
                actor: r.4,
                role: r.5,
                peer: r.6,
                method: r.7,
                route: r.8,
                target: r.9,
                status: u16::try_from(r.10).unwrap_or(0),
                result: r.11,
                // Written by us as JSON; anything else is shown as the text it is.
                detail: r
                    .12
                    .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
            })
            .collect())
    }
}
