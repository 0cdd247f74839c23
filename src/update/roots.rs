//! Which root `tough` starts from. `tough` saves the roots it walks through but never
//! reads them back: a client that passes only the root shipped in its package would
//! accept a "next" root signed by that package's (possibly long leaked) keys. So we
//! keep our own copy of the newest verified root and start from the newer of it and
//! the shipped one (update-design §3 rule 1, cases 24 and 25).

use std::io::Write;
use std::path::Path;

use tough::schema::key::Key;
use tough::schema::{RoleType, Root, Signed};

use super::error::TrustError;
use super::state::fsync_dir;

/// The root a load starts from, and the one our floors were recorded under.
pub(crate) struct StartRoot {
    pub bytes: Vec<u8>,
    pub version: u64,
    /// The persisted root, when there is one: key rotations are judged against it.
    pub persisted: Option<Signed<Root>>,
    pub start: Signed<Root>,
}

pub(crate) fn choose(
    trusted_path: &Path,
    shipped: &[u8],
    floor: u64,
) -> Result<StartRoot, TrustError> {
    let shipped_root: Signed<Root> = serde_json::from_slice(shipped)
        .map_err(|e| TrustError::ShippedRoot { why: e.to_string() })?;
    let trusted_err = |why: String| TrustError::TrustedRoot {
        path: trusted_path.to_path_buf(),
        needed: floor,
        why,
    };
    let persisted = match std::fs::read(trusted_path) {
        Ok(bytes) => {
            let root: Signed<Root> =
                serde_json::from_slice(&bytes).map_err(|e| trusted_err(e.to_string()))?;
            Some((bytes, root))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(trusted_err(e.to_string())),
    };
    let (bytes, start) = match &persisted {
        Some((bytes, root)) if root.signed.version >= shipped_root.signed.version => {
            (bytes.clone(), root.clone())
        }
        _ => (shipped.to_vec(), shipped_root),
    };
    let version = start.signed.version.get();
    // Starting below a root we already verified means walking a chain again from keys
    // that may since have been retired (and leaked): refuse rather than trust them.
    if version < floor {
        return Err(trusted_err(format!(
            "starting root would be version {version}, the file is missing or was replaced"
        )));
    }
    Ok(StartRoot { bytes, version, persisted: persisted.map(|(_, r)| r), start })
}

/// Whether the keys of `role` differ between two roots.
pub(crate) fn rotated(before: &Signed<Root>, after: &Signed<Root>, role: RoleType) -> bool {
    let a: Vec<&Key> = before.signed.keys(role).collect();
    let b: Vec<&Key> = after.signed.keys(role).collect();
    a != b
}

/// Writes the newest verified root: temp file, fsync, rename, fsync(dir), so a power cut
/// leaves the old or the new root, never a torn one.
pub(crate) fn save(trusted_path: &Path, root: &Signed<Root>) -> Result<(), TrustError> {
    let err = |source| TrustError::Write { path: trusted_path.to_path_buf(), source };
    let dir = trusted_path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let bytes = serde_json::to_vec_pretty(root).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = trusted_path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, trusted_path).map_err(err)?;
    fsync_dir(dir).map_err(err)
}
