//! Frames into the archive: raw pixels from a driver's spool file become a FITS file
//! with complete headers, written crash-safely into the archive layout.
//!
//! The archive is a plain folder tree `<root>/<night>/<telescope>/r<request>/`, so the
//! pipeline and people can read it without teld.

mod archive;
mod checksum;
mod durable;
mod fits;
mod inbox;
mod meta;
mod recover;
mod rice;
mod wcs;
mod writer;

pub use archive::{Archive, Compression, StoredFrame, night_of};
pub(crate) use inbox::primary_data_span;
/// The inbox's checks on one file, for `fuzz/` only.
#[doc(hidden)]
pub use inbox::probe as inbox_probe;
pub use inbox::{InboxContext, InboxError, KnownTelescope, run_inbox};
pub use meta::{FrameMeta, ImageType, MoonAtFrame, MountPointing};
pub use recover::{RecoverError, Recovery, UNFINISHED_DIR, UNREGISTERED_DIR, recover};
pub use wcs::{Detector, Wcs};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "archive I/O on {path}: {source}; check that the folder exists, is writable and the disk is not full"
    )]
    Io { path: String, source: std::io::Error },
    #[error(
        "spool file {path} holds {actual} bytes but the driver described {expected} ({width}x{height} {pixel}); the driver wrote a short or wrong image"
    )]
    SpoolSize { path: String, expected: u64, actual: u64, width: u32, height: u32, pixel: String },
    #[error("FITS library error writing {path}: {message}")]
    Fits { path: String, message: String },
    #[error("{path} cannot be used in the archive: {reason}")]
    UnusablePath { path: String, reason: String },
    #[error(
        "the FITS file {path} did not read back as written ({reason}); it was not archived and the spool file is kept. Check the disk (full, failing?) and retry"
    )]
    ReadBack { path: String, reason: String },
}
