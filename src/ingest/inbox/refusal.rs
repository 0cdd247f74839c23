//! Why a file from the inbox was not taken, and what the operator can do about it.
//! Each refusal becomes a `.reason` file next to the quarantined file.

use super::header::LayoutError;

/// Said at the end of every reason: how to get a fixed file in.
pub(super) const RETRY: &str =
    "Once fixed, move the file back into the inbox folder and teld takes it again.";

#[derive(Debug, thiserror::Error)]
pub(super) enum Refusal {
    #[error("{0}")]
    Layout(#[from] LayoutError),
    #[error(
        "the primary HDU is not an image (NAXIS = {naxis}); teld takes frames whose primary HDU holds the pixels"
    )]
    NotImage { naxis: String },
    #[error("the FITS library (cfitsio) cannot read it: {0}")]
    Unreadable(String),
    #[error(
        "HDU {hdu}: {which} does not match the content, so the file changed after it was written (bad copy, disk error or an edit)"
    )]
    Checksum { hdu: usize, which: &'static str },
    #[error("required keyword {key} is missing ({what})")]
    MissingKey { key: &'static str, what: &'static str },
    #[error("keyword {key} = '{value}' cannot be used: {why}")]
    BadValue { key: &'static str, value: String, why: &'static str },
    #[error("duplicate of frame {id} ({path}): the same pixel data is already in the archive")]
    Duplicate { id: i64, path: String },
    #[error("cannot read the file: {0}")]
    Io(String),
}

impl Refusal {
    /// What to do about it, for the operator.
    pub fn advice(&self) -> &'static str {
        match self {
            Refusal::Layout(LayoutError::Truncated { .. } | LayoutError::HeaderCut { .. }) => {
                "The capture program did not finish writing it (crash, full disk, or the file was copied before it was complete). Copy it again from its source; if it is lost, this partial file is all there is."
            }
            Refusal::Layout(LayoutError::Empty) => {
                "Nothing was written. Check the capture program and the disk it writes to."
            }
            Refusal::Layout(LayoutError::NotFits) => {
                "Only FITS frames belong in the inbox. Move other files elsewhere; if this is a compressed frame (.gz, .fz), uncompress it first."
            }
            Refusal::Layout(_) | Refusal::Unreadable(_) => {
                "The writer does not follow the FITS standard. Check it with `fitsverify`; fix the capture program's FITS settings or repair the file (astropy: fits.open(f).writeto(g, output_verify='fix'))."
            }
            Refusal::NotImage { .. } => {
                "Write the image into the primary HDU (uncompressed). For fpack'ed files run `funpack` first."
            }
            Refusal::Checksum { .. } => {
                "Copy the file again from its source. If it was edited on purpose, remove or update CHECKSUM/DATASUM (astropy: writeto(..., checksum=True))."
            }
            Refusal::MissingKey { .. } | Refusal::BadValue { .. } => {
                "Make the capture program write the keyword (UTC start of exposure as DATE-OBS = 'YYYY-MM-DDThh:mm:ss.sss', exposure seconds as EXPTIME), or add it to this file (astropy: fits.setval(f, 'DATE-OBS', value='...'))."
            }
            Refusal::Duplicate { .. } => {
                "Nothing to do if this is an accidental second copy: the frame is archived already. Delete the quarantined copy when you are sure."
            }
            Refusal::Io(_) => "Check the file's permissions: teld must be able to read it.",
        }
    }
}
