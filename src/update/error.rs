//! What can stop an update cycle before anything is installed. Every variant means the
//! same thing to the site: no update this cycle, the running drivers keep running.
//! The messages say what was wrong and what an operator can do about it.

use std::path::PathBuf;

use super::meta::Release;

/// The metadata role a version or expiry belongs to, as TUF names it.
pub type Role = &'static str;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(
        "no signed update metadata at {source_desc} ({why}); nothing to install, the drivers keep running — bring a bundle or check the mirror URL"
    )]
    NoMetadata { source_desc: String, why: String },

    #[error(
        "update bundle {path} refused: {why}; a bundle must be plain files and folders under metadata/ and targets/ — copy it again without links"
    )]
    UnsafeBundle { path: PathBuf, why: String },

    #[error(
        "update metadata store {path} is unreadable ({why}); failing closed, no update — if the disk is healthy, remove {store} (our own state still blocks any downgrade) and the next cycle rebuilds it"
    )]
    DatastoreCorrupt { path: PathBuf, store: PathBuf, why: String },

    #[error(
        "trusted root {path} is unreadable or older than the root version {needed} this site already verified ({why}); failing closed — restore it from a backup of {path}, never from the package alone"
    )]
    TrustedRoot { path: PathBuf, needed: u64, why: String },

    #[error(
        "the root metadata shipped with this teld is unreadable ({why}); reinstall the teld package"
    )]
    ShippedRoot { why: String },

    #[error(
        "{role} metadata version {loaded} is older than version {seen} this site already verified: a replayed or rolled-back repository; no update — alert the release team"
    )]
    Rollback { role: Role, loaded: u64, seen: u64 },

    #[error(
        "the clock reads {now}, before the last verified update at {verified_at}: it was stepped back; no update cycle until it passes that time (if the earlier time was wrong, run `teld update reset-clock` on the site)"
    )]
    ClockSteppedBack { now: String, verified_at: String },

    #[error(
        "signed {role} metadata has expired (a frozen mirror, or offline longer than the freeze window); no update, the drivers keep running — refresh the mirror or bring a fresh bundle"
    )]
    Expired { role: String },

    #[error(
        "update metadata from {source_desc} failed verification ({why}); nothing changes — the mirror or bundle is damaged or tampered with"
    )]
    Verification { source_desc: String, why: String },

    #[error(
        "a file from {source_desc} is larger than allowed ({why}); refused as an endless-data attack or a broken mirror"
    )]
    TooLarge { source_desc: String, why: String },

    #[error("cannot fetch from {source_desc} ({why}); no state changed, the next cycle retries")]
    Transport { source_desc: String, why: String },

    #[error(
        "target {name} is not listed in the signed metadata; it will not be installed (an unsigned artefact)"
    )]
    NotSigned { name: String },

    #[error(
        "target {name} does not match its signed length or sha256 ({why}); discard what was read, the current version keeps running"
    )]
    TargetMismatch { name: String, why: String },

    #[error("cannot write {path}: {source}; check the disk (space, permissions)")]
    Write { path: PathBuf, source: std::io::Error },

    #[error(transparent)]
    State(#[from] super::state::StateError),
}

impl TrustError {
    /// Whether an operator should be alerted (as opposed to "nothing there yet").
    pub fn alerts(&self) -> bool {
        !matches!(self, TrustError::NoMetadata { .. } | TrustError::Transport { .. })
    }
}

/// Why a candidate was refused by the version policy.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error(
        "driver {slot} {version}@{triple} is signed with sha256 {now} but was seen before with {before}: the same version republished with other bytes — possible repository compromise; no update for {slot}, alert the release team"
    )]
    Republished { slot: String, version: String, triple: String, before: String, now: String },

    #[error(
        "no signed build of driver {slot} {wanted} for {triple}; check the version and the host"
    )]
    NotFound { slot: String, wanted: String, triple: String },

    #[error(
        "driver {slot} {release} is below the floor {floor} (installed or signed security floor); older versions are never installed, even on request"
    )]
    BelowFloor { slot: String, release: Release, floor: Release },

    #[error(
        "driver {slot} {release} is not newer than the installed {committed}; use rollback for the previous version"
    )]
    NotNewer { slot: String, release: Release, committed: Release },

    #[error("driver {slot} {release} failed before and is marked bad; it is never installed again")]
    Bad { slot: String, release: Release },

    #[error("driver {slot} {release} cannot run here: {why}")]
    Incompatible { slot: String, release: Release, why: String },
}
