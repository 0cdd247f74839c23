//! `teld artefact rotate-root`: root N+1, signed by a threshold of the old root keys
//! and of the new ones, optionally with new online keys; then everything re-signed.
//! This is the recovery path after a key compromise (update-design.md §6).

use std::collections::HashMap;
use std::path::Path;

use tough::schema::RoleType;

use super::error::{ArtefactError, Result};
use super::expiry::after;
use super::init::{ROOT_THRESHOLD, generate_keys, signers_of};
use super::keys::{KeyRing, create_key_dir, write_new_secret};
use super::publish::{Base, Options, RoleSigners, Versions, build_release, commit};
use super::repo::RepoDir;
use super::root::{ROLES, RoleSpec, next_root, sign_root};
use super::sign::encode;
use super::verify::Verified;

/// Which roles get new keys. Root keys are always replaced unless `keep_root`.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub replace: Vec<RoleType>,
    pub root_threshold: u64,
}

impl Default for Rotation {
    fn default() -> Self {
        Self { replace: vec![RoleType::Root], root_threshold: ROOT_THRESHOLD }
    }
}

/// Rotates into `new_dir`, which afterwards holds every key the repository needs from
/// now on (new ones generated, kept ones copied), so later commands take `--keys new_dir`.
pub async fn rotate_root(
    repo: &RepoDir,
    old: &KeyRing,
    new_dir: &Path,
    rotation: &Rotation,
    opts: &Options,
) -> Result<Verified> {
    let current = repo.current()?;
    let old_root = &current.root.signed;
    // Check the old root keys first: without a threshold of them no client would
    // accept the new root, and nothing should be generated for a rotation that fails.
    let old_signers = old.for_role(old_root, RoleType::Root)?;
    let generated = generate_keys(new_dir, &rotation.replace)?;
    create_key_dir(new_dir)?;
    for role in ROLES.iter().filter(|r| !rotation.replace.contains(r)) {
        for s in old.for_role(old_root, *role)? {
            let src = Path::new(&s.label);
            let name = src.file_name().ok_or_else(|| ArtefactError::invalid("key", &s.label))?;
            let bytes = std::fs::read(src)
                .map_err(|source| ArtefactError::Read { path: src.into(), source })?;
            write_new_secret(&new_dir.join(name), &bytes)?;
        }
    }
    let ring = KeyRing::load(new_dir).await?;
    let mut replace = HashMap::new();
    for (role, files) in &generated {
        let threshold = if *role == RoleType::Root { rotation.root_threshold } else { 1 };
        replace.insert(*role, RoleSpec::of(&signers_of(&ring, files)?, threshold));
    }
    let root = next_root(old_root, &replace, after(opts.now, opts.expiries.root)?)?;
    let new_signers = ring.for_role(&root, RoleType::Root)?;
    let root_v = root.version;
    let root_bytes = encode(&sign_root(root.clone(), &old_signers, &new_signers).await?);

    let signers = RoleSigners::from_root(&ring, &root)?;
    let mut release = build_release(
        current.targets.signed.clone(),
        Base::from(&current),
        Versions::default(),
        &signers,
        opts,
    )
    .await?;
    release.files.insert(0, (format!("{root_v}.root.json"), root_bytes));
    Ok(commit(repo, release, true).await?.expect("checked commits verify"))
}
