//! Rice tile-compressed frames, as `fpack -r` writes them (FITS 4.0 §10, the tiled
//! image convention): an empty primary HDU and the image as a compressed binary table
//! extension, one tile per row. Rice is lossless for integer pixels; float frames are
//! not compressed (Rice would quantise them), the caller writes those plainly.
//!
//! cfitsio does the compression. It cannot write checksums without putting the wall
//! clock into their comments, so it leaves placeholders and [`super::writer::seal_hdus`]
//! fills in `DATASUM` and `CHECKSUM` of both HDUs afterwards — which reads the whole
//! file back, and is how we know cfitsio's final flush reached the file.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use fitsio::FitsFile;
use fitsio::hdu::FitsHdu;
use fitsio::images::WriteImage;
use teld_driver_protocol::{ImageInfo, PixelType};

use super::fits::{fits_message, frame_header, write_cards};
use super::{FrameMeta, IngestError};

/// Pixels handed to cfitsio per call: whole rows (whole tiles), about this many bytes.
const CHUNK_BYTES: usize = 4 << 20;

/// A spool pixel as cfitsio takes it.
trait Pixel: WriteImage + Copy {
    const BYTES: usize;
    /// cfitsio's `USHORT_IMG`/`LONG_IMG`: BITPIX 16 with BZERO 32768, BITPIX 32.
    const IMG_TYPE: i32;
    fn from_le(bytes: &[u8]) -> Self;
}

impl Pixel for u16 {
    const BYTES: usize = 2;
    const IMG_TYPE: i32 = 20;
    fn from_le(b: &[u8]) -> Self {
        u16::from_le_bytes([b[0], b[1]])
    }
}

impl Pixel for i32 {
    const BYTES: usize = 4;
    const IMG_TYPE: i32 = 32;
    fn from_le(b: &[u8]) -> Self {
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// Whether frames of this pixel type are Rice-compressed when compression is on.
pub(super) fn compresses(pixel: PixelType) -> bool {
    matches!(pixel, PixelType::U16 | PixelType::I32)
}

/// Creates the Rice-compressed FITS file `path` (which must not exist) from the spool
/// file's pixels and `meta`, with placeholder checksum cards, and closes it. The
/// caller validated the spool size and seals the checksums.
pub(super) fn write_frame(
    path: &Path,
    spool_file: &Path,
    info: &ImageInfo,
    meta: &FrameMeta,
) -> Result<(), IngestError> {
    let fits_err = |e: fitsio::errors::Error| IngestError::Fits {
        path: path.display().to_string(),
        message: fits_message(&e),
    };
    let mut spool = File::open(spool_file)
        .map_err(|source| IngestError::Io { path: spool_file.display().to_string(), source })?;
    // The archive root was checked for characters cfitsio would misread.
    let spec = format!("{}[compress R]", path.display());
    let mut f = FitsFile::create(&spec).open().map_err(fits_err)?;
    let primary = f.primary_hdu().map_err(fits_err)?;
    placeholders(&mut f, &primary).map_err(fits_err)?;

    let img_type = match info.pixel_type {
        PixelType::U16 => u16::IMG_TYPE,
        PixelType::I32 => i32::IMG_TYPE,
        PixelType::F32 => {
            return Err(IngestError::Fits {
                path: path.display().to_string(),
                message: "float frames are not Rice-compressed (it would be lossy)".into(),
            });
        }
    };
    let mut naxes = [i64::from(info.width), i64::from(info.height)];
    let mut status = 0;
    // SAFETY: `as_raw` hands out the live `fitsfile*` owned by `f`, held by `&mut` for
    // the call and not kept; `naxes` outlives the call and holds the 2 axes we pass.
    // `ffcrimll` appends an image HDU (compressed, per the file name's spec) and
    // reports failure in `status`, which we check.
    unsafe {
        fitsio::sys::ffcrimll(f.as_raw(), img_type, 2, naxes.as_mut_ptr(), &mut status);
    }
    fitsio::errors::check_status(status).map_err(fits_err)?;
    let hdu = f.hdu(1).map_err(fits_err)?;
    write_cards(&mut f, &hdu, &frame_header(meta)).map_err(fits_err)?;

    let (w, h) = (info.width as usize, info.height as usize);
    let copied = match info.pixel_type {
        PixelType::U16 => copy_rows::<u16>(&mut f, &hdu, &mut spool, w, h),
        _ => copy_rows::<i32>(&mut f, &hdu, &mut spool, w, h),
    };
    copied.map_err(|e| match e {
        CopyError::Spool(source) => {
            IngestError::Io { path: spool_file.display().to_string(), source }
        }
        CopyError::Fits(e) => fits_err(e),
    })?;
    placeholders(&mut f, &hdu).map_err(fits_err)?;
    // Closes the file; fitsio cannot report a failed final flush: the sealing pass
    // reads every byte back.
    drop(f);
    Ok(())
}

/// `DATASUM`/`CHECKSUM` cards with our comments and dummy values, for the sealing
/// pass to fill in.
fn placeholders(f: &mut FitsFile, hdu: &FitsHdu) -> fitsio::errors::Result<()> {
    hdu.write_key(f, "CHECKSUM", ("0000000000000000", "HDU checksum"))?;
    hdu.write_key(f, "DATASUM", ("0", "data unit checksum"))
}

enum CopyError {
    Spool(std::io::Error),
    Fits(fitsio::errors::Error),
}

/// Streams the spool's pixels into the image, whole rows at a time (a tile is a row,
/// and cfitsio compresses a tile once it is complete).
fn copy_rows<T: Pixel>(
    f: &mut FitsFile,
    hdu: &FitsHdu,
    spool: &mut impl Read,
    width: usize,
    height: usize,
) -> Result<(), CopyError> {
    let rows_per_chunk = (CHUNK_BYTES / (width * T::BYTES)).clamp(1, height.max(1));
    let mut raw = vec![0u8; rows_per_chunk * width * T::BYTES];
    let mut pixels: Vec<T> = Vec::with_capacity(rows_per_chunk * width);
    let mut row = 0;
    while row < height {
        let rows = rows_per_chunk.min(height - row);
        let bytes = rows * width * T::BYTES;
        spool.read_exact(&mut raw[..bytes]).map_err(CopyError::Spool)?;
        pixels.clear();
        pixels.extend(raw[..bytes].chunks_exact(T::BYTES).map(T::from_le));
        let start = row * width;
        hdu.write_section(f, start, start + rows * width, &pixels).map_err(CopyError::Fits)?;
        row += rows;
    }
    Ok(())
}
