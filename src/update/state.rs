//! Our own record of what is installed and what has been seen, kept beside `tough`'s
//! datastore and never derived from it: `tough` silently skips its rollback check when
//! a datastore file does not parse, and forgets everything when the folder is wiped.
//! This file is what makes a replayed or downgraded repository detectable anyway.
//!
//! Written as temp file → fsync → rename → fsync(dir); the previous generation stays as
//! `state.json.prev`. If neither parses the updater fails closed: an empty state would
//! forget every floor, which is exactly what an attacker who can corrupt a file wants.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::meta::Release;

pub const STATE_FILE: &str = "state.json";
pub const PREV_FILE: &str = "state.json.prev";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "update state {path} and its previous generation are both unreadable ({why}); no update will run until an operator checks the folder and runs `teld update reset-state` on the site"
    )]
    Unreadable { path: PathBuf, why: String },
    #[error("cannot write update state {path}: {source}; check the disk (space, permissions)")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Highest TUF metadata versions ever verified here. A load that yields a lower one is
/// a replay, whatever `tough`'s datastore says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TufVersions {
    pub root: u64,
    pub timestamp: u64,
    pub snapshot: u64,
    pub targets: u64,
}

/// One verified build on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    pub release: Release,
    /// Hex SHA-256 of the program, as signed.
    pub sha256: String,
    pub length: u64,
    pub git_sha: String,
    /// Folder under `versions/` (`<version>-<sha12>`), relative to the slot.
    pub dir: String,
}

/// A version being tried. Journaled before the `current` link moves, so a trial found
/// at start-up means teld died mid-trial: it counts as failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    pub candidate: Installed,
    /// When the trial began (UTC, RFC 3339, from teld's clock).
    pub started: String,
    pub attempts: u32,
}

/// A version that failed its trial or was found altered; never installed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadVersion {
    pub release: Release,
    pub sha256: String,
    pub why: String,
    pub at: String,
}

/// Everything about one driver slot (a driver kind: `sim`, `alpaca`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub committed: Option<Installed>,
    pub previous: Option<Installed>,
    /// Nothing below this installs again (raised to each committed release and to any
    /// signed `security_floor`).
    pub floor: Option<Release>,
    pub trial: Option<Trial>,
    #[serde(default)]
    pub bad: Vec<BadVersion>,
    /// `<version>@<triple>` → sha256 of every build ever seen in signed metadata: the
    /// same version with other bytes means the repository was tampered with.
    #[serde(default)]
    pub seen: BTreeMap<String, String>,
    /// Set when a rollback's target failed too: the driver stays stopped (never flips
    /// back and forth) until an operator clears this with an update or rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<String>,
}

impl Slot {
    pub fn is_bad(&self, release: &Release, sha256: &str) -> bool {
        self.bad.iter().any(|b| &b.release == release || b.sha256 == sha256)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateState {
    /// Bumped on every write; tells two generations apart.
    pub generation: u64,
    pub tuf: TufVersions,
    /// Latest UTC time (RFC 3339) at which an update cycle verified metadata. A clock
    /// earlier than this has been stepped back: no update cycle until it passes again.
    #[serde(default)]
    pub verified_at: Option<String>,
    #[serde(default)]
    pub slots: BTreeMap<String, Slot>,
}

impl UpdateState {
    pub fn slot(&self, kind: &str) -> Option<&Slot> {
        self.slots.get(kind)
    }

    pub fn slot_mut(&mut self, kind: &str) -> &mut Slot {
        self.slots.entry(kind.to_string()).or_default()
    }
}

/// The state file in its folder.
#[derive(Debug, Clone)]
pub struct StateFile {
    dir: PathBuf,
}

/// How the state was found at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    /// Neither file exists: a site that never installed an update.
    Fresh,
    Current,
    /// `state.json` was unreadable; its previous generation was used.
    Previous,
}

impl StateFile {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub fn load(&self) -> Result<(UpdateState, Loaded), StateError> {
        let cur = self.dir.join(STATE_FILE);
        let prev = self.dir.join(PREV_FILE);
        let why_cur = match read(&cur) {
            Ok(Some(s)) => return Ok((s, Loaded::Current)),
            Ok(None) => None,
            Err(e) => Some(e),
        };
        match read(&prev) {
            Ok(Some(s)) => {
                if let Some(why) = &why_cur {
                    tracing::warn!(
                        "update state {} unreadable ({why}); using the previous generation",
                        cur.display()
                    );
                }
                Ok((s, Loaded::Previous))
            }
            Ok(None) => match why_cur {
                // `state.json` gone but never a `.prev`: only a fresh site looks so.
                None => Ok((UpdateState::default(), Loaded::Fresh)),
                Some(why) => Err(StateError::Unreadable { path: cur, why }),
            },
            Err(e) => Err(StateError::Unreadable {
                path: cur,
                why: why_cur.map_or(e.clone(), |c| format!("{c}; previous: {e}")),
            }),
        }
    }

    /// Load, change, save as one step. Every writer in this process goes through one
    /// lock, so two drivers updating at once cannot lose each other's changes. The
    /// change is saved only when `change` succeeds; returns the saved state.
    pub fn update<T, E: From<StateError>>(
        &self,
        change: impl FnOnce(&mut UpdateState) -> Result<T, E>,
    ) -> Result<(T, UpdateState), E> {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _held = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let (mut state, _) = self.load()?;
        let out = change(&mut state)?;
        self.save(&mut state)?;
        Ok((out, state))
    }

    /// Writes a new generation durably; the old one becomes `state.json.prev`.
    pub fn save(&self, state: &mut UpdateState) -> Result<(), StateError> {
        state.generation += 1;
        let cur = self.dir.join(STATE_FILE);
        let err = |source| StateError::Write { path: cur.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let bytes = serde_json::to_vec_pretty(state).expect("state serialises");
        let tmp = self.dir.join("state.json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        // A crash between these two renames leaves only `.prev`: an older but whole
        // generation, which `load` takes.
        if cur.exists() {
            std::fs::rename(&cur, self.dir.join(PREV_FILE)).map_err(err)?;
        }
        std::fs::rename(&tmp, &cur).map_err(err)?;
        fsync_dir(&self.dir).map_err(err)
    }
}

fn read(path: &Path) -> Result<Option<UpdateState>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

pub fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generations_alternate_and_a_torn_current_falls_back_to_prev() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path());
        let (mut s, how) = file.load().unwrap();
        assert_eq!(how, Loaded::Fresh);
        s.tuf.targets = 3;
        file.save(&mut s).unwrap();
        s.tuf.targets = 4;
        file.save(&mut s).unwrap();
        assert_eq!(file.load().unwrap().0.tuf.targets, 4);
        std::fs::write(dir.path().join(STATE_FILE), b"{\"generation\": 7, \"tu").unwrap();
        let (s, how) = file.load().unwrap();
        assert_eq!((s.tuf.targets, how), (3, Loaded::Previous));
    }

    #[test]
    fn both_generations_bad_fails_closed_never_fresh() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), b"").unwrap();
        std::fs::write(dir.path().join(PREV_FILE), b"garbage").unwrap();
        let e = StateFile::new(dir.path()).load().unwrap_err();
        assert!(e.to_string().contains("reset-state"), "{e}");
        // Only `.prev` present and bad: still closed.
        std::fs::remove_file(dir.path().join(STATE_FILE)).unwrap();
        assert!(StateFile::new(dir.path()).load().is_err());
    }
}
