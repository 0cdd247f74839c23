//! `teld artefact add`: a driver build is staged (bytes and signed fields decided) and
//! signed later by `publish`, so several drivers built in one CI run go out as one
//! targets version. Publishing is append-only: a name, once signed, keeps its bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tough::schema::Targets;

use super::error::{ArtefactError, Result};
use super::repo::{RepoDir, read_json, write_durably};
use crate::update::meta::DriverMeta;

const MANIFEST: &str = "staged.json";

/// One build waiting for `publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staged {
    pub name: String,
    pub meta: DriverMeta,
    pub sha256: String,
    pub length: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Staged,
    /// Already staged with these bytes and fields.
    AlreadyStaged,
    /// Already published with these bytes and fields: nothing to do.
    AlreadyPublished,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `custom` object of a target for `meta`.
pub fn custom_of(meta: &DriverMeta) -> HashMap<String, serde_json::Value> {
    match serde_json::to_value(meta) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => unreachable!("DriverMeta serialises to an object"),
    }
}

/// Names and fields CI may sign: one path segment each, nothing a client would have
/// to resolve (the daemon refuses such names anyway, but CI should never make one).
pub fn check_meta(meta: &DriverMeta) -> Result<()> {
    let segment = |what: &str, v: &str| {
        let ok = !v.is_empty()
            && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !v.starts_with('.');
        if ok {
            Ok(())
        } else {
            Err(ArtefactError::invalid(
                what,
                format!("`{v}`: use letters, digits, `-`, `_` and `.` (not leading)"),
            ))
        }
    };
    segment("driver", &meta.driver)?;
    segment("triple", &meta.triple)?;
    segment("channel", &meta.channel)?;
    if meta.git_sha.len() < 7 || !meta.git_sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ArtefactError::invalid(
            "git sha",
            format!("`{}`: give the commit's hex id (at least 7 digits)", meta.git_sha),
        ));
    }
    if let Some(floor) = &meta.security_floor
        && floor > &meta.version
    {
        return Err(ArtefactError::invalid(
            "security floor",
            format!("{floor} is above the version {} itself", meta.version),
        ));
    }
    Ok(())
}

/// Is `name` with these bytes and fields already signed in `targets`? Refuses the same
/// name with other bytes or fields: that would be a second build under one version.
pub fn check_append_only(
    targets: &Targets,
    name: &str,
    sha256: &str,
    meta: &DriverMeta,
) -> Result<bool> {
    let Some((_, old)) = targets.targets.iter().find(|(n, _)| n.raw() == name) else {
        return Ok(false);
    };
    let published = hex(&old.hashes.sha256);
    if published != sha256 {
        return Err(ArtefactError::Republished {
            name: name.into(),
            published,
            new: sha256.into(),
        });
    }
    if old.custom != custom_of(meta) {
        return Err(ArtefactError::RepublishedMeta {
            name: name.into(),
            why: format!(
                "signed {}, now {}",
                serde_json::Value::Object(old.custom.clone().into_iter().collect()),
                serde_json::to_value(meta).unwrap_or_default()
            ),
        });
    }
    Ok(true)
}

pub fn load(repo: &RepoDir) -> Result<Vec<Staged>> {
    let path = repo.staging_dir().join(MANIFEST);
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_json(&path, "staging")
}

/// The staged copy of a build's bytes.
pub fn staged_file(repo: &RepoDir, sha256: &str) -> PathBuf {
    repo.staging_dir().join(sha256)
}

/// Stages `file` as the build `meta`.
pub fn add(repo: &RepoDir, file: &Path, meta: &DriverMeta) -> Result<(String, Added)> {
    check_meta(meta)?;
    let current = repo.current()?;
    let bytes =
        std::fs::read(file).map_err(|source| ArtefactError::Read { path: file.into(), source })?;
    let name = meta.target_name();
    tough::TargetName::new(name.as_str()).map_err(|e| ArtefactError::invalid("target name", e))?;
    let sha256 = sha256_hex(&bytes);
    if check_append_only(&current.targets.signed, &name, &sha256, meta)? {
        return Ok((name, Added::AlreadyPublished));
    }
    let mut staged = load(repo)?;
    if let Some(s) = staged.iter().find(|s| s.name == name) {
        if s.sha256 != sha256 {
            return Err(ArtefactError::Republished {
                name,
                published: format!("{} (staged, not yet published)", s.sha256),
                new: sha256,
            });
        }
        if &s.meta != meta {
            return Err(ArtefactError::RepublishedMeta {
                name,
                why: "staged with other fields; publish or clear staging/ first".into(),
            });
        }
        return Ok((name, Added::AlreadyStaged));
    }
    write_durably(&staged_file(repo, &sha256), &bytes)?;
    staged.push(Staged {
        name: name.clone(),
        meta: meta.clone(),
        sha256,
        length: bytes.len() as u64,
    });
    save(repo, &staged)?;
    Ok((name, Added::Staged))
}

pub fn save(repo: &RepoDir, staged: &[Staged]) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(staged).expect("staging manifest serialises");
    write_durably(&repo.staging_dir().join(MANIFEST), &bytes)
}

/// After a publish: the staged builds are now targets.
pub fn clear(repo: &RepoDir) -> Result<()> {
    let dir = repo.staging_dir();
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ArtefactError::Write { path: dir, source }),
    }
}
