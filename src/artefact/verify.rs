//! Self-check before a repository counts as published: load it exactly as a fresh site
//! would, with the daemon's own verification client (`update::trust`: root 1, an empty
//! state and datastore, expiry enforced, folder-bundle checks), and read back every
//! target through it. Whatever CI accepts here is what a site's first cycle accepts.

use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::error::{ArtefactError, Result};
use super::stage::hex;
use crate::update::meta::DriverMeta;
use crate::update::paths::UpdatePaths;
use crate::update::source::{METADATA_DIR, Source, TARGETS_DIR};
use crate::update::state::UpdateState;
use crate::update::trust;

/// A driver target that read back whole and hashed as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTarget {
    pub name: String,
    pub meta: DriverMeta,
    pub sha256: String,
    pub length: u64,
}

/// What a fresh client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub root_version: u64,
    pub targets_version: u64,
    pub snapshot_version: u64,
    pub timestamp_version: u64,
    pub drivers: Vec<VerifiedTarget>,
}

pub async fn verify(metadata_dir: &Path, targets_dir: &Path, root: &[u8]) -> Result<Verified> {
    let fail = |why: String| ArtefactError::Verify { path: metadata_dir.to_owned(), why };
    let scratch = tempfile::Builder::new()
        .prefix("teld-artefact-verify-")
        .tempdir()
        .map_err(|e| fail(format!("cannot make a scratch folder for the client: {e}")))?;
    let bundle = scratch.path().join("bundle");
    lay_out_bundle(metadata_dir, targets_dir, &bundle).map_err(&fail)?;
    // A site that has never seen this repository: no state, no datastore, no trusted root.
    let paths = UpdatePaths::new(scratch.path().join("site"));
    let mut state = UpdateState::default();
    let now = hifitime::Epoch::now()
        .map_err(|e| fail(format!("cannot read the system clock to judge expiry: {e}")))?;
    let source = Source::Folder(bundle);
    let v = trust::load(&paths, &source, root, &mut state, now)
        .await
        .map_err(|e| fail(e.to_string()))?;

    // Collected first: the metadata iterator is not `Send`, and this future must be.
    let targets: Vec<_> = v.targets().map(|(n, t)| (n.raw().to_owned(), t.clone())).collect();
    let mut drivers = Vec::new();
    for (name, target) in targets {
        let custom = serde_json::Value::Object(target.custom.into_iter().collect());
        let meta: DriverMeta = serde_json::from_value(custom)
            .map_err(|e| fail(format!("target {name}: custom fields: {e}")))?;
        if meta.target_name() != name {
            return Err(fail(format!("target {name} is signed as {}", meta.target_name())));
        }
        // The client's stream already fails on a length or hash mismatch; hashing again
        // here keeps this check independent of how the client does it.
        let mut stream = v.read_target(&name).await.map_err(|e| fail(e.to_string()))?;
        let mut hasher = Sha256::new();
        let mut length = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| fail(e.to_string()))?;
            length += chunk.len() as u64;
            hasher.update(&chunk);
        }
        let sha256 = hex(&hasher.finalize());
        if sha256 != hex(&target.hashes.sha256) || length != target.length {
            return Err(fail(format!("target {name} does not hash as signed")));
        }
        drivers.push(VerifiedTarget { name, meta, sha256, length });
    }
    drivers.sort_by(|a, b| a.name.cmp(&b.name));
    let versions = v.versions();
    Ok(Verified {
        root_version: versions.root,
        targets_version: versions.targets,
        snapshot_version: versions.snapshot,
        timestamp_version: versions.timestamp,
        drivers,
    })
}

/// Builds `<bundle>/metadata` and `<bundle>/targets` as a site's folder source expects
/// them: the metadata copied (it may be publish's shadow copy, not beside `targets/`),
/// the targets hard-linked where the filesystem allows and copied otherwise. Links of
/// any kind in the inputs are refused here as the client would refuse them.
fn lay_out_bundle(
    metadata_dir: &Path,
    targets_dir: &Path,
    bundle: &Path,
) -> std::result::Result<(), String> {
    copy_tree(metadata_dir, &bundle.join(METADATA_DIR), false)?;
    if targets_dir.is_dir() {
        copy_tree(targets_dir, &bundle.join(TARGETS_DIR), true)
    } else {
        // A repository with no builds yet has no `targets/` folder to read.
        std::fs::create_dir_all(bundle.join(TARGETS_DIR))
            .map_err(|e| format!("{}: {e}", bundle.display()))
    }
}

fn copy_tree(from: &Path, to: &Path, link: bool) -> std::result::Result<(), String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    let mut todo: Vec<(PathBuf, PathBuf)> = vec![(from.to_owned(), to.to_owned())];
    while let Some((src, dst)) = todo.pop() {
        for entry in std::fs::read_dir(&src).map_err(|e| io(&src, e))? {
            let entry = entry.map_err(|e| io(&src, e))?;
            let path = entry.path();
            let out = dst.join(entry.file_name());
            let kind = entry.file_type().map_err(|e| io(&path, e))?;
            if kind.is_dir() {
                std::fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
                todo.push((path, out));
            } else if kind.is_file() {
                if !(link && std::fs::hard_link(&path, &out).is_ok()) {
                    std::fs::copy(&path, &out).map_err(|e| io(&path, e))?;
                }
            } else {
                return Err(format!(
                    "{} is not a plain file or folder; a repository holds nothing else",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}
