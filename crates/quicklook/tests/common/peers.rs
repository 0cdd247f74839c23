//! Finding sep (PyPI `sep`, installed by `.ci/install-peers` into `.venv-peers`).
//!
//! A missing peer skips the test with a loud `SKIPPED` line saying what was not
//! exercised, unless `TELD_REQUIRE_PEERS=1` (set by `.ci/run`) makes it a failure —
//! the same rule as the daemon's tests/common/peers.rs.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Python of the peers venv (`TELD_PEERS_VENV`, else `<workspace>/.venv-peers`), if it
/// can import sep and numpy.
pub fn python_with_sep() -> Option<PathBuf> {
    let venv = std::env::var_os("TELD_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-peers"));
    let py = venv.join("bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import sep, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// Returns `found`, or reports sep as missing: panics when peers are required,
/// otherwise prints what is not exercised (straight to stderr, which the harness does
/// not capture) and returns `None`.
pub fn require<T>(found: Option<T>, not_exercised: &str) -> Option<T> {
    if found.is_none() {
        let msg = format!(
            "sep (PyPI sep==1.4.1 in .venv-peers) not available: {not_exercised} NOT exercised \
             (run .ci/install-peers)"
        );
        if std::env::var("TELD_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
            panic!("TELD_REQUIRE_PEERS=1 but {msg}");
        }
        let _ = writeln!(std::io::stderr(), "SKIPPED: {msg}");
    }
    found
}
