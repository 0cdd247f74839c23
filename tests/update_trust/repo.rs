//! A signed TUF repository for tests, made with `tough`'s editor and test keys:
//! root 2-of-3, one key each for targets, snapshot and timestamp, consistent snapshots,
//! laid out as `teld artefact publish` does (`metadata/`, `targets/<sha>.<name>`).

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use sha2::Digest;
use teld::update::meta::{DriverMeta, HOST_TRIPLE};
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::decoded::Decoded;
use tough::schema::{Hashes, KeyHolder, RoleKeys, RoleType, Root, Signed, Target, Timestamp};

/// One driver build to publish.
#[derive(Debug, Clone)]
pub struct Build {
    pub driver: String,
    pub version: semver::Version,
    pub epoch: u64,
    pub triple: String,
    pub security_floor: Option<semver::Version>,
    pub bytes: Vec<u8>,
}

impl Build {
    pub fn new(driver: &str, version: &str) -> Self {
        Self {
            driver: driver.into(),
            version: version.parse().unwrap(),
            epoch: 0,
            triple: HOST_TRIPLE.into(),
            security_floor: None,
            bytes: format!("#!/bin/sh\n# {driver} {version}\n").into_bytes(),
        }
    }

    pub fn meta(&self) -> DriverMeta {
        DriverMeta {
            driver: self.driver.clone(),
            version: self.version.clone(),
            epoch: self.epoch,
            triple: self.triple.clone(),
            protocol: teld_driver_protocol::PROTOCOL_VERSION,
            min_daemon: "0.1.0".parse().unwrap(),
            git_sha: "0123abc".into(),
            security_floor: self.security_floor.clone(),
            channel: "stable".into(),
        }
    }

    fn sha256(&self) -> Vec<u8> {
        sha2::Sha256::digest(&self.bytes).to_vec()
    }
}

pub struct Repo {
    tmp: tempfile::TempDir,
    out: PathBuf,
    /// Every root so far, unsigned, by version − 1.
    roots: Vec<Root>,
    /// Their signed bytes.
    signed_roots: Vec<Vec<u8>>,
    root_keys: Vec<PathBuf>,
    online: [PathBuf; 3],
    builds: Vec<Build>,
    version: u64,
    pub timestamp_expires: jiff::Timestamp,
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, doc.as_ref()).unwrap();
    path
}

fn sources(paths: &[&PathBuf]) -> Vec<Box<dyn KeySource>> {
    paths
        .iter()
        .map(|p| Box::new(LocalKeySource { path: (*p).clone() }) as Box<dyn KeySource>)
        .collect()
}

async fn set_role(root: &mut Root, role: RoleType, keys: &[&PathBuf], threshold: u64) {
    let mut ids = Vec::new();
    for k in keys {
        let key = LocalKeySource { path: (*k).clone() }.as_sign().await.unwrap().tuf_key();
        let id = key.key_id().unwrap();
        root.keys.insert(id.clone(), key);
        ids.push(id);
    }
    root.roles.insert(
        role,
        RoleKeys {
            keyids: ids,
            threshold: NonZeroU64::new(threshold).unwrap(),
            _extra: HashMap::new(),
        },
    );
}

/// Drops keys no role lists any more.
fn prune(root: &mut Root) {
    let used: Vec<_> = root.roles.values().flat_map(|r| r.keyids.clone()).collect();
    root.keys.retain(|id, _| used.contains(id));
}

async fn sign_root(root: &Root, holder: &Root, keys: &[&PathBuf]) -> Signed<Root> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    SignedRole::new(root.clone(), &KeyHolder::Root(holder.clone()), &sources(keys), &rng)
        .await
        .unwrap()
        .signed()
        .clone()
}

fn days(n: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * n)
}

impl Repo {
    pub async fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/metadata")).unwrap();
        std::fs::create_dir_all(tmp.path().join("repo/targets")).unwrap();
        let root_keys: Vec<PathBuf> = (0..3).map(|i| keygen(&keys, &format!("root{i}"))).collect();
        let online =
            [keygen(&keys, "targets"), keygen(&keys, "snapshot"), keygen(&keys, "timestamp")];
        let mut root = Root {
            spec_version: "1.0.0".into(),
            consistent_snapshot: true,
            version: NonZeroU64::new(1).unwrap(),
            expires: days(365),
            keys: HashMap::new(),
            roles: HashMap::new(),
            _extra: HashMap::new(),
        };
        let rk: Vec<&PathBuf> = root_keys.iter().collect();
        set_role(&mut root, RoleType::Root, &rk, 2).await;
        set_role(&mut root, RoleType::Targets, &[&online[0]], 1).await;
        set_role(&mut root, RoleType::Snapshot, &[&online[1]], 1).await;
        set_role(&mut root, RoleType::Timestamp, &[&online[2]], 1).await;
        let signed = sign_root(&root, &root, &rk).await;
        let out = tmp.path().join("repo");
        let mut repo = Self {
            tmp,
            out,
            roots: Vec::new(),
            signed_roots: Vec::new(),
            root_keys,
            online,
            builds: Vec::new(),
            version: 0,
            timestamp_expires: days(7),
        };
        repo.push_root(root, &signed);
        repo
    }

    fn push_root(&mut self, root: Root, signed: &Signed<Root>) {
        let bytes = serde_json::to_vec_pretty(signed).unwrap();
        let v = root.version.get();
        std::fs::write(self.dir().join(format!("metadata/{v}.root.json")), &bytes).unwrap();
        self.roots.push(root);
        self.signed_roots.push(bytes);
    }

    /// The published folder (what a stick or a mirror carries).
    pub fn dir(&self) -> &Path {
        &self.out
    }

    pub fn root_bytes(&self, version: u64) -> Vec<u8> {
        self.signed_roots[version as usize - 1].clone()
    }

    fn root(&self) -> &Root {
        self.roots.last().unwrap()
    }

    pub fn add(&mut self, b: Build) {
        self.builds.push(b);
    }

    pub fn clear(&mut self) {
        self.builds.clear();
    }

    pub fn target_file(&self, name: &str) -> PathBuf {
        let b = self.builds.iter().find(|b| b.meta().target_name() == name).unwrap();
        self.dir().join("targets").join(format!("{}.{name}", hex(&b.sha256())))
    }

    /// Signs and writes the next version of targets, snapshot and timestamp.
    pub async fn publish(&mut self) {
        self.version += 1;
        let v = NonZeroU64::new(self.version).unwrap();
        let root_file = self.tmp.path().join("keys/current.root.json");
        std::fs::write(&root_file, self.signed_roots.last().unwrap()).unwrap();
        let mut ed = RepositoryEditor::new(&root_file).await.unwrap();
        ed.targets_version(v).unwrap().targets_expires(days(90)).unwrap();
        ed.snapshot_version(v).snapshot_expires(days(30));
        ed.timestamp_version(v).timestamp_expires(self.timestamp_expires);
        for b in &self.builds {
            let meta = serde_json::to_value(b.meta()).unwrap();
            let custom: HashMap<String, serde_json::Value> =
                meta.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let target = Target {
                length: b.bytes.len() as u64,
                hashes: Hashes { sha256: Decoded::from(b.sha256()), _extra: HashMap::new() },
                custom,
                _extra: HashMap::new(),
            };
            ed.add_target(b.meta().target_name().as_str(), target).unwrap();
            let file = self.target_file(&b.meta().target_name());
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, &b.bytes).unwrap();
        }
        let keys = sources(&[&self.online[0], &self.online[1], &self.online[2]]);
        let signed = ed.sign(&keys).await.unwrap();
        signed.write(self.dir().join("metadata")).await.unwrap();
    }

    /// A copy of the published folder as it is now (a replay later).
    pub fn snapshot_copy(&self) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        copy_dir(self.dir(), t.path());
        t
    }

    /// Replaces `timestamp.json` with the same content signed by the snapshot key.
    pub async fn resign_timestamp_with_snapshot_key(&mut self) {
        let path = self.dir().join("metadata/timestamp.json");
        let ts: Signed<Timestamp> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut holder = self.root().clone();
        let snap = holder.roles[&RoleType::Snapshot].clone();
        holder.roles.insert(RoleType::Timestamp, snap);
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let forged = SignedRole::new(
            ts.signed,
            &KeyHolder::Root(holder),
            &sources(&[&self.online[1]]),
            &rng,
        )
        .await
        .unwrap();
        std::fs::write(path, serde_json::to_vec_pretty(forged.signed()).unwrap()).unwrap();
    }

    /// Publishes the next root (same keys) with one root signature only, or that one
    /// signature twice.
    pub async fn next_root_signed_by_one(&mut self, duplicate: bool) {
        let mut next = self.root().clone();
        next.version = NonZeroU64::new(next.version.get() + 1).unwrap();
        let mut signed = sign_root(&next, &next, &[&self.root_keys[0]]).await;
        if duplicate {
            let again = signed.signatures[0].clone();
            signed.signatures.push(again);
        }
        self.push_root(next, &signed);
    }

    /// Publishes the next root with three new root keys (2-of-3), signed by the new
    /// keys and — when `cross_signed` — by the old ones too.
    pub async fn rotate_root_keys(&mut self, cross_signed: bool) {
        let n = self.roots.len();
        let keys_dir = self.tmp.path().join("keys");
        let new_keys: Vec<PathBuf> =
            (0..3).map(|i| keygen(&keys_dir, &format!("root{n}-{i}"))).collect();
        let old = self.root().clone();
        let mut next = old.clone();
        next.version = NonZeroU64::new(old.version.get() + 1).unwrap();
        next.expires = days(365);
        let nk: Vec<&PathBuf> = new_keys.iter().collect();
        set_role(&mut next, RoleType::Root, &nk, 2).await;
        prune(&mut next);
        let mut signed = sign_root(&next, &next, &nk).await;
        if cross_signed {
            let ok: Vec<&PathBuf> = self.root_keys.iter().collect();
            let by_old = sign_root(&next, &old, &ok).await;
            signed.signatures.extend(by_old.signatures);
        }
        self.root_keys = new_keys;
        self.push_root(next, &signed);
    }

    /// Makes the next `publish` sign version `v` of targets, snapshot and timestamp.
    pub fn set_next_version(&mut self, v: u64) {
        self.version = v - 1;
    }

    /// Publishes the next root with new targets, snapshot and timestamp keys, signed by
    /// the (unchanged) root keys: the recovery after an online key was stolen.
    pub async fn rotate_online_keys(&mut self) {
        let n = self.roots.len();
        let dir = self.tmp.path().join("keys");
        self.online = [
            keygen(&dir, &format!("targets{n}")),
            keygen(&dir, &format!("snapshot{n}")),
            keygen(&dir, &format!("timestamp{n}")),
        ];
        let mut next = self.root().clone();
        next.version = NonZeroU64::new(next.version.get() + 1).unwrap();
        let online = self.online.clone();
        set_role(&mut next, RoleType::Targets, &[&online[0]], 1).await;
        set_role(&mut next, RoleType::Snapshot, &[&online[1]], 1).await;
        set_role(&mut next, RoleType::Timestamp, &[&online[2]], 1).await;
        prune(&mut next);
        let rk: Vec<&PathBuf> = self.root_keys.iter().collect();
        let signed = sign_root(&next, &next, &rk).await;
        self.push_root(next, &signed);
    }

    /// What an attacker holding the version-1 root keys can make: a different root 2
    /// (same root keys, the attacker's online keys) and metadata signed with those.
    pub async fn forge_from_v1(&self) -> Repo {
        let mut evil = Repo::new().await;
        let v1 = self.roots[0].clone();
        let mut forged = v1.clone();
        forged.version = NonZeroU64::new(2).unwrap();
        let online = evil.online.clone();
        set_role(&mut forged, RoleType::Targets, &[&online[0]], 1).await;
        set_role(&mut forged, RoleType::Snapshot, &[&online[1]], 1).await;
        set_role(&mut forged, RoleType::Timestamp, &[&online[2]], 1).await;
        prune(&mut forged);
        let leaked: Vec<PathBuf> = self.signed_roots_keys_v1();
        let lk: Vec<&PathBuf> = leaked.iter().collect();
        let signed = sign_root(&forged, &forged, &lk).await;
        std::fs::remove_file(evil.dir().join("metadata/1.root.json")).unwrap();
        evil.roots.clear();
        evil.signed_roots.clear();
        let v1_signed: Signed<Root> = serde_json::from_slice(&self.signed_roots[0]).unwrap();
        evil.push_root(v1, &v1_signed);
        evil.push_root(forged, &signed);
        evil.builds = vec![Build::new("sim", "66.6.0")];
        evil.publish().await;
        evil
    }

    /// The first generation of root keys (files named `root0..2`).
    fn signed_roots_keys_v1(&self) -> Vec<PathBuf> {
        (0..3).map(|i| self.tmp.path().join(format!("keys/root{i}"))).collect()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}
