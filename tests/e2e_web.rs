//! The web page in a real browser: Debian's chromium, driven headless by
//! playwright-core (tests/browser/web.mjs), against the real daemon with auth on.
//! An observer signs in, submits a request and sees it planned; the observer can't
//! park; an operator parks the telescope that is observing and sees it parked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::auth::{AUTH_ON, call, create_token};
use common::daemon::{Teld, TestSite};
use common::http;
use common::peers::require;

/// Node with playwright-core installed in tests/browser, and a chromium to drive.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    (node_ok && chromium.is_file() && dir.join("node_modules/playwright-core").is_dir())
        .then_some((dir, chromium))
}

#[test]
fn observers_and_operators_use_the_web_page_in_a_real_browser() {
    let Some((dir, chromium)) = require(
        browser(),
        "chromium + playwright-core (tests/browser)",
        "the web page in a real browser",
    ) else {
        return;
    };
    let site = TestSite::new("web", &[AUTH_ON], "");
    // Tokens are made on the store before teld starts, as an admin would.
    let observer = create_token(&site, "observer", "web-observer");
    let operator = create_token(&site, "operator", "web-operator");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);

    // The page itself is public and locked down; the API behind it is not public.
    let page = http::get(teld.addr, "/");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"), "{csp}");
    assert_eq!(http::get(teld.addr, "/api/v1/status").status, 401);

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target-e2e-web");
    let out = Command::new("node")
        .arg(dir.join("web.mjs"))
        .current_dir(&dir)
        .env("TELD_URL", format!("http://{}", teld.addr))
        .env("OBSERVER_TOKEN", &observer)
        .env("OPERATOR_TOKEN", &operator)
        .env("CHROMIUM", &chromium)
        .env("SHOTS", &shots)
        .output()
        .expect("run node tests/browser/web.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser scenarios failed (screenshots in {}):\n{stdout}\n{stderr}\n--- teld log ---\n{}",
        shots.display(),
        teld.log_text()
    );
    assert!(stdout.contains("all scenarios passed"), "{stdout}");

    // The server, not only the page, enforced the roles: the mount is parked, the
    // park is the operator's in the audit log and the observer's attempt a refusal.
    let admin = create_token(&site, "admin", "web-admin");
    let status = call(teld.addr, "GET", "/api/v1/status", Some(&operator), "").json();
    assert_eq!(status["telescopes"]["t1"]["mount"]["at_park"], true, "{status}");
    let audit = call(teld.addr, "GET", "/api/v1/audit?limit=500", Some(&admin), "").json();
    let rows = audit["entries"].as_array().cloned().unwrap_or_default();
    let park_by = |actor: &str, status: u64| {
        rows.iter().any(|r| {
            r["actor"] == actor
                && r["route"].as_str().unwrap_or("").ends_with("/actions/{action}")
                && r["status"] == status
        })
    };
    assert!(park_by("web-operator", 200), "no park by the operator in the audit log: {audit}");
    assert!(park_by("web-observer", 403), "no refused park of the observer: {audit}");
}
