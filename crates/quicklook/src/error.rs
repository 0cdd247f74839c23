//! What can stop a quick-look: only a frame that is not an image at all. Everything
//! else — a blank, constant or saturated frame — is a measurement with a failing
//! verdict, not an error, so the pipeline always gets an answer it can store.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum QuickLookError {
    #[error("image has no pixels ({width}×{height})")]
    Empty { width: usize, height: usize },
    #[error("image of {width}×{height} needs {expected} pixels, got {got}")]
    SizeMismatch { width: usize, height: usize, expected: usize, got: usize },
    #[error("no finite pixel in the image: nothing to measure")]
    NoFinitePixels,
    #[error("preview: {0}")]
    Preview(String),
}
