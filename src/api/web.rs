//! The web page at `/`: three files compiled into the binary, so the page works on a
//! site with no internet and no separate deployment, and always matches the API it
//! talks to.

use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::IntoResponse;

const INDEX: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");
const FAVICON: &str = include_str!("../../web/favicon.svg");

/// Only this teld may be contacted and no inline script can run, so an injected
/// string can neither execute nor send anything elsewhere. `blob:` images are the
/// previews and the plan chart, fetched with the token and shown from memory.
const CSP: &str = "default-src 'self'; img-src 'self' blob:; connect-src 'self'; \
                   style-src 'self'; script-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn file(body: &'static str, content_type: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            // A new teld must never run against an old cached page.
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}

#[utoipa::path(get, path = "/", operation_id = "web_index", tag = "web",
    responses((status = 200, description = "The web page", content_type = "text/html", body = String)))]
pub async fn index() -> impl IntoResponse {
    file(INDEX, "text/html; charset=utf-8")
}

#[utoipa::path(get, path = "/app.js", operation_id = "web_app_js", tag = "web",
    responses((status = 200, description = "The web page's script", content_type = "text/javascript", body = String)))]
pub async fn app_js() -> impl IntoResponse {
    file(APP_JS, "text/javascript; charset=utf-8")
}

#[utoipa::path(get, path = "/app.css", operation_id = "web_app_css", tag = "web",
    responses((status = 200, description = "The web page's style sheet", content_type = "text/css", body = String)))]
pub async fn app_css() -> impl IntoResponse {
    file(APP_CSS, "text/css; charset=utf-8")
}

#[utoipa::path(get, path = "/favicon.svg", operation_id = "web_favicon", tag = "web",
    responses((status = 200, description = "The page's icon", content_type = "image/svg+xml", body = String)))]
pub async fn favicon() -> impl IntoResponse {
    file(FAVICON, "image/svg+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        // No CDN, no inline script: everything the page loads is one of ours.
        for needle in ["http://", "https://", "<script>", "style=\"", "onclick="] {
            assert!(!INDEX.contains(needle), "index.html contains {needle}");
        }
        assert!(INDEX.contains(r#"src="/app.js""#) && INDEX.contains(r#"href="/app.css""#));
        for needle in ["http://", "https://", "innerHTML", "eval("] {
            assert!(!APP_JS.contains(needle), "app.js contains {needle}");
        }
    }
}
