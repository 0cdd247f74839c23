//! Who may call what: the one table of every route, its minimum role and whether it
//! is audited. The access layer (`authn.rs`) enforces it; a route that the router
//! has but this table lacks is refused to everyone (deny by default), so adding an
//! endpoint without deciding who may use it fails closed.

use axum::http::Method;

use crate::auth::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed: holds no data (the page's files, liveness, the schema).
    Public,
    /// A token of at least this role.
    AtLeast(Role),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub access: Access,
    /// Each call leaves an audit row (and so does a 403 on it).
    pub audited: bool,
}

const fn public() -> Rule {
    Rule { access: Access::Public, audited: false }
}
const fn role(r: Role) -> Rule {
    Rule { access: Access::AtLeast(r), audited: false }
}
const fn audited(r: Role) -> Rule {
    Rule { access: Access::AtLeast(r), audited: true }
}

use Role::{Admin, Observer, Operator};

/// (method, route template as registered with the router, rule). HEAD follows GET.
pub const ROUTES: &[(&str, &str, Rule)] = &[
    ("GET", "/", public()),
    ("GET", "/app.js", public()),
    ("GET", "/app.css", public()),
    ("GET", "/favicon.svg", public()),
    ("GET", "/healthz", public()),
    ("GET", "/readyz", public()),
    ("GET", "/openapi.json", public()),
    // Prometheus can send a bearer token; device states are not for everyone.
    ("GET", "/metrics", role(Observer)),
    ("GET", "/api/v1/whoami", role(Observer)),
    ("GET", "/api/v1/status", role(Observer)),
    ("GET", "/api/v1/telescopes", role(Observer)),
    ("GET", "/api/v1/telescopes/{name}", role(Observer)),
    ("GET", "/api/v1/plan", role(Observer)),
    ("GET", "/api/v1/plan.svg", role(Observer)),
    // Observers see and cancel only their own requests (requests.rs), operators all.
    ("POST", "/api/v1/requests", audited(Observer)),
    ("GET", "/api/v1/requests", role(Observer)),
    ("GET", "/api/v1/requests/{id}", role(Observer)),
    ("POST", "/api/v1/requests/{id}/cancel", audited(Observer)),
    ("GET", "/api/v1/frames", role(Observer)),
    ("GET", "/api/v1/frames/{id}", role(Observer)),
    ("GET", "/api/v1/frames/{id}/fits", role(Observer)),
    ("GET", "/api/v1/frames/{id}/preview.png", role(Observer)),
    ("GET", "/api/v1/drivers", role(Observer)),
    ("GET", "/api/v1/events", role(Observer)),
    ("POST", "/api/v1/telescopes/{name}/actions/{action}", audited(Operator)),
    ("GET", "/api/v1/tokens", role(Admin)),
    ("POST", "/api/v1/tokens", audited(Admin)),
    ("POST", "/api/v1/tokens/{id}/revoke", audited(Admin)),
    ("POST", "/api/v1/drivers/{name}/restart", audited(Admin)),
    ("POST", "/api/v1/drivers/{name}/update", audited(Admin)),
    ("POST", "/api/v1/drivers/{name}/rollback", audited(Admin)),
    ("GET", "/api/v1/audit", role(Admin)),
    // Stopping the site only makes it safer, but it ends the night's work: operators.
    ("POST", "/api/v1/safety/stop", audited(Operator)),
    ("POST", "/api/v1/safety/clear", audited(Operator)),
];

/// What the access layer does with a request that matched `template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Apply(Rule),
    /// The path is known but not with this method: the router answers 405.
    WrongMethod,
    /// A route the router has and this table lacks: refused to everyone.
    Deny,
}

pub fn decide(method: &Method, template: &str) -> Decision {
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    let mut path_known = false;
    for (m, t, rule) in ROUTES {
        if *t == template {
            if *m == method {
                return Decision::Apply(*rule);
            }
            path_known = true;
        }
    }
    if path_known { Decision::WrongMethod } else { Decision::Deny }
}

/// What an audited call acted on, from its route and path parameters: `request 12`,
/// `t1 park`, `token 3`, `driver sim`. `None` when the route names nothing (a
/// submission: its new id comes from the answer's `Location`).
pub fn target(template: &str, params: &[(&str, &str)]) -> Option<String> {
    let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
    let noun = if template.starts_with("/api/v1/requests/") {
        "request"
    } else if template.starts_with("/api/v1/tokens/") {
        "token"
    } else if template.starts_with("/api/v1/drivers/") {
        "driver"
    } else if template.starts_with("/api/v1/frames/") {
        "frame"
    } else {
        ""
    };
    let values: Vec<&str> = match (get("name"), get("action"), get("id")) {
        (Some(n), Some(a), _) => vec![n, a],
        (Some(n), None, _) => vec![n],
        (None, _, Some(id)) => vec![id],
        _ => params.iter().map(|(_, v)| *v).collect(),
    };
    if values.is_empty() {
        return None;
    }
    let v = values.join(" ");
    Some(if noun.is_empty() { v } else { format!("{noun} {v}") })
}

/// The same from an answer's `Location` (`/api/v1/requests/12` → `request 12`).
pub fn target_from_location(location: &str) -> Option<String> {
    let rest = location.strip_prefix("/api/v1/")?;
    let (kind, id) = rest.split_once('/')?;
    let noun = kind.strip_suffix('s').unwrap_or(kind);
    Some(format!("{noun} {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_decides_known_routes_and_denies_the_rest() {
        let get = Method::GET;
        assert_eq!(decide(&get, "/healthz"), Decision::Apply(public()));
        assert_eq!(decide(&Method::HEAD, "/api/v1/status"), Decision::Apply(role(Observer)));
        assert_eq!(
            decide(&Method::POST, "/api/v1/telescopes/{name}/actions/{action}"),
            Decision::Apply(audited(Operator))
        );
        assert_eq!(decide(&Method::DELETE, "/api/v1/requests/{id}"), Decision::WrongMethod);
        assert_eq!(decide(&get, "/api/v1/secret-new-thing"), Decision::Deny);
        // Every audited route changes something; no read is audited.
        for (m, t, r) in ROUTES {
            assert_eq!(r.audited, *m == "POST", "{m} {t}");
        }
        // No route twice.
        for (i, (m, t, _)) in ROUTES.iter().enumerate() {
            assert!(!ROUTES[..i].iter().any(|(m2, t2, _)| m == m2 && t == t2), "{m} {t} twice");
        }
    }

    #[test]
    fn targets_name_what_was_acted_on() {
        let t = "/api/v1/telescopes/{name}/actions/{action}";
        assert_eq!(target(t, &[("name", "t1"), ("action", "park")]).as_deref(), Some("t1 park"));
        let t = "/api/v1/requests/{id}/cancel";
        assert_eq!(target(t, &[("id", "12")]).as_deref(), Some("request 12"));
        let t = "/api/v1/drivers/{name}/restart";
        assert_eq!(target(t, &[("name", "sim")]).as_deref(), Some("driver sim"));
        assert_eq!(target("/api/v1/requests", &[]), None);
        assert_eq!(target_from_location("/api/v1/tokens/3").as_deref(), Some("token 3"));
    }
}
