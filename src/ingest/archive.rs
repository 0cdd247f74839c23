//! The archive folder: layout and crash-safe placement of frames.
//! (Skeleton: the FITS helper replaces this with the full implementation.)

use std::path::{Path, PathBuf};

use hifitime::Epoch;
use teld_driver_protocol::ImageInfo;

use super::{FrameMeta, IngestError};

pub struct Archive {
    root: PathBuf,
    spool: PathBuf,
}

#[derive(Debug, Clone)]
pub struct StoredFrame {
    /// Absolute path of the final file.
    pub path: PathBuf,
    /// Path relative to the archive root, as stored and published.
    pub relative: String,
    pub bytes: u64,
}

impl Archive {
    /// Opens (creating if needed) the archive and spool folders.
    pub fn open(root: &Path, spool: &Path) -> Result<Self, IngestError> {
        for dir in [root, spool] {
            std::fs::create_dir_all(dir)
                .map_err(|source| IngestError::Io { path: dir.display().to_string(), source })?;
        }
        Ok(Archive { root: root.to_path_buf(), spool: spool.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn spool_dir(&self) -> &Path {
        &self.spool
    }

    /// Where a driver should write the raw pixels of one frame.
    pub fn spool_path(&self, telescope: &str, observation_id: i64, seq: u32) -> PathBuf {
        self.spool.join(format!("{telescope}-o{observation_id}-{seq:04}.raw"))
    }

    /// Turns a spool file into a FITS file in the archive; blocking (call it from
    /// `spawn_blocking`). Removes the spool file on success.
    pub fn store_frame(
        &self,
        spool_file: &Path,
        info: &ImageInfo,
        meta: &FrameMeta,
    ) -> Result<StoredFrame, IngestError> {
        let _ = (spool_file, info, meta, super::fits::PLACEHOLDER, super::checksum::PLACEHOLDER);
        Err(IngestError::Fits {
            path: self.root.display().to_string(),
            message: "FITS writer not built yet".into(),
        })
    }
}

/// The observing night an instant belongs to, named by the local date of its evening
/// (`2026-11-24` for the whole night 24→25 November at the site's longitude).
pub fn night_of(epoch: Epoch, longitude_deg: f64) -> String {
    let local_noon_shift =
        hifitime::Duration::from_seconds(longitude_deg / 15.0 * 3600.0 - 12.0 * 3600.0);
    let (y, m, d, ..) = (epoch + local_noon_shift).to_gregorian_utc();
    format!("{y:04}-{m:02}-{d:02}")
}
