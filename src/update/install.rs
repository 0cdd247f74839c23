//! Staging one signed build into its slot: stream to `staging/` with a hard cap at the
//! signed length, fsync, re-read from disk and re-hash, then move it into an immutable
//! `versions/<version>-<sha12>/` folder. Nothing here touches `current` or the state
//! file, so any failure leaves the running driver and the journal as they were.

use std::fmt::Display;
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::failpoint;
use super::meta::DriverMeta;
use super::slot::{SlotDir, SlotError, version_dir_name};
use super::state::{Installed, fsync_dir};

/// What the signed metadata promises about one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub meta: DriverMeta,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    pub length: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "the download of {target} failed after {got} bytes: {why}; nothing was installed, the running driver is unchanged, the next update cycle tries again"
    )]
    Stream { target: String, got: u64, why: String },
    #[error(
        "{target} is longer than the {length} bytes its signed metadata allows; download refused (a mirror serving endless or altered data?), nothing installed"
    )]
    TooLong { target: String, length: u64 },
    #[error(
        "{target} ended after {got} of its {length} signed bytes; nothing installed, the next update cycle tries again"
    )]
    TooShort { target: String, got: u64, length: u64 },
    #[error(
        "{target} as written to disk has sha256 {got} and {got_len} bytes, but its signed metadata says {want} and {want_len} bytes; refused, nothing installed (altered in transit or on this disk)"
    )]
    Mismatch { target: String, got: String, got_len: u64, want: String, want_len: u64 },
    #[error("{target} is signed for driver slot `{meta_driver}`, not `{slot}`; refused")]
    WrongSlot { target: String, meta_driver: String, slot: String },
    #[error(
        "a different build already sits in {path}; refusing to overwrite an installed version — remove the folder by hand if it is known to be bad"
    )]
    Occupied { path: PathBuf },
    #[error(
        "installing {target}: cannot {step} {path}: {source}{hint}; nothing installed, the running driver is unchanged"
    )]
    Io { target: String, step: &'static str, path: PathBuf, source: io::Error, hint: &'static str },
    #[error(transparent)]
    Slot(#[from] SlotError),
}

impl InstallError {
    fn io(target: &str, step: &'static str, path: &Path, source: io::Error) -> Self {
        let hint = match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => {
                " (disk full or file-size limit: free space on the state disk)"
            }
            Some(libc::EROFS) => " (read-only filesystem: remount the state disk read-write)",
            Some(libc::EACCES) | Some(libc::EPERM) => " (permissions: check who owns the slot)",
            _ => "",
        };
        InstallError::Io {
            target: target.to_string(),
            step,
            path: path.to_path_buf(),
            source,
            hint,
        }
    }
}

/// Streams `stream` into the slot as the build `expected` describes and returns it as
/// installed in `versions/`. On any error the staging file is deleted.
pub async fn stage<S, E>(
    slot: &SlotDir,
    stream: S,
    expected: &Expected,
) -> Result<Installed, InstallError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    let target = expected.meta.target_name();
    if expected.meta.driver != slot.kind() {
        return Err(InstallError::WrongSlot {
            target,
            meta_driver: expected.meta.driver.clone(),
            slot: slot.kind().to_string(),
        });
    }
    let dir_name = version_dir_name(&expected.meta, &expected.sha256)?;
    slot.prepare()?;
    let tmp = slot.staging().join(format!(
        "{}.{}.{}.part",
        expected.meta.program(),
        std::process::id(),
        unique()
    ));
    let result = stage_into(slot, stream, expected, &target, &tmp, &dir_name).await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        let _ = fsync_dir(&slot.staging());
    }
    result
}

async fn stage_into<S, E>(
    slot: &SlotDir,
    stream: S,
    expected: &Expected,
    target: &str,
    tmp: &Path,
    dir_name: &str,
) -> Result<Installed, InstallError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Display,
{
    fn err<'a>(
        target: &'a str,
        step: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(io::Error) -> InstallError + 'a {
        move |e| InstallError::io(target, step, path, e)
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(tmp)
        .map_err(err(target, "create", tmp))?;
    let mut file = tokio::fs::File::from_std(file);
    let mut got: u64 = 0;
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| InstallError::Stream {
            target: target.to_string(),
            got,
            why: e.to_string(),
        })?;
        if got + chunk.len() as u64 > expected.length {
            return Err(InstallError::TooLong {
                target: target.to_string(),
                length: expected.length,
            });
        }
        file.write_all(&chunk).await.map_err(err(target, "write", tmp))?;
        got += chunk.len() as u64;
        failpoint::hit("stage.downloading");
    }
    if got < expected.length {
        return Err(InstallError::TooShort {
            target: target.to_string(),
            got,
            length: expected.length,
        });
    }
    file.flush().await.map_err(err(target, "write", tmp))?;
    file.sync_all().await.map_err(err(target, "fsync", tmp))?;
    drop(file);

    // What counts is what the disk holds now, not what passed through memory.
    let tmp_owned = tmp.to_path_buf();
    let (sha, len) = tokio::task::spawn_blocking(move || hash_file(&tmp_owned))
        .await
        .map_err(|e| io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(err(target, "re-read", tmp))?;
    if !sha.eq_ignore_ascii_case(&expected.sha256) || len != expected.length {
        return Err(InstallError::Mismatch {
            target: target.to_string(),
            got: sha,
            got_len: len,
            want: expected.sha256.clone(),
            want_len: expected.length,
        });
    }
    failpoint::hit("stage.verified");
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o555))
        .map_err(err(target, "chmod", tmp))?;

    let vdir = slot.version_dir(dir_name)?;
    let program = vdir.join(expected.meta.program());
    match std::fs::create_dir(&vdir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // The same build installed before (a retried update): keep it if it is
            // exactly these bytes, never overwrite.
            let meta = std::fs::symlink_metadata(&vdir).map_err(err(target, "inspect", &vdir))?;
            let same = meta.is_dir()
                && hash_file(&program)
                    .is_ok_and(|(s, l)| s.eq_ignore_ascii_case(&expected.sha256) && l == len);
            if !same {
                return Err(InstallError::Occupied { path: vdir });
            }
            std::fs::remove_file(tmp).map_err(err(target, "remove", tmp))?;
            return Ok(installed(expected, dir_name));
        }
        Err(e) => return Err(err(target, "create", &vdir)(e)),
    }
    std::fs::rename(tmp, &program).map_err(err(target, "move into place", &program))?;
    std::fs::set_permissions(&vdir, std::fs::Permissions::from_mode(0o555))
        .map_err(err(target, "chmod", &vdir))?;
    for dir in [vdir.clone(), slot.versions(), slot.staging()] {
        fsync_dir(&dir).map_err(err(target, "fsync", &dir))?;
    }
    failpoint::hit("stage.renamed");
    Ok(installed(expected, dir_name))
}

fn installed(expected: &Expected, dir: &str) -> Installed {
    Installed {
        release: expected.meta.release(),
        sha256: expected.sha256.to_ascii_lowercase(),
        length: expected.length,
        git_sha: expected.meta.git_sha.clone(),
        dir: dir.to_string(),
    }
}

/// SHA-256 (hex) and length of a file, read from disk.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    hash_reader(file)
}

/// SHA-256 (hex) and length of everything `r` yields.
pub fn hash_reader(mut r: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex(&hasher.finalize()), len))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    (t << 16) ^ N.fetch_add(1, Ordering::Relaxed)
}
