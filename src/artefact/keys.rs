//! Signing keys as files (unencrypted PKCS#8, PEM `PRIVATE KEY` or DER, mode 0600).
//!
//! Everything signs through `tough`'s [`KeySource`] trait, so a key held by a KMS or an
//! HSM later needs only another `KeySource`; nothing else here reads key bytes.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::signature::Ed25519KeyPair;
use tough::key_source::KeySource;
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::key::Key;
use tough::schema::{RoleType, Root};
use tough::sign::Sign;

use super::error::{ArtefactError, Result};

/// A key file in PEM or DER PKCS#8. `tough`'s own `LocalKeySource` reads Ed25519 keys
/// only as DER, while operators and `openssl genpkey` produce PEM.
#[derive(Debug, Clone)]
pub struct FileKeySource {
    pub path: PathBuf,
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[tough::async_trait]
impl KeySource for FileKeySource {
    async fn as_sign(&self) -> std::result::Result<Box<dyn Sign>, BoxError> {
        let bytes = tokio::fs::read(&self.path).await?;
        let der = pkcs8_der(&bytes)?;
        Ok(Box::new(tough::sign::parse_keypair(&der)?))
    }

    async fn write(&self, value: &str, _key_id_hex: &str) -> std::result::Result<(), BoxError> {
        write_new_secret(&self.path, value.as_bytes()).map_err(|e| Box::new(e) as BoxError)
    }
}

/// DER from a PEM `PRIVATE KEY` block, or the bytes themselves if they are not PEM.
fn pkcs8_der(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        return Ok(bytes.to_vec());
    }
    let pem = pem::parse(bytes).map_err(|e| e.to_string())?;
    if pem.tag() != "PRIVATE KEY" {
        return Err(format!("PEM block is `{}`, expected `PRIVATE KEY` (PKCS#8)", pem.tag()));
    }
    Ok(pem.into_contents())
}

/// A fresh Ed25519 key as PEM PKCS#8 (v1, what `openssl genpkey` writes too).
pub fn generate_ed25519_pem() -> Result<String> {
    let key = Ed25519KeyPair::generate()
        .and_then(|k| k.to_pkcs8v1())
        .map_err(|e| ArtefactError::Sign { role: "new key".into(), why: e.to_string() })?;
    Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", key.as_ref().to_vec())))
}

/// Creates `path` with mode 0600, never replacing an existing file: a key overwritten by
/// mistake is a repository nobody can sign for again.
pub fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
            |source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    ArtefactError::Exists { path: path.to_owned(), what: "a key file" }
                }
                _ => ArtefactError::Write { path: path.to_owned(), source },
            },
        )?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|source| ArtefactError::Write { path: path.to_owned(), source })
}

/// The keys folder itself is private to its owner.
pub fn create_key_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| ArtefactError::Write { path: dir.to_owned(), source })
}

/// One usable key: where it came from, its public half as TUF lists it, and the signer.
pub struct Signer {
    pub source: Box<dyn KeySource>,
    /// Where the key lives, for messages (a file path, later a KMS key id).
    pub label: String,
    pub key: Key,
    pub keyid: Decoded<Hex>,
    pub sign: Box<dyn Sign>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("label", &self.label).field("keyid", &self.keyid).finish()
    }
}

impl Signer {
    pub async fn from_source(source: Box<dyn KeySource>, label: String) -> Result<Self> {
        let sign = source
            .as_sign()
            .await
            .map_err(|e| ArtefactError::Key { path: label.clone().into(), why: e.to_string() })?;
        let key = sign.tuf_key();
        let keyid = key
            .key_id()
            .map_err(|e| ArtefactError::Key { path: label.clone().into(), why: e.to_string() })?;
        Ok(Self { source, label, key, keyid, sign })
    }

    pub async fn from_file(path: &Path) -> Result<Self> {
        let source = Box::new(FileKeySource { path: path.to_owned() });
        Self::from_source(source, path.display().to_string()).await
    }
}

/// All keys found in a keys folder (`*.pem`, `*.der`); which role each serves is decided
/// by the repository's root, not by the file name.
#[derive(Debug)]
pub struct KeyRing {
    pub dir: PathBuf,
    pub signers: Vec<Signer>,
}

impl KeyRing {
    pub async fn load(dir: &Path) -> Result<Self> {
        let read_err = |source| ArtefactError::Read { path: dir.to_owned(), source };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(read_err)?;
        paths.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pem" | "der")));
        paths.sort();
        let mut signers = Vec::with_capacity(paths.len());
        for p in paths {
            signers.push(Signer::from_file(&p).await?);
        }
        Ok(Self { dir: dir.to_owned(), signers })
    }

    /// The keys here that `root` lists for `role`, refusing fewer than its threshold.
    pub fn for_role(&self, root: &Root, role: RoleType) -> Result<Vec<&Signer>> {
        let (listed, threshold) = role_keys(root, role)?;
        let found: Vec<&Signer> =
            self.signers.iter().filter(|s| listed.contains(&s.keyid)).collect();
        if (found.len() as u64) < threshold {
            return Err(ArtefactError::MissingKeys {
                role: role.to_string(),
                dir: self.dir.clone(),
                need: threshold,
                have: found.len(),
            });
        }
        Ok(found)
    }

    /// The signer whose file is `name` in this folder.
    pub fn by_file(&self, name: &str) -> Option<&Signer> {
        let want = self.dir.join(name).display().to_string();
        self.signers.iter().find(|s| s.label == want)
    }
}

pub fn role_keys(root: &Root, role: RoleType) -> Result<(&[Decoded<Hex>], u64)> {
    let keys = root.roles.get(&role).ok_or_else(|| ArtefactError::Metadata {
        path: PathBuf::from("root.json"),
        what: "root",
        why: format!("no `{role}` role"),
    })?;
    Ok((&keys.keyids, keys.threshold.get()))
}
