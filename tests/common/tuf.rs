//! Signed TUF repositories for the update tests, made with teld's own CI code
//! (`teld::artefact`, not by shelling out) and throwaway keys in a temporary folder.
//!
//! Every method is synchronous and usable from plain and from `#[tokio::test]` tests:
//! the signing (async in `tough`) runs on a runtime of its own in a scoped thread.
//! Methods panic on failure (they set up a test); `try_*` variants return the error.

use std::future::Future;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;

use teld::artefact::expiry::after;
use teld::artefact::init::{generate_keys, init, signers_of};
use teld::artefact::keys::{KeyRing, Signer};
use teld::artefact::publish::{
    Base, Options, Release, RoleSigners, Versions, build_release, commit, publish,
    refresh_timestamp,
};
use teld::artefact::repo::{Current, RepoDir};
use teld::artefact::root::{RoleSpec, next_root, sign_root};
use teld::artefact::rotate::{Rotation, rotate_root};
use teld::artefact::sign::sign_role;
use teld::artefact::stage::{self, Added};
use teld::artefact::{ArtefactError, Expiries, Verified};
use teld::update::meta::{DriverMeta, HOST_TRIPLE};
use teld::update::state::TufVersions;
pub use tough::schema::RoleType;

/// A driver build's signed fields for this host: protocol of this teld, oldest teld
/// 0.1.0, a git sha derived from driver and version (stable across runs).
pub fn meta(driver: &str, version: &str) -> DriverMeta {
    use sha2::Digest;
    let sha = sha2::Sha256::digest(format!("{driver}@{version}"));
    DriverMeta {
        driver: driver.into(),
        version: version.parse().expect("test version is semver"),
        epoch: 0,
        triple: HOST_TRIPLE.into(),
        protocol: teld_driver_protocol::PROTOCOL_VERSION,
        min_daemon: "0.1.0".parse().expect("semver"),
        git_sha: sha[..20].iter().map(|b| format!("{b:02x}")).collect(),
        security_floor: None,
        channel: "stable".into(),
    }
}

/// Runs `f` to completion on a fresh current-thread runtime in another thread, so
/// callers inside a tokio runtime do not nest runtimes.
pub fn block_on<F>(f: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime")
                .block_on(f)
        })
        .join()
        .expect("fixture thread panicked")
    })
}

/// A saved copy of every file in `metadata/`, for replays.
#[derive(Debug, Clone)]
pub struct MetadataCopy {
    files: Vec<(String, Vec<u8>)>,
}

pub struct TestRepo {
    dir: tempfile::TempDir,
    repo: RepoDir,
    /// Key folders, oldest first; the last one signs from now on.
    key_dirs: Vec<PathBuf>,
    pub expiries: Expiries,
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

impl TestRepo {
    /// `teld artefact init` in a temporary folder: root 1 (2 of 3 keys), empty targets.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = RepoDir::new(dir.path().join("repo"));
        let keys = dir.path().join("keys-0");
        let expiries = Expiries::default();
        block_on(init(&repo, &keys, &Options { now: Timestamp::now(), expiries }))
            .expect("init test repository");
        Self { dir, repo, key_dirs: vec![keys], expiries }
    }

    pub fn options(&self) -> Options {
        Options { now: Timestamp::now(), expiries: self.expiries }
    }

    /// The repository folder (holds `metadata/`, `targets/`).
    pub fn path(&self) -> &Path {
        self.repo.path()
    }

    pub fn repo(&self) -> &RepoDir {
        &self.repo
    }

    /// A scratch folder inside the fixture's temporary folder, e.g. for a client state.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.repo.metadata_dir()
    }

    pub fn targets_dir(&self) -> PathBuf {
        self.repo.targets_dir()
    }

    /// The keys folder that signs now.
    pub fn keys_dir(&self) -> &Path {
        self.key_dirs.last().expect("keys")
    }

    /// The bytes a daemon ships: `1.root.json`.
    pub fn root1(&self) -> Vec<u8> {
        self.root(1)
    }

    /// `N.root.json` as published.
    pub fn root(&self, version: u64) -> Vec<u8> {
        std::fs::read(self.repo.root_file(version)).expect("root file")
    }

    /// The newest metadata on disk.
    pub fn current(&self) -> Current {
        self.repo.current().expect("current metadata")
    }

    /// Versions of the metadata the repository serves now.
    pub fn versions(&self) -> TufVersions {
        let c = self.current();
        TufVersions {
            root: c.root_version(),
            timestamp: c.timestamp.signed.version.get(),
            snapshot: c.snapshot.signed.version.get(),
            targets: c.targets.signed.version.get(),
        }
    }

    /// Stages a build (as `teld artefact add`); returns its target name.
    pub fn add_driver(&self, meta: DriverMeta, bytes: &[u8]) -> String {
        self.try_add_driver(meta, bytes).expect("add driver").0
    }

    pub fn try_add_driver(
        &self,
        meta: DriverMeta,
        bytes: &[u8],
    ) -> Result<(String, Added), ArtefactError> {
        let builds = self.scratch("builds");
        let file = builds.join(format!("{}-{}", meta.driver, meta.version));
        std::fs::write(&file, bytes).expect("write build");
        stage::add(&self.repo, &file, &meta)
    }

    /// Signs everything staged into new targets, snapshot and timestamp versions and
    /// checks the result from root 1 (as `teld artefact publish`).
    pub fn publish(&self) -> Verified {
        self.try_publish().expect("publish")
    }

    pub fn try_publish(&self) -> Result<Verified, ArtefactError> {
        let ring = self.ring();
        block_on(publish(&self.repo, &ring, &self.options())).map(|p| p.verified)
    }

    /// Re-signs only the timestamp, version + 1 (as `teld artefact refresh-timestamp`).
    pub fn refresh_timestamp(&self) -> Verified {
        let ring = self.ring();
        block_on(refresh_timestamp(&self.repo, &ring, &self.options(), true))
            .expect("refresh timestamp")
            .expect("checked")
    }

    /// Where a published target's bytes lie in `targets/` (to flip bits in, truncate…).
    pub fn target_file(&self, name: &str) -> PathBuf {
        let c = self.current();
        let (_, t) = c
            .targets
            .signed
            .targets
            .iter()
            .find(|(n, _)| n.raw() == name)
            .unwrap_or_else(|| panic!("{name} is not a published target"));
        self.repo.target_file(name, &stage::hex(&t.hashes.sha256))
    }

    /// All keys of the current folder.
    pub fn ring(&self) -> KeyRing {
        block_on(KeyRing::load(self.keys_dir())).expect("load keys")
    }

    /// The key file of `role` per the newest root (the first, for root).
    pub fn key_path(&self, role: RoleType) -> PathBuf {
        let root = self.current().root.signed;
        let ring = self.all_keys();
        let s = ring
            .iter()
            .find(|s| root.roles[&role].keyids.contains(&s.keyid))
            .unwrap_or_else(|| panic!("no key for {role}"));
        PathBuf::from(&s.label)
    }

    /// Every key this fixture ever made, newest folder last.
    fn all_keys(&self) -> Vec<Signer> {
        block_on(async {
            let mut all = Vec::new();
            for d in &self.key_dirs {
                all.extend(KeyRing::load(d).await.expect("keys").signers);
            }
            all
        })
    }

    /// Signs with the normal keys; nothing is checked (a test may write bad metadata).
    pub fn write_release(&self, release: Release) {
        block_on(commit(&self.repo, release, false)).expect("write metadata");
    }

    /// Signs targets, snapshot and timestamp at the given versions (others: + 1), e.g.
    /// 2^40 for a fast-forward attack by a compromised snapshot/timestamp key.
    pub fn publish_with_versions(&self, versions: Versions) {
        let ring = self.ring();
        let c = self.current();
        let opts = self.options();
        let release = block_on(async {
            let signers = RoleSigners::from_root(&ring, &c.root.signed)?;
            build_release(c.targets.signed.clone(), Base::from(&c), versions, &signers, &opts).await
        })
        .expect("sign release");
        self.write_release(release);
    }

    /// A copy of `metadata/` as it is now.
    pub fn snapshot_of_metadata(&self) -> MetadataCopy {
        let mut files = Vec::new();
        for e in std::fs::read_dir(self.metadata_dir()).expect("metadata dir") {
            let e = e.expect("entry");
            files.push((
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            ));
        }
        files.sort();
        MetadataCopy { files }
    }

    /// Puts `metadata/` back exactly as in `copy` (files added since are removed): the
    /// repository now serves the older, validly signed set — a replay.
    pub fn restore(&self, copy: &MetadataCopy) {
        let dir = self.metadata_dir();
        for e in std::fs::read_dir(&dir).expect("metadata dir") {
            std::fs::remove_file(e.expect("entry").path()).expect("remove");
        }
        for (name, bytes) in &copy.files {
            std::fs::write(dir.join(name), bytes).expect("write");
        }
    }

    pub fn past() -> SignedDuration {
        SignedDuration::from_hours(-24)
    }

    /// Rotates the root keys (root N+1, new keys in a new folder that signs from now
    /// on). `cross_signed: false` leaves the old root keys' signatures off;
    /// `old_threshold_met: false` keeps only one of them (threshold 2). Only the valid
    /// rotation is checked from root 1; the others are written as they are.
    pub fn rotate_root(&mut self, cross_signed: bool, old_threshold_met: bool) {
        self.rotate(&[RoleType::Root]);
        if cross_signed && old_threshold_met {
            return;
        }
        let c = self.current();
        let v = c.root_version();
        let prev: tough::schema::Signed<tough::schema::Root> =
            serde_json::from_slice(&self.root(v - 1)).expect("previous root");
        let old: Vec<_> = prev.signed.roles[&RoleType::Root].keyids.clone();
        let mut root = c.root;
        let mut kept_old = 0;
        root.signatures.retain(|sig| {
            if !old.contains(&sig.keyid) {
                return true;
            }
            kept_old += 1;
            cross_signed && kept_old <= 1
        });
        let bytes = teld::artefact::sign::encode(&root);
        std::fs::write(self.repo.root_file(v), bytes).expect("rewrite root");
    }

    /// A real rotation (`teld artefact rotate-root`) replacing the keys of `roles`
    /// (root included only if listed), checked from root 1.
    pub fn rotate_keys(&mut self, roles: &[RoleType]) {
        self.rotate(roles);
    }

    fn rotate(&mut self, roles: &[RoleType]) {
        let new_dir = self.dir.path().join(format!("keys-{}", self.key_dirs.len()));
        let ring = self.ring();
        let rotation = Rotation { replace: roles.to_vec(), ..Rotation::default() };
        block_on(rotate_root(&self.repo, &ring, &new_dir, &rotation, &self.options()))
            .expect("rotate root");
        self.key_dirs.push(new_dir);
    }

    /// Re-signs `role` with the key file `key` instead of its own (e.g. the timestamp
    /// key signing targets, or a key the newest root removed); the roles above it are
    /// re-signed normally so only this one signature is wrong. Not checked.
    pub fn sign_role_with(&self, role: RoleType, key: &Path) {
        self.resign(role, Some(key), self.expiries);
    }

    /// Re-signs `role` (and the roles above it, normally) with an expiry one day in the
    /// past, or the default in the future. For root: a root N+1 with that expiry, same
    /// keys. Not checked.
    pub fn set_expiry(&self, role: RoleType, past: bool) {
        let mut e = self.expiries;
        if past {
            let d = Self::past();
            match role {
                RoleType::Root => e.root = d,
                RoleType::Targets => e.targets = d,
                RoleType::Snapshot => e.snapshot = d,
                RoleType::Timestamp => e.timestamp = d,
                _ => panic!("no expiry for {role}"),
            }
        }
        self.resign(role, None, e);
    }

    fn resign(&self, role: RoleType, key: Option<&Path>, expiries: Expiries) {
        let c = self.current();
        let all = self.all_keys();
        let wrong = key.map(|k| block_on(Signer::from_file(k)).expect("key file"));
        let of = |r: RoleType| -> Vec<&Signer> {
            match (&wrong, r == role) {
                (Some(w), true) => vec![w],
                _ => {
                    let ids = &c.root.signed.roles[&r].keyids;
                    all.iter().filter(|s| ids.contains(&s.keyid)).collect()
                }
            }
        };
        let opts = Options { now: Timestamp::now(), expiries };
        let release = block_on(async {
            match role {
                RoleType::Root => {
                    let root = next_root(
                        &c.root.signed,
                        &HashMap::new(),
                        after(opts.now, expiries.root)?,
                    )?;
                    let v = root.version;
                    let signed = sign_root(root, &of(RoleType::Root), &[]).await?;
                    Ok(Release {
                        files: vec![(
                            format!("{v}.root.json"),
                            teld::artefact::sign::encode(&signed),
                        )],
                        timestamp: None,
                    })
                }
                RoleType::Timestamp => {
                    let mut ts = c.timestamp.signed.clone();
                    ts.version = ts.version.checked_add(1).expect("version");
                    ts.expires = after(opts.now, expiries.timestamp)?;
                    let signed = sign_role(ts, &of(RoleType::Timestamp)).await?;
                    Ok(Release {
                        files: Vec::new(),
                        timestamp: Some(teld::artefact::sign::encode(&signed)),
                    })
                }
                _ => {
                    let signers = RoleSigners {
                        targets: of(RoleType::Targets),
                        snapshot: of(RoleType::Snapshot),
                        timestamp: of(RoleType::Timestamp),
                    };
                    build_release(
                        c.targets.signed.clone(),
                        Base::from(&c),
                        Versions::default(),
                        &signers,
                        &opts,
                    )
                    .await
                }
            }
        })
        .map_err(|e: ArtefactError| e)
        .expect("re-sign");
        self.write_release(release);
    }

    /// An attacker holding the root keys of root `of_version` (say, leaked old keys)
    /// writes root `of_version + 1` with keys of their own for every role, signed by
    /// those old keys and their own, then signs new targets/snapshot/timestamp over
    /// the current targets with their keys. Replaces a legitimate root of that version
    /// if there is one. Returns the attacker's keys folder.
    pub fn forge_next_root(&self, of_version: u64) -> PathBuf {
        let base: tough::schema::Signed<tough::schema::Root> =
            serde_json::from_slice(&self.root(of_version)).expect("root");
        let evil = self.dir.path().join(format!("attacker-{of_version}"));
        let roles = [RoleType::Root, RoleType::Targets, RoleType::Snapshot, RoleType::Timestamp];
        let files = generate_keys(&evil, &roles).expect("attacker keys");
        let all = self.all_keys();
        let c = self.current();
        let opts = self.options();
        block_on(async {
            let ring = KeyRing::load(&evil).await?;
            let mut specs = HashMap::new();
            for r in roles {
                let t = if r == RoleType::Root { 2 } else { 1 };
                specs.insert(r, RoleSpec::of(&signers_of(&ring, &files[&r])?, t));
            }
            let root = next_root(&base.signed, &specs, after(opts.now, opts.expiries.root)?)?;
            let ids = &base.signed.roles[&RoleType::Root].keyids;
            let old: Vec<&Signer> = all.iter().filter(|s| ids.contains(&s.keyid)).collect();
            let new = ring.for_role(&root, RoleType::Root)?;
            let v = root.version;
            let signed = sign_root(root.clone(), &old, &new).await?;
            let signers = RoleSigners::from_root(&ring, &root)?;
            let mut release = build_release(
                c.targets.signed.clone(),
                Base::from(&c),
                Versions::default(),
                &signers,
                &opts,
            )
            .await?;
            release
                .files
                .insert(0, (format!("{v}.root.json"), teld::artefact::sign::encode(&signed)));
            commit(&self.repo, release, false).await
        })
        .expect("forge root");
        evil
    }

    /// Removes `N.root.json` (a gap in the root chain).
    pub fn remove_root(&self, version: u64) {
        std::fs::remove_file(self.repo.root_file(version)).expect("remove root");
    }
}
