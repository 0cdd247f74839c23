//! Where updates live on disk. One filesystem for all of it, so every move is a rename.
//!
//! ```text
//! <state_dir>/update/            our state: tuf/ (tough's datastore), trusted_root.json, state.json[.prev]
//! <state_dir>/drivers/<kind>/    staging/, versions/<version>-<sha12>/<program>, current, previous
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct UpdatePaths {
    state_dir: PathBuf,
}

impl UpdatePaths {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self { state_dir: state_dir.into() }
    }

    /// Our own state (`state.json`, `trusted_root.json`, `tuf/`).
    pub fn update_dir(&self) -> PathBuf {
        self.state_dir.join("update")
    }

    /// `tough`'s datastore: its cached timestamp/snapshot/targets.
    pub fn datastore(&self) -> PathBuf {
        self.update_dir().join("tuf")
    }

    /// The newest root this site has verified, saved after every successful load.
    pub fn trusted_root(&self) -> PathBuf {
        self.update_dir().join("trusted_root.json")
    }

    /// One driver slot (a driver kind).
    pub fn slot(&self, kind: &str) -> PathBuf {
        self.state_dir.join("drivers").join(kind)
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }
}
