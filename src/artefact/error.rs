//! What can go wrong on the CI side, each worded so the person running the release
//! knows what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ArtefactError {
    #[error(
        "{path} already exists: refusing to overwrite {what}; keys and repositories are never replaced — choose an empty folder, or use `teld artefact rotate-root` to change keys"
    )]
    Exists { path: PathBuf, what: &'static str },
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}; check disk space and permissions")]
    Write { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} is not usable {what} metadata ({why}); the repository is damaged or was not made by `teld artefact init` — restore it from the last published copy"
    )]
    Metadata { path: PathBuf, what: &'static str, why: String },
    #[error(
        "key file {path} is not an unencrypted PKCS#8 Ed25519 or ECDSA P-256 private key in PEM (`PRIVATE KEY`) or DER ({why}); make keys with `teld artefact init` or `openssl genpkey -algorithm ed25519`"
    )]
    Key { path: PathBuf, why: String },
    #[error(
        "only {have} of the {need} {role} key(s) the repository's root requires are in {dir}; put the missing {role} key file(s) there (root keys are needed only for `init` and `rotate-root`)"
    )]
    MissingKeys { role: String, dir: PathBuf, need: u64, have: usize },
    #[error(
        "target {name} is already published with sha256 {published}, but these bytes hash to {new}: this is a new build under an old version — bump the version (a published build is never replaced)"
    )]
    Republished { name: String, published: String, new: String },
    #[error(
        "target {name} is already published with other signed fields ({why}); a published build's metadata never changes — bump the version"
    )]
    RepublishedMeta { name: String, why: String },
    #[error("invalid {what}: {why}")]
    Invalid { what: String, why: String },
    #[error("signing the {role} metadata failed: {why}; check the key files (or the key service)")]
    Sign { role: String, why: String },
    #[error(
        "the repository at {path} does not verify from root 1 with an empty client state: {why}; it must not be served — fix the cause and publish again"
    )]
    Verify { path: PathBuf, why: String },
}

pub type Result<T, E = ArtefactError> = std::result::Result<T, E>;

impl ArtefactError {
    pub(crate) fn invalid(what: impl Into<String>, why: impl ToString) -> Self {
        Self::Invalid { what: what.into(), why: why.to_string() }
    }
}
