//! Signing and writing a new set of metadata: `init`, `publish`, `refresh-timestamp`
//! and `rotate-root` all end here.
//!
//! Order on disk: target files, then versioned metadata (roots, targets, snapshot),
//! then a self-check from root 1 with an empty client state, and only then
//! `timestamp.json` — the one file a client reads first. Until that last rename the old
//! repository is what is served; a failed check leaves it so.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::Path;

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use tough::schema::{Hashes, Metafile, RoleType, Snapshot, Target, Targets};

use super::error::{ArtefactError, Result};
use super::expiry::{Expiries, after};
use super::keys::{KeyRing, Signer};
use super::repo::{Current, RepoDir, TIMESTAMP_FILE, write_durably};
use super::root::SPEC_VERSION;
use super::sign::{encode, sign_role};
use super::stage::{self, Staged, check_append_only, custom_of, sha256_hex};
use super::verify::{Verified, verify};

/// When signing happens and for how long each role stays valid.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub now: Timestamp,
    pub expiries: Expiries,
}

/// Versions to write instead of "previous + 1" (tests: a fast-forward attack).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions {
    pub targets: Option<u64>,
    pub snapshot: Option<u64>,
    pub timestamp: Option<u64>,
}

/// The keys that sign each online role in one publish.
#[derive(Debug)]
pub struct RoleSigners<'a> {
    pub targets: Vec<&'a Signer>,
    pub snapshot: Vec<&'a Signer>,
    pub timestamp: Vec<&'a Signer>,
}

impl<'a> RoleSigners<'a> {
    /// The keys `root` names for each role, from `ring`.
    pub fn from_root(ring: &'a KeyRing, root: &tough::schema::Root) -> Result<Self> {
        Ok(Self {
            targets: ring.for_role(root, RoleType::Targets)?,
            snapshot: ring.for_role(root, RoleType::Snapshot)?,
            timestamp: ring.for_role(root, RoleType::Timestamp)?,
        })
    }
}

/// Signed files not yet written: `files` in order, then `timestamp.json`.
#[derive(Debug, Clone, Default)]
pub struct Release {
    pub files: Vec<(String, Vec<u8>)>,
    pub timestamp: Option<Vec<u8>>,
}

/// The versions a release is built on (all 0 for a new repository).
#[derive(Debug, Clone, Copy, Default)]
pub struct Base {
    pub targets: u64,
    pub snapshot: u64,
    pub timestamp: u64,
}

impl From<&Current> for Base {
    fn from(c: &Current) -> Self {
        Self {
            targets: c.targets.signed.version.get(),
            snapshot: c.snapshot.signed.version.get(),
            timestamp: c.timestamp.signed.version.get(),
        }
    }
}

fn version(v: Option<u64>, prev: u64, role: &str) -> Result<NonZeroU64> {
    v.unwrap_or(prev.saturating_add(1))
        .try_into()
        .map_err(|_| ArtefactError::invalid(format!("{role} version"), "must be at least 1"))
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn metafile(bytes: &[u8], version: NonZeroU64) -> Metafile {
    let sha = sha256(bytes);
    Metafile {
        length: Some(bytes.len() as u64),
        hashes: Some(Hashes { sha256: sha.into(), _extra: HashMap::new() }),
        version,
        _extra: HashMap::new(),
    }
}

/// Signs `targets` (its version and expiry set here) and a snapshot and timestamp over it.
pub async fn build_release(
    mut targets: Targets,
    base: Base,
    versions: Versions,
    signers: &RoleSigners<'_>,
    opts: &Options,
) -> Result<Release> {
    targets.version = version(versions.targets, base.targets, "targets")?;
    targets.expires = after(opts.now, opts.expiries.targets)?;
    let targets_v = targets.version;
    let targets = encode(&sign_role(targets, &signers.targets).await?);

    let snap_v = version(versions.snapshot, base.snapshot, "snapshot")?;
    let mut snapshot =
        Snapshot::new(SPEC_VERSION.into(), snap_v, after(opts.now, opts.expiries.snapshot)?);
    snapshot.meta.insert("targets.json".into(), metafile(&targets, targets_v));
    let snapshot = encode(&sign_role(snapshot, &signers.snapshot).await?);

    let ts_v = version(versions.timestamp, base.timestamp, "timestamp")?;
    let timestamp = timestamp_over(&snapshot, snap_v, ts_v, opts, &signers.timestamp).await?;
    Ok(Release {
        files: vec![
            (format!("{targets_v}.targets.json"), targets),
            (format!("{snap_v}.snapshot.json"), snapshot),
        ],
        timestamp: Some(timestamp),
    })
}

async fn timestamp_over(
    snapshot: &[u8],
    snapshot_version: NonZeroU64,
    version: NonZeroU64,
    opts: &Options,
    signers: &[&Signer],
) -> Result<Vec<u8>> {
    let mut ts = tough::schema::Timestamp::new(
        SPEC_VERSION.into(),
        version,
        after(opts.now, opts.expiries.timestamp)?,
    );
    ts.meta.insert("snapshot.json".into(), metafile(snapshot, snapshot_version));
    Ok(encode(&sign_role(ts, signers).await?))
}

/// Writes `release`; with `check`, verifies it from root 1 before `timestamp.json`
/// goes out. Without, it is a test fixture writing deliberately bad metadata.
pub async fn commit(repo: &RepoDir, release: Release, check: bool) -> Result<Option<Verified>> {
    for (name, bytes) in &release.files {
        repo.write_metadata(name, bytes)?;
    }
    let Some(timestamp) = release.timestamp else { return Ok(None) };
    let verified = if check { Some(verify_candidate(repo, &timestamp).await?) } else { None };
    repo.write_metadata(TIMESTAMP_FILE, &timestamp)?;
    Ok(verified)
}

/// Verifies the repository as it will be once `timestamp` is served, in a copy of
/// the metadata folder (the targets folder is shared: new files there are unreferenced
/// until the timestamp moves).
async fn verify_candidate(repo: &RepoDir, timestamp: &[u8]) -> Result<Verified> {
    let shadow = repo.staging_dir().join("verify");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ArtefactError::Write { path, source }
    };
    if shadow.exists() {
        std::fs::remove_dir_all(&shadow).map_err(io(&shadow))?;
    }
    std::fs::create_dir_all(&shadow).map_err(io(&shadow))?;
    let meta = repo.metadata_dir();
    for entry in std::fs::read_dir(&meta).map_err(io(&meta))? {
        let entry = entry.map_err(io(&meta))?;
        let name = entry.file_name();
        let name_s = name.to_string_lossy();
        if name_s.ends_with(".json") && !name_s.starts_with('.') && name_s != TIMESTAMP_FILE {
            std::fs::copy(entry.path(), shadow.join(&name)).map_err(io(&entry.path()))?;
        }
    }
    std::fs::write(shadow.join(TIMESTAMP_FILE), timestamp).map_err(io(&shadow))?;
    let root1 = std::fs::read(repo.root_file(1))
        .map_err(|source| ArtefactError::Read { path: repo.root_file(1), source })?;
    let result = verify(&shadow, &repo.targets_dir(), &root1).await;
    // Best effort: a leftover copy is only clutter in CI's workspace.
    let _ = std::fs::remove_dir_all(&shadow);
    result.map_err(|e| match e {
        ArtefactError::Verify { why, .. } => {
            ArtefactError::Verify { path: repo.path().to_owned(), why }
        }
        e => e,
    })
}

/// Copies the staged builds into `targets/` (re-hashed from disk: the staging copy must
/// still be what `add` saw) and lists them in `targets`.
pub fn add_staged(repo: &RepoDir, targets: &mut Targets, staged: &[Staged]) -> Result<usize> {
    let mut added = 0;
    for s in staged {
        if check_append_only(targets, &s.name, &s.sha256, &s.meta)? {
            continue;
        }
        let src = stage::staged_file(repo, &s.sha256);
        let bytes = std::fs::read(&src)
            .map_err(|source| ArtefactError::Read { path: src.clone(), source })?;
        if sha256_hex(&bytes) != s.sha256 {
            return Err(ArtefactError::invalid(
                format!("staged file {}", src.display()),
                "changed since `teld artefact add`; add the build again",
            ));
        }
        write_durably(&repo.target_file(&s.name, &s.sha256), &bytes)?;
        let name = tough::TargetName::new(s.name.as_str())
            .map_err(|e| ArtefactError::invalid("target name", e))?;
        let target = Target {
            length: bytes.len() as u64,
            hashes: Hashes { sha256: sha256(&bytes).into(), _extra: HashMap::new() },
            custom: custom_of(&s.meta),
            _extra: HashMap::new(),
        };
        targets.targets.insert(name, target);
        added += 1;
    }
    Ok(added)
}

/// What a publish did.
#[derive(Debug, Clone)]
pub struct Published {
    pub added: usize,
    pub verified: Verified,
}

/// `teld artefact publish`: signs the staged builds (if any) into a new targets
/// version, with new snapshot and timestamp, and checks the result.
pub async fn publish(repo: &RepoDir, ring: &KeyRing, opts: &Options) -> Result<Published> {
    let current = repo.current()?;
    let signers = RoleSigners::from_root(ring, &current.root.signed)?;
    let mut targets = current.targets.signed.clone();
    let added = add_staged(repo, &mut targets, &stage::load(repo)?)?;
    let release =
        build_release(targets, Base::from(&current), Versions::default(), &signers, opts).await?;
    let verified = commit(repo, release, true).await?.expect("checked commits verify");
    stage::clear(repo)?;
    Ok(Published { added, verified })
}

/// `teld artefact refresh-timestamp`: only the timestamp, version + 1, new expiry.
pub async fn refresh_timestamp(
    repo: &RepoDir,
    ring: &KeyRing,
    opts: &Options,
    check: bool,
) -> Result<Option<Verified>> {
    let current = repo.current()?;
    let signers = ring.for_role(&current.root.signed, RoleType::Timestamp)?;
    let mut ts = current.timestamp.signed.clone();
    ts.version = version(None, ts.version.get(), "timestamp")?;
    ts.expires = after(opts.now, opts.expiries.timestamp)?;
    let timestamp = encode(&sign_role(ts, &signers).await?);
    commit(repo, Release { files: Vec::new(), timestamp: Some(timestamp) }, check).await
}
