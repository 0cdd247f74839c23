//! The web page in a real browser: Debian's chromium, driven headless by
//! playwright-core (tests/browser/web.mjs), against the real daemon with auth on.
//! An observer signs in, submits a request and sees it planned; the observer can't
//! park; an operator parks the telescope that is observing and sees it parked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::daemon::{Teld, TestSite, teld_bin};
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

fn token(site: &TestSite, role: &str, name: &str) -> String {
    let out = Command::new(teld_bin())
        .args(["token", "create", "--role", role, "--name", name, "--config"])
        .arg(&site.config)
        .output()
        .expect("run teld token create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
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
    let site = TestSite::new(
        "web",
        &[("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:0\"\nauth = true")],
        "",
    );
    // Tokens are made on the store before teld starts, as an admin would.
    let observer = token(&site, "observer", "web-observer");
    let operator = token(&site, "operator", "web-operator");
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

    // The server, not only the page, enforced the roles: the park came from the
    // operator, and the observer's attempt left a refusal in the audit log.
    let parked = teld.wait_for(Duration::from_secs(10), || {
        let s = teld.get("/api/v1/status");
        (s["telescopes"]["t1"]["mount"]["at_park"] == true).then_some(s)
    });
    assert_eq!(parked["telescopes"]["t1"]["mount"]["at_park"], true);
}
