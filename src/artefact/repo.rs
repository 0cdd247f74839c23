//! The repository folder as a static file server (or a USB stick) serves it:
//!
//! ```text
//! metadata/  1.root.json … N.root.json  N.targets.json  N.snapshot.json  timestamp.json
//! targets/   <sha256>.drivers/<driver>/<version>/<triple>/<program>
//! staging/   builds added but not yet published (CI's workspace; do not serve)
//! ```
//!
//! Consistent snapshots: every file but `timestamp.json` is immutable once written, so
//! a client reading during a publish sees the old set or the new one, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use tough::schema::{Root, Signed, Snapshot, Targets, Timestamp};

use super::error::{ArtefactError, Result};
use crate::update::state::fsync_dir;

pub const METADATA: &str = "metadata";
pub const TARGETS: &str = "targets";
pub const STAGING: &str = "staging";
pub const TIMESTAMP_FILE: &str = "timestamp.json";

#[derive(Debug, Clone)]
pub struct RepoDir {
    root: PathBuf,
}

/// The newest signed metadata on disk, as the repository serves it now.
#[derive(Debug, Clone)]
pub struct Current {
    pub root: Signed<Root>,
    pub targets: Signed<Targets>,
    pub snapshot: Signed<Snapshot>,
    pub timestamp: Signed<Timestamp>,
}

impl Current {
    pub fn root_version(&self) -> u64 {
        self.root.signed.version.get()
    }
}

impl RepoDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.root.join(METADATA)
    }

    pub fn targets_dir(&self) -> PathBuf {
        self.root.join(TARGETS)
    }

    pub fn staging_dir(&self) -> PathBuf {
        self.root.join(STAGING)
    }

    pub fn root_file(&self, version: u64) -> PathBuf {
        self.metadata_dir().join(format!("{version}.root.json"))
    }

    /// Where a target's bytes are served: `<sha256>.<name>`, as `tough` fetches them.
    pub fn target_file(&self, name: &str, sha256_hex: &str) -> PathBuf {
        self.targets_dir().join(format!("{sha256_hex}.{name}"))
    }

    pub fn exists(&self) -> bool {
        self.metadata_dir().exists()
    }

    /// Versions follow one another from 1; the newest is the last without a gap.
    pub fn newest_root_version(&self) -> Result<u64> {
        let mut v = 0;
        while self.root_file(v + 1).exists() {
            v += 1;
        }
        if v == 0 {
            return Err(ArtefactError::Metadata {
                path: self.root_file(1),
                what: "root",
                why: "missing; is this a repository made by `teld artefact init`?".into(),
            });
        }
        Ok(v)
    }

    pub fn current(&self) -> Result<Current> {
        let root = read_json(&self.root_file(self.newest_root_version()?), "root")?;
        let timestamp: Signed<Timestamp> =
            read_json(&self.metadata_dir().join(TIMESTAMP_FILE), "timestamp")?;
        let snap_v = meta_version(&timestamp.signed.meta, "snapshot.json", "timestamp")?;
        let snapshot: Signed<Snapshot> =
            read_json(&self.metadata_dir().join(format!("{snap_v}.snapshot.json")), "snapshot")?;
        let targets_v = meta_version(&snapshot.signed.meta, "targets.json", "snapshot")?;
        let targets =
            read_json(&self.metadata_dir().join(format!("{targets_v}.targets.json")), "targets")?;
        Ok(Current { root, targets, snapshot, timestamp })
    }

    /// Writes an immutable, versioned metadata file (or `timestamp.json`).
    pub fn write_metadata(&self, file: &str, bytes: &[u8]) -> Result<()> {
        write_durably(&self.metadata_dir().join(file), bytes)
    }
}

fn meta_version(
    meta: &std::collections::HashMap<String, tough::schema::Metafile>,
    file: &str,
    role: &'static str,
) -> Result<u64> {
    meta.get(file).map(|m| m.version.get()).ok_or_else(|| ArtefactError::Metadata {
        path: PathBuf::from(format!("{role}.json")),
        what: role,
        why: format!("no entry for {file}"),
    })
}

pub fn read_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T> {
    let bytes =
        std::fs::read(path).map_err(|source| ArtefactError::Read { path: path.into(), source })?;
    serde_json::from_slice(&bytes).map_err(|e| ArtefactError::Metadata {
        path: path.into(),
        what,
        why: e.to_string(),
    })
}

/// temp file → fsync → rename → fsync(dir): a server (or a power cut) never exposes a
/// half-written file under the final name.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| ArtefactError::Write { path: path.to_owned(), source };
    let dir = path.parent().ok_or_else(|| ArtefactError::Write {
        path: path.to_owned(),
        source: std::io::Error::other("no parent folder"),
    })?;
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    fsync_dir(dir).map_err(err)
}
