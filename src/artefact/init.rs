//! `teld artefact init`: keys and root 1 of a new repository, with empty signed targets.

use std::collections::HashMap;
use std::path::Path;

use tough::schema::{RoleType, Targets};

use super::error::{ArtefactError, Result};
use super::expiry::after;
use super::keys::{KeyRing, Signer, create_key_dir, generate_ed25519_pem, write_new_secret};
use super::publish::{Base, Options, RoleSigners, Versions, build_release, commit};
use super::repo::RepoDir;
use super::root::{RoleSpec, SPEC_VERSION, first_root, sign_root};
use super::verify::Verified;

/// Root: 2 of 3 keys (offline, one per key holder); one key each for the online roles.
pub const ROOT_KEYS: usize = 3;
pub const ROOT_THRESHOLD: u64 = 2;

/// The key files `init` writes for `role`.
pub fn key_files(role: RoleType) -> Vec<String> {
    match role {
        RoleType::Root => (1..=ROOT_KEYS).map(|i| format!("root-{i}.pem")).collect(),
        other => vec![format!("{other}.pem")],
    }
}

/// Generates the keys of `roles` into `dir` (refusing any existing file first, so a
/// refusal leaves nothing half-made), and returns their file names by role.
pub fn generate_keys(dir: &Path, roles: &[RoleType]) -> Result<HashMap<RoleType, Vec<String>>> {
    let files: HashMap<RoleType, Vec<String>> = roles.iter().map(|r| (*r, key_files(*r))).collect();
    for name in files.values().flatten() {
        let path = dir.join(name);
        if path.exists() {
            return Err(ArtefactError::Exists { path, what: "a key file" });
        }
    }
    create_key_dir(dir)?;
    for name in files.values().flatten() {
        write_new_secret(&dir.join(name), generate_ed25519_pem()?.as_bytes())?;
    }
    Ok(files)
}

/// The signers of `role` among `files`, loaded from `ring`.
pub fn signers_of<'a>(ring: &'a KeyRing, files: &[String]) -> Result<Vec<&'a Signer>> {
    files
        .iter()
        .map(|f| {
            ring.by_file(f).ok_or_else(|| ArtefactError::Read {
                path: ring.dir.join(f),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })
        })
        .collect()
}

pub async fn init(repo: &RepoDir, keys_dir: &Path, opts: &Options) -> Result<Verified> {
    for dir in [repo.metadata_dir(), repo.targets_dir()] {
        if dir.exists() {
            return Err(ArtefactError::Exists { path: dir, what: "a repository" });
        }
    }
    let all = [RoleType::Root, RoleType::Targets, RoleType::Snapshot, RoleType::Timestamp];
    let files = generate_keys(keys_dir, &all)?;
    let ring = KeyRing::load(keys_dir).await?;
    let mut specs = HashMap::new();
    for role in all {
        let threshold = if role == RoleType::Root { ROOT_THRESHOLD } else { 1 };
        specs.insert(role, RoleSpec::of(&signers_of(&ring, &files[&role])?, threshold));
    }
    let root = first_root(&specs, after(opts.now, opts.expiries.root)?)?;
    let root_signers = signers_of(&ring, &files[&RoleType::Root])?;
    let root_bytes = super::sign::encode(&sign_root(root.clone(), &[], &root_signers).await?);
    std::fs::create_dir_all(repo.targets_dir())
        .map_err(|source| ArtefactError::Write { path: repo.targets_dir(), source })?;

    let signers = RoleSigners::from_root(&ring, &root)?;
    let targets = Targets::new(SPEC_VERSION.into(), std::num::NonZeroU64::MIN, opts.now);
    let mut release =
        build_release(targets, Base::default(), Versions::default(), &signers, opts).await?;
    release.files.insert(0, ("1.root.json".into(), root_bytes));
    Ok(commit(repo, release, true).await?.expect("checked commits verify"))
}
