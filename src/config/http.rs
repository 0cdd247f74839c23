//! The `[http]` checks, above all the loopback rule: an address other machines can
//! reach needs authentication, and tokens need TLS to cross a network.

use super::types::{HttpConfig, RateLimit};

pub fn check(h: &HttpConfig, bad: &mut impl FnMut(String, String)) {
    let remote = !h.listen.ip().is_loopback();
    if remote && !h.auth {
        bad(
            "http.listen".into(),
            format!(
                "{} is not loopback and http.auth is off: anyone who can reach it could move the telescope; \
                 set http.auth = true and create tokens with `teld token create`, or listen on 127.0.0.1",
                h.listen
            ),
        );
    }
    if remote && h.auth && !h.tls() && !h.allow_plaintext_remote {
        bad(
            "http.tls_cert".into(),
            format!(
                "{} is not loopback and TLS is off: bearer tokens would cross the network in clear; \
                 set http.tls_cert and http.tls_key, or, only behind a proxy that terminates TLS, \
                 http.allow_plaintext_remote = true",
                h.listen
            ),
        );
    }
    match (&h.tls_cert, &h.tls_key) {
        (Some(_), None) => bad(
            "http.tls_key".into(),
            "tls_cert is set without tls_key; give both PEM files or neither".into(),
        ),
        (None, Some(_)) => bad(
            "http.tls_cert".into(),
            "tls_key is set without tls_cert; give both PEM files or neither".into(),
        ),
        _ => {}
    }
    for (key, path) in [("http.tls_cert", &h.tls_cert), ("http.tls_key", &h.tls_key)] {
        if let Some(p) = path
            && !p.is_file()
        {
            bad(key.into(), format!("{} is not a readable file; give a PEM file", p.display()));
        }
    }
    let t = h.request_timeout_s;
    if !(t.is_finite() && t > 0.0 && t <= 3600.0) {
        bad("http.request_timeout_s".into(), format!("must be in (0, 3600] seconds, got {t}"));
    }
    if !(1..=1_000_000).contains(&h.max_connections) {
        bad(
            "http.max_connections".into(),
            format!("must be 1 to 1000000, got {}", h.max_connections),
        );
    }
    if h.sse_max_per_token == 0 {
        bad("http.sse_max_per_token".into(), "must be at least 1".into());
    }
    let r = &h.rate_limit;
    for (role, l) in [("observer", r.observer), ("operator", r.operator), ("admin", r.admin)] {
        rate(bad, &format!("http.rate_limit.{role}"), l);
    }
}

fn rate(bad: &mut impl FnMut(String, String), path: &str, l: RateLimit) {
    if !(l.per_s.is_finite() && l.per_s >= 0.0) {
        bad(format!("{path}.per_s"), format!("must be >= 0 (0: unlimited), got {}", l.per_s));
    } else if !l.unlimited() && l.burst == 0 {
        bad(
            format!("{path}.burst"),
            "must be at least 1 when per_s > 0, or no call would ever pass".into(),
        );
    }
}
