//! Where a site gets its updates from. Both kinds go through the same verification;
//! they differ only in how bytes are fetched and what is checked before fetching.

use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

use super::error::TrustError;
use super::transport::{FolderTransport, HttpLimits, HttpTransport, SourceTransport, folder_url};

/// The repository layout CI publishes (update-design §2).
pub const METADATA_DIR: &str = "metadata";
pub const TARGETS_DIR: &str = "targets";

/// Deepest folder nesting accepted in a bundle; targets are `<sha>.drivers/<d>/<v>/<t>/<p>`.
const MAX_DEPTH: usize = 12;
/// Most entries a bundle may hold; a stick with a million files is not a bundle.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A published repository copied to a local folder (a USB stick, a sneakernet copy).
    Folder(PathBuf),
    /// A mirror serving the published folder over HTTP, polled on a schedule.
    Http(Url),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Folder(p) => write!(f, "folder {}", p.display()),
            Source::Http(u) => write!(f, "mirror {u}"),
        }
    }
}

/// What `tough` needs to fetch from a source.
pub(crate) struct Endpoints {
    pub metadata: Url,
    pub targets: Url,
    pub transport: SourceTransport,
}

impl Source {
    /// Checks what can be checked before fetching, and builds the transport.
    pub(crate) fn endpoints(&self, http: HttpLimits) -> Result<Endpoints, TrustError> {
        match self {
            Source::Folder(dir) => {
                let root = prepare_folder(dir, self)?;
                let url = |sub: &str| {
                    folder_url(&root.join(sub))
                        .map_err(|why| TrustError::UnsafeBundle { path: dir.clone(), why })
                };
                Ok(Endpoints {
                    metadata: url(METADATA_DIR)?,
                    targets: url(TARGETS_DIR)?,
                    transport: SourceTransport::Folder(FolderTransport::new(root)),
                })
            }
            Source::Http(base) => {
                let mut base = base.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                let join = |sub: &str| {
                    base.join(&format!("{sub}/")).map_err(|e| TrustError::Transport {
                        source_desc: self.to_string(),
                        why: e.to_string(),
                    })
                };
                Ok(Endpoints {
                    metadata: join(METADATA_DIR)?,
                    targets: join(TARGETS_DIR)?,
                    transport: SourceTransport::Http(HttpTransport::new(http)),
                })
            }
        }
    }
}

/// Resolves the bundle folder itself (an operator may name it through a link, e.g. an
/// automount path) and refuses the bundle if anything inside is a link or not a plain
/// file or folder. Refusing the whole bundle, not just skipping an entry, because a
/// bundle with links was not made by `teld artefact publish`.
fn prepare_folder(dir: &Path, source: &Source) -> Result<PathBuf, TrustError> {
    let root = match std::fs::canonicalize(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrustError::NoMetadata {
                source_desc: source.to_string(),
                why: "the folder does not exist".into(),
            });
        }
        Err(e) => {
            return Err(TrustError::UnsafeBundle { path: dir.to_path_buf(), why: e.to_string() });
        }
    };
    if !root.join(METADATA_DIR).is_dir() {
        return Err(TrustError::NoMetadata {
            source_desc: source.to_string(),
            why: format!("no {METADATA_DIR}/ folder in it"),
        });
    }
    let mut entries = 0usize;
    let mut todo = vec![(root.clone(), 0usize)];
    while let Some((at, depth)) = todo.pop() {
        let unsafe_ = |why: String| TrustError::UnsafeBundle { path: dir.to_path_buf(), why };
        let list = std::fs::read_dir(&at).map_err(|e| unsafe_(format!("{}: {e}", at.display())))?;
        for entry in list {
            let entry = entry.map_err(|e| unsafe_(format!("{}: {e}", at.display())))?;
            entries += 1;
            if entries > MAX_ENTRIES {
                return Err(unsafe_(format!("more than {MAX_ENTRIES} entries")));
            }
            let path = entry.path();
            // `file_type` from the directory entry does not follow links.
            let kind =
                entry.file_type().map_err(|e| unsafe_(format!("{}: {e}", path.display())))?;
            if kind.is_symlink() {
                return Err(unsafe_(format!("{} is a symbolic link", path.display())));
            } else if kind.is_dir() {
                if depth + 1 > MAX_DEPTH {
                    return Err(unsafe_(format!("{} is nested too deep", path.display())));
                }
                todo.push((path, depth + 1));
            } else if !kind.is_file() {
                return Err(unsafe_(format!("{} is not a regular file", path.display())));
            }
        }
    }
    Ok(root)
}
