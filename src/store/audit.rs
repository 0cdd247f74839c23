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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Epoch {
        teld_driver_protocol::time::parse_utc(s).unwrap()
    }

    #[tokio::test]
    async fn audit_rows_are_appended_and_paged_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
        let row = |n: u16| NewAudit {
            at: t("2026-12-06T20:00:00"),
            clock_at: t("2026-11-24T19:30:00"),
            token_id: None,
            actor: "local".into(),
            role: Some("admin".into()),
            peer: Some("127.0.0.1:5000".into()),
            method: "POST".into(),
            route: "/api/v1/requests/{id}/cancel".into(),
            target: Some(format!("request {n}")),
            status: 200 + n,
            result: "ok".into(),
            detail: Some(r#"{"message":"x"}"#.into()),
        };
        for n in 0..5 {
            s.append_audit(&row(n)).await.unwrap();
        }
        let first = s.audit_page(0, 2).await.unwrap();
        assert_eq!(first.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 201]);
        let rest = s.audit_page(first[1].id, 10).await.unwrap();
        assert_eq!(rest.len(), 3);
        assert_eq!(rest[0].target.as_deref(), Some("request 2"));
        assert_eq!(rest[0].detail, Some(serde_json::json!({"message": "x"})));
        assert_eq!(rest[0].clock_at, "2026-11-24T19:30:00.000000");
    }

    #[tokio::test]
    async fn requests_remember_their_owner_and_lists_filter_by_it() {
        use crate::auth::Role;
        use crate::model::RequestSpec;
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
        let at = t("2026-11-24T20:00:00");
        let ann = s.insert_token("ann", Role::Observer, &[1; 32], "h", "cli", at).await.unwrap();
        let spec = RequestSpec::example(22.5, 20.1);
        let mine = s.insert_request_owned(&spec, at, Some(ann)).await.unwrap().id;
        let nobody = s.insert_request(&spec, at).await.unwrap().id;
        assert_eq!(s.request(mine).await.unwrap().unwrap().owner, Some(ann));
        assert_eq!(s.request(nobody).await.unwrap().unwrap().owner, None);
        let ids = |v: Vec<crate::store::RequestRecord>| v.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(s.recent_requests_of(10, Some(ann)).await.unwrap()), [mine]);
        assert_eq!(ids(s.recent_requests_of(10, None).await.unwrap()), [nobody, mine]);
        assert!(s.recent_requests_of(10, Some(-1)).await.unwrap().is_empty());
    }
}
