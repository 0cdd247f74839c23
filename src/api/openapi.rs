//! `GET /openapi.json`: the API described from the code (utoipa). Handlers carry
//! `#[utoipa::path]`; this file lists them and adds what every operation shares:
//! the bearer scheme and the error answers the layers around handlers can give.
//!
//! To document a new route: put `#[utoipa::path(...)]` on its handler and add the
//! handler to `paths(...)` below. The drift test at the bottom fails until both the
//! router and this list have it.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::access::{self, Access};
use super::schemas::*;
use super::{
    ApiState, audit_api, drivers, events, frames, health, metrics, plan, requests, safety, status,
    telescopes, tokens, web, whoami,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "teld",
        description = "Telescope tasking and observation control daemon. Errors are JSON \
            `{\"error\":{\"code\",\"message\",\"field\"?}}`; request bodies are limited to 64 KiB; \
            a handler that has not answered within 30 s gets 503 `timeout`. See docs/API.md.",
    ),
    paths(
        health::healthz, health::readyz, metrics::show, openapi_json,
        status::status,
        requests::submit, requests::list, requests::show, requests::cancel,
        frames::list, frames::show, frames::fits, frames::preview,
        plan::show, plan::picture,
        web::index, web::app_js, web::app_css, web::favicon,
        whoami::show, tokens::list, tokens::create, tokens::revoke, audit_api::page,
        telescopes::list, telescopes::show, telescopes::action,
        drivers::list, drivers::restart, drivers::update, drivers::rollback, events::stream,
        safety::stop, safety::clear,
    ),
    components(schemas(ErrorBody)),
    modifiers(&CommonErrors),
)]
pub struct ApiDoc;

/// The document for a daemon with access control on or off: with it off every
/// operation also accepts no token (`security: [{}, {bearer: []}]`), so the document
/// never claims a check the server does not make.
pub fn document(auth: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    Security { auth }.modify(&mut doc);
    doc
}

/// Whether anyone may call `method path`, also when auth is on: read from the access
/// layer's own table, so the document cannot promise less (or more) than it enforces.
fn public(method: &str, path: &str) -> bool {
    access::ROUTES.iter().any(|(m, t, rule)| {
        m.eq_ignore_ascii_case(method) && *t == path && rule.access == Access::Public
    })
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("OPTIONS", item.options.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
}

struct Security {
    auth: bool,
}

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token made with `teld token create`; only checked when http.auth is on",
                    ))
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let public = public(method, path);
                let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
                op.security = Some(match (public, self.auth) {
                    (true, _) => vec![SecurityRequirement::default()],
                    (false, true) => vec![bearer],
                    (false, false) => vec![SecurityRequirement::default(), bearer],
                });
            }
        }
    }
}

/// Answers that come from the layers, not the handler: every operation documents
/// them so a client (and schemathesis) knows their shape.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                let public = public(method, path);
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = op.request_body.is_some();
                let mut add = |code: &str, why: &str| {
                    op.responses.responses.entry(code.to_string()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(why)
                                .content(
                                    "application/json",
                                    Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                                )
                                .build(),
                        )
                    });
                };
                add("503", "`store_unavailable` or `timeout`: retry later");
                if !public {
                    add("401", "`unauthorized`: no token, or an unknown, revoked or expired one");
                    add("403", "`forbidden`: the token's role is too low");
                    add("429", "`rate_limited`: wait for `Retry-After` seconds");
                }
                if has_params {
                    add("400", "`invalid_query` or `invalid_id`: a parameter cannot be read");
                }
                if has_body {
                    add("400", "`malformed_json`: the body is not JSON");
                    add("413", "`body_unreadable`: the body is over 64 KiB");
                    add("415", "`unsupported_media_type`: send application/json");
                    add("422", "`invalid_request` or `invalid_value`: `field` names the problem");
                }
            }
        }
    }
}

#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "health",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object)))]
pub async fn openapi_json(State(st): State<ApiState>) -> impl IntoResponse {
    // Built once per mode: the document never changes while the process runs.
    static DOCS: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let auth = auth_enforced(&st);
    let body = DOCS[usize::from(auth)].get_or_init(|| {
        document(auth).to_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    });
    ([(CONTENT_TYPE, "application/json")], body.as_str())
}

/// Whether bearer tokens are checked (`http.auth`), as the access layer sees it.
fn auth_enforced(st: &ApiState) -> bool {
    st.auth.enabled
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, template)` of every `.route(..)` in the router's source. Read from
    /// the text because axum cannot list a router's routes; rustfmt keeps the shape.
    fn router_routes() -> BTreeSet<(String, String)> {
        let src = include_str!("mod.rs");
        let body = &src[src.find("pub fn router(").expect("router fn")..];
        let body = &body[..body.find(".fallback(").expect("fallback after the routes")];
        let mut out = BTreeSet::new();
        for chunk in body.split(".route(").skip(1) {
            let path = chunk.split('"').nth(1).expect("route path literal").to_string();
            for m in ["get", "post", "put", "delete", "patch"] {
                let called = chunk
                    .match_indices(&format!("{m}("))
                    .any(|(i, _)| i == 0 || !chunk.as_bytes()[i - 1].is_ascii_alphanumeric());
                if called {
                    out.insert((m.to_uppercase(), path.clone()));
                }
            }
        }
        out
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc = serde_json::to_value(document(true)).unwrap();
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for m in item.as_object().unwrap().keys() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let routes = router_routes();
        let docs = documented();
        assert!(routes.len() >= 15, "{routes:?}");
        let undocumented: Vec<_> = routes.difference(&docs).collect();
        let unrouted: Vec<_> = docs.difference(&routes).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes missing from openapi.rs paths(..): {undocumented:?}; documented but not routed: {unrouted:?}"
        );
    }

    #[test]
    fn operation_ids_are_unique_and_every_operation_documents_its_errors() {
        let doc = serde_json::to_value(document(true)).unwrap();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (m, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap();
                assert!(ids.insert(id.to_string()), "operationId {id} twice");
                assert!(op["responses"].get("503").is_some(), "{m} {path} lacks 503");
                let public = public(m, path);
                assert_eq!(op["responses"].get("401").is_none(), public, "{m} {path}");
            }
        }
    }

    #[test]
    fn the_document_and_the_access_table_list_the_same_operations() {
        let table: BTreeSet<(String, String)> =
            access::ROUTES.iter().map(|(m, t, _)| (m.to_string(), t.to_string())).collect();
        assert_eq!(documented(), table);
        let doc = serde_json::to_value(document(true)).unwrap();
        for (m, t, rule) in access::ROUTES {
            let security = &doc["paths"][t][m.to_lowercase()]["security"];
            let open = *security == serde_json::json!([{}]);
            assert_eq!(open, rule.access == Access::Public, "{m} {t}: {security}");
        }
    }

    #[test]
    fn security_is_required_only_when_auth_is_on() {
        let on = serde_json::to_value(document(true)).unwrap();
        let off = serde_json::to_value(document(false)).unwrap();
        let status =
            |d: &serde_json::Value| d["paths"]["/api/v1/status"]["get"]["security"].clone();
        assert_eq!(status(&on), serde_json::json!([{"bearer": []}]));
        assert_eq!(status(&off), serde_json::json!([{}, {"bearer": []}]));
        assert_eq!(on["paths"]["/healthz"]["get"]["security"], serde_json::json!([{}]));
        assert_eq!(on["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }
}
