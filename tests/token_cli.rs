//! `teld token` on a real store: the secret is printed once and never stored, lists
//! show no secret, names are unique among live tokens, revocation works — all while
//! no daemon runs.

mod common;

use std::process::{Command, Output};

use common::daemon::{TestSite, teld_bin};

fn teld(site: &TestSite, args: &[&str]) -> Output {
    let mut cmd = Command::new(teld_bin());
    cmd.arg("token").args(args).arg("--config").arg(&site.config);
    cmd.output().expect("run teld token")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn tokens_are_created_once_listed_without_secrets_and_revoked() {
    let site = TestSite::new("token", &[], "");
    let made = teld(&site, &["create", "--role", "operator", "--name", "ops-night"]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let secret = text(&made.stdout).trim().to_string();
    assert!(secret.starts_with("teld_") && secret.len() == 48, "{secret}");
    assert!(text(&made.stderr).contains("shown this once"), "{}", text(&made.stderr));

    // The store never saw the secret, in the database or its log.
    for f in ["teld.db", "teld.db-wal"] {
        let bytes = std::fs::read(site.state_dir().join(f)).unwrap_or_default();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "secret in {f}");
    }

    let listed = teld(&site, &["list"]);
    let out = text(&listed.stdout);
    assert!(out.contains("ops-night\toperator\tteld_") && out.contains("live"), "{out}");
    assert!(!out.contains(&secret), "a list never shows a secret: {out}");

    // One live token per name; the error says what to do.
    let twice = teld(&site, &["create", "--role", "admin", "--name", "ops-night"]);
    assert!(!twice.status.success());
    assert!(text(&twice.stderr).contains("revoke that one first"), "{}", text(&twice.stderr));
    let bad = teld(&site, &["create", "--role", "root", "--name", "x"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("observer, operator or admin"), "{}", text(&bad.stderr));

    let revoked = teld(&site, &["revoke", "--name", "ops-night"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert!(text(&teld(&site, &["list"]).stdout).contains("revoked"));
    let gone = teld(&site, &["revoke", "--name", "ops-night"]);
    assert!(!gone.status.success());
    assert!(text(&gone.stderr).contains("teld token list"), "{}", text(&gone.stderr));
}
