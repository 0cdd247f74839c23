//! Named points in the install sequence where a test can kill teld for real.
//!
//! With `TELD_UPDATE_FAILPOINT=<step>` set, reaching that step logs it and stops the
//! process with `SIGSTOP`; the test waits for the stop (`/proc/<pid>/stat` state `T`)
//! and sends `SIGKILL`, so the process dies at exactly that instant with whatever it
//! had written so far — the same as a crash or a `kill -9` there. Unset (production),
//! a failpoint costs one environment lookup.

/// Environment variable naming the step to stop at.
pub const ENV: &str = "TELD_UPDATE_FAILPOINT";

/// Every step, in the order an install passes them.
pub const STEPS: &[&str] = &[
    // Part of the download is in the staging file.
    "stage.downloading",
    // Downloaded, fsynced and re-hashed, not yet renamed into `versions/`.
    "stage.verified",
    // In `versions/`, before the trial is journaled.
    "stage.renamed",
    // `state.trial` written, `current` not yet switched.
    "trial.journaled",
    // `current` switched to the candidate; the new driver not yet started.
    "trial.switched",
    // The candidate runs and is being health-checked.
    "trial.health",
    // `committed` written, `previous` link and GC not yet done.
    "commit.journaled",
];

/// Stops here if the environment names `step`.
pub fn hit(step: &str) {
    let Some(wanted) = std::env::var_os(ENV) else { return };
    if wanted != step {
        return;
    }
    tracing::warn!(step, "update failpoint reached: stopping for the test to kill us");
    eprintln!("teld update failpoint {step}: SIGSTOP (pid {})", std::process::id());
    // SAFETY: raise() with a valid signal number has no memory-safety preconditions.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}
