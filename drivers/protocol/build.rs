//! Embeds the commit a driver was built from, so its `hello` can prove which build is
//! running (the updater compares it with the signed metadata). `TELD_GIT_SHA` wins (CI
//! sets it; a tarball build has no git); else `git rev-parse HEAD`; else none.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TELD_GIT_SHA");
    if let Some(sha) = std::env::var("TELD_GIT_SHA").ok().filter(|s| !s.trim().is_empty()) {
        println!("cargo:rustc-env=TELD_DRIVER_GIT_SHA={}", sha.trim());
        return;
    }
    let Some(sha) = git(&["rev-parse", "HEAD"]) else { return };
    // Rebuild when the checkout moves, so a stale sha is never reported.
    for path in [git(&["rev-parse", "--git-path", "HEAD"]), head_ref()].into_iter().flatten() {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rustc-env=TELD_DRIVER_GIT_SHA={sha}");
}

fn head_ref() -> Option<String> {
    let name = git(&["symbolic-ref", "-q", "HEAD"])?;
    git(&["rev-parse", "--git-path", &name])
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}
