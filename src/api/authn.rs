//! The access layer: one middleware in front of every route. It finds the route's
//! rule (access.rs), identifies the caller, checks the role and the caller's rate,
//! hands the handler an `Extension<Caller>`, and writes the audit row of audited
//! routes once the answer exists. Handlers never parse headers or write audit rows.

use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::access::{self, Access, Decision, Rule};
use super::error::ErrorInfo;
use super::listener::Peer;
use super::{ApiError, ApiState};
use crate::auth::{Caller, TOKEN_PREFIX, hash_token, rate::retry_after_secs};
use crate::store::NewAudit;

/// A handler of an audited route may put this in its response's extensions: it is
/// stored as the audit row's `detail` (e.g. the device-reported state after an
/// action). Never put a secret here.
#[derive(Debug, Clone)]
pub struct AuditDetail(pub serde_json::Value);

pub async fn authn(
    State(st): State<ApiState>,
    matched: Option<MatchedPath>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    mut req: Request,
    next: Next,
) -> Response {
    // Unmatched paths reach the 404 fallback; nothing there to protect.
    let Some(matched) = matched else { return next.run(req).await };
    let template = matched.as_str().to_string();
    let rule = match access::decide(req.method(), &template) {
        Decision::Apply(rule) => rule,
        Decision::WrongMethod => return next.run(req).await,
        Decision::Deny => {
            tracing::error!(route = %template, "route missing from the access table; refused");
            return forbidden("this endpoint is not open to any role yet; report it as a bug")
                .into_response();
        }
    };
    let Access::AtLeast(min) = rule.access else { return next.run(req).await };

    let caller = if st.auth.enabled {
        // Taken out first: the request (its body) must not be held across the lookup.
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        match identify(&st, header).await {
            Ok(c) => c,
            Err(resp) => return resp,
        }
    } else {
        Caller::local()
    };
    let audit = Audit {
        rule,
        template,
        method: req.method().to_string(),
        params: params
            .ok()
            .map(|p| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default(),
        peer: req.extensions().get::<ConnectInfo<Peer>>().map(|ConnectInfo(Peer(a))| a.to_string()),
    };
    // Before the role check: refused calls cost the caller's budget too, which bounds
    // the audit rows a token can cause with 403s.
    if let Some(id) = caller.token_id
        && let Err(wait) = st.auth.rate.check(id, caller.role)
    {
        st.auth.count_rate_limited(caller.role);
        let secs = retry_after_secs(wait);
        let limit = st.auth.rate.limit(caller.role);
        let mut resp = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "token `{}` is over its rate ({} per second, bursts of {}); retry after {secs} s",
                caller.name, limit.per_s, limit.burst
            ),
        )
        .into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return resp;
    }
    if !caller.may(min) {
        let resp = forbidden(&format!(
            "this needs the {min} role; your token `{}` is {} — ask an admin for a token with that role",
            caller.name, caller.role
        ))
        .into_response();
        if rule.audited {
            audit.write(&st, &caller, &resp).await;
        }
        return resp;
    }
    req.extensions_mut().insert(caller.clone());
    let resp = next.run(req).await;
    if rule.audited {
        audit.write(&st, &caller, &resp).await;
    }
    resp
}

/// The caller behind `Authorization: Bearer teld_…`, or the 401 to answer.
async fn identify(st: &ApiState, header: Option<HeaderValue>) -> Result<Caller, Response> {
    let refuse = |why: &str| {
        st.auth.count_auth_failure();
        unauthorized(why)
    };
    let Some(value) = header else {
        return Err(refuse(
            "this endpoint needs a token: send `Authorization: Bearer teld_…` (an admin makes one with `teld token create`)",
        ));
    };
    // The header's value is never echoed or logged: it may be a secret.
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX));
    let Some(token) = token else {
        return Err(refuse(
            "the Authorization header must be `Bearer teld_…` with a token from `teld token create`",
        ));
    };
    match st.auth.tokens.get(&hash_token(token), wall_now()).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(refuse(
            "this token is not valid: it was revoked, has expired or was mistyped; ask an admin for a new one",
        )),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn wall_now() -> hifitime::Epoch {
    hifitime::Epoch::now().unwrap_or_else(|_| hifitime::Epoch::from_unix_seconds(0.0))
}

struct Audit {
    rule: Rule,
    template: String,
    method: String,
    params: Vec<(String, String)>,
    peer: Option<String>,
}

impl Audit {
    /// Written before the answer leaves, so a client that sees the answer can find
    /// the row. A failure to write is logged, not answered: the action is done.
    fn write(
        &self,
        st: &ApiState,
        caller: &Caller,
        resp: &Response,
    ) -> impl Future<Output = ()> + Send + 'static {
        // Built before the await: a response (its body) must not be held across it.
        let row = self.row(st, caller, resp);
        let store = st.ledger.store.clone();
        async move { store_row(store, row).await }
    }

    fn row(&self, st: &ApiState, caller: &Caller, resp: &Response) -> NewAudit {
        debug_assert!(self.rule.audited);
        let params: Vec<(&str, &str)> =
            self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let target = access::target(&self.template, &params).or_else(|| {
            resp.headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(access::target_from_location)
        });
        let info = resp.extensions().get::<ErrorInfo>();
        let detail = match (resp.extensions().get::<AuditDetail>(), info) {
            (Some(AuditDetail(v)), _) => Some(v.to_string()),
            (None, Some(e)) => Some(serde_json::json!({ "message": e.message }).to_string()),
            (None, None) => None,
        };
        NewAudit {
            at: wall_now(),
            clock_at: st.clock.now(),
            token_id: caller.token_id,
            actor: caller.name.clone(),
            role: Some(caller.role.as_str().to_string()),
            peer: self.peer.clone(),
            method: self.method.clone(),
            route: self.template.clone(),
            target,
            status: resp.status().as_u16(),
            result: info.map_or_else(|| "ok".to_string(), |e| e.code.to_string()),
            detail,
        }
    }
}

async fn store_row(store: crate::store::Store, row: NewAudit) {
    tracing::info!(actor = %row.actor, route = %row.route, target = row.target.as_deref().unwrap_or(""),
        status = row.status, result = %row.result, "audit");
    if let Err(e) = store.append_audit(&row).await {
        tracing::error!("could not write the audit row for {} {}: {e}", row.method, row.route);
    }
}
