//! `application/imagebytes` (Alpaca API v1, ImageArray): a 44-byte header of eleven
//! little-endian 32-bit integers, then the pixels. ASCOM arrays are indexed [x][y], so
//! the wire order has y varying fastest; teld (and FITS) want x fastest, so the
//! decoder transposes. The pixel type teld stores follows what was transmitted, never
//! widened needlessly: the PyPI simulators declare Int32 images but send UInt16.

use teld_driver_protocol::PixelType;

const HEADER_LEN: usize = 44;

/// ASCOM ImageArrayElementTypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    Int16,
    Int32,
    Double,
    Single,
    UInt64,
    Byte,
    Int64,
    UInt16,
    UInt32,
}

impl ElementType {
    fn from_code(code: i32) -> Option<ElementType> {
        Some(match code {
            1 => ElementType::Int16,
            2 => ElementType::Int32,
            3 => ElementType::Double,
            4 => ElementType::Single,
            5 => ElementType::UInt64,
            6 => ElementType::Byte,
            7 => ElementType::Int64,
            8 => ElementType::UInt16,
            9 => ElementType::UInt32,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            ElementType::Byte => 1,
            ElementType::Int16 | ElementType::UInt16 => 2,
            ElementType::Int32 | ElementType::UInt32 | ElementType::Single => 4,
            ElementType::Double | ElementType::Int64 | ElementType::UInt64 => 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageBytesError {
    #[error(
        "image is {0} bytes, shorter than the 44-byte ImageBytes header: the download was cut short; take the image again"
    )]
    Short(usize),
    #[error(
        "ImageBytes metadata version {0}; teld reads version 1: update the driver or the server"
    )]
    Version(i32),
    #[error("the camera reported error 0x{number:X} instead of an image: {message}")]
    Device { number: i32, message: String },
    #[error("{what} element type {code} is not an ASCOM ImageArrayElementType (1-9)")]
    ElementType { what: &'static str, code: i32 },
    #[error("rank {0} images are not supported (2 = monochrome); use a monochrome readout")]
    Rank(i32),
    #[error("dimensions {0}×{1} are not positive")]
    Dimensions(i32, i32),
    #[error(
        "dimensions {width}×{height} of {size}-byte pixels are more bytes than memory can address: the header is wrong"
    )]
    Oversize { width: usize, height: usize, size: usize },
    #[error("header says the pixels start at byte {start}, outside the {len}-byte image")]
    DataStart { start: i32, len: usize },
    #[error(
        "{width}×{height} pixels of {size} bytes need {need} bytes, the image has {have}: the download was cut short or the header is wrong"
    )]
    Length { width: usize, height: usize, size: usize, need: usize, have: usize },
    #[error(
        "pixel value {value} does not fit the stored {pixel:?} type; such a camera is not supported yet"
    )]
    Range { value: String, pixel: PixelType },
}

/// A decoded monochrome image, pixels row-major with x varying fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub pixel: PixelType,
    /// Little-endian bytes of `pixel`, ready for the spool file.
    pub data: Vec<u8>,
    pub client_transaction_id: u32,
}

fn field(bytes: &[u8], k: usize) -> i32 {
    i32::from_le_bytes([bytes[4 * k], bytes[4 * k + 1], bytes[4 * k + 2], bytes[4 * k + 3]])
}

pub fn decode(bytes: &[u8]) -> Result<Image, ImageBytesError> {
    if bytes.len() < HEADER_LEN {
        return Err(ImageBytesError::Short(bytes.len()));
    }
    let version = field(bytes, 0);
    if version != 1 {
        return Err(ImageBytesError::Version(version));
    }
    let error = field(bytes, 1);
    let start = field(bytes, 4);
    let start_at = usize::try_from(start)
        .ok()
        .filter(|&s| s >= HEADER_LEN && s <= bytes.len())
        .ok_or(ImageBytesError::DataStart { start, len: bytes.len() })?;
    if error != 0 {
        let message = String::from_utf8_lossy(&bytes[start_at..]).trim().to_string();
        return Err(ImageBytesError::Device { number: error, message });
    }
    let code = field(bytes, 6);
    let sent = ElementType::from_code(code)
        .ok_or(ImageBytesError::ElementType { what: "transmission", code })?;
    let declared = field(bytes, 5);
    ElementType::from_code(declared)
        .ok_or(ImageBytesError::ElementType { what: "image", code: declared })?;
    let rank = field(bytes, 7);
    if rank != 2 {
        return Err(ImageBytesError::Rank(rank));
    }
    let (d1, d2) = (field(bytes, 8), field(bytes, 9));
    let (Ok(width), Ok(height)) = (usize::try_from(d1), usize::try_from(d2)) else {
        return Err(ImageBytesError::Dimensions(d1, d2));
    };
    if width == 0 || height == 0 {
        return Err(ImageBytesError::Dimensions(d1, d2));
    }
    let size = sent.size();
    // Both dimensions come from the sender: up to 2³¹ each, their product overflows.
    let need = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(size))
        .ok_or(ImageBytesError::Oversize { width, height, size })?;
    let pixels = &bytes[start_at..];
    if pixels.len() != need {
        return Err(ImageBytesError::Length { width, height, size, need, have: pixels.len() });
    }
    let pixel = stored_type(sent);
    let mut data = vec![0u8; width * height * pixel.bytes()];
    if sent == ElementType::UInt16 {
        // The common case (16-bit sensors): no conversion, only the transpose.
        transpose(pixels, &mut data, width, height, 2);
    } else {
        // Convert in wire order (sequential), then transpose.
        let step = pixel.bytes();
        let mut converted = vec![0u8; data.len()];
        for (src, dst) in pixels.chunks_exact(size).zip(converted.chunks_exact_mut(step)) {
            convert(sent, src, pixel, dst)?;
        }
        transpose(&converted, &mut data, width, height, step);
    }
    Ok(Image { width, height, pixel, data, client_transaction_id: field(bytes, 2) as u32 })
}

/// `src` is `[x][y]` (y fastest), `dst` `[y][x]`; elements of `elem` bytes. Tiled so
/// both sides stay in cache: a naive loop strides a whole row per element and is
/// several times slower on a 4096² frame.
fn transpose(src: &[u8], dst: &mut [u8], width: usize, height: usize, elem: usize) {
    match elem {
        2 => transpose_n::<2>(src, dst, width, height),
        _ => transpose_n::<4>(src, dst, width, height),
    }
}

/// 8×8 blocks copied through a fixed-size array (no bounds checks inside, so the
/// compiler can keep a block in registers), in strips 64 pixels wide so every
/// destination cache line is filled whole before it is evicted. Image widths are
/// often powers of two, where bigger square tiles thrash the cache's sets.
// `j` picks a row of the destination and a column of the block at once.
#[allow(clippy::needless_range_loop)]
fn transpose_n<const N: usize>(src: &[u8], dst: &mut [u8], width: usize, height: usize) {
    const B: usize = 8;
    const STRIP: usize = 64;
    let (src, _) = src.as_chunks::<N>();
    let (dst, _) = dst.as_chunks_mut::<N>();
    let (wb, hb) = (width / B * B, height / B * B);
    for xs in (0..wb).step_by(STRIP) {
        let xe = (xs + STRIP).min(wb);
        for y0 in (0..hb).step_by(B) {
            for x0 in (xs..xe).step_by(B) {
                let mut block = [[[0u8; N]; B]; B];
                for (i, col) in block.iter_mut().enumerate() {
                    let at = (x0 + i) * height + y0;
                    col.copy_from_slice(&src[at..at + B]);
                }
                for j in 0..B {
                    let at = (y0 + j) * width + x0;
                    let row: &mut [[u8; N]; B] =
                        (&mut dst[at..at + B]).try_into().expect("a block row is B pixels");
                    for (i, px) in row.iter_mut().enumerate() {
                        *px = block[i][j];
                    }
                }
            }
        }
    }
    // The right and bottom edges that do not fill a block.
    for x in 0..width {
        let ys = if x < wb { hb } else { 0 };
        for y in ys..height {
            dst[y * width + x] = src[x * height + y];
        }
    }
}

/// What teld stores for a transmitted type: the narrowest of its pixel types that
/// holds every value of it (64-bit integers are checked value by value).
fn stored_type(sent: ElementType) -> PixelType {
    match sent {
        ElementType::Byte | ElementType::UInt16 => PixelType::U16,
        ElementType::Int16
        | ElementType::Int32
        | ElementType::UInt32
        | ElementType::Int64
        | ElementType::UInt64 => PixelType::I32,
        ElementType::Single | ElementType::Double => PixelType::F32,
    }
}

fn convert(
    sent: ElementType,
    src: &[u8],
    pixel: PixelType,
    dst: &mut [u8],
) -> Result<(), ImageBytesError> {
    let b4 = || [src[0], src[1], src[2], src[3]];
    let b8 = || [src[0], src[1], src[2], src[3], src[4], src[5], src[6], src[7]];
    let int: i128 = match sent {
        ElementType::Byte => src[0] as i128,
        ElementType::Int16 => i16::from_le_bytes([src[0], src[1]]) as i128,
        ElementType::UInt16 => u16::from_le_bytes([src[0], src[1]]) as i128,
        ElementType::Int32 => i32::from_le_bytes(b4()) as i128,
        ElementType::UInt32 => u32::from_le_bytes(b4()) as i128,
        ElementType::Int64 => i64::from_le_bytes(b8()) as i128,
        ElementType::UInt64 => u64::from_le_bytes(b8()) as i128,
        ElementType::Single => {
            let v = f32::from_le_bytes(b4());
            dst.copy_from_slice(&v.to_le_bytes());
            return Ok(());
        }
        ElementType::Double => {
            let v = f64::from_le_bytes(b8()) as f32;
            dst.copy_from_slice(&v.to_le_bytes());
            return Ok(());
        }
    };
    let range = || ImageBytesError::Range { value: int.to_string(), pixel };
    match pixel {
        PixelType::U16 => {
            dst.copy_from_slice(&u16::try_from(int).map_err(|_| range())?.to_le_bytes())
        }
        PixelType::I32 => {
            dst.copy_from_slice(&i32::try_from(int).map_err(|_| range())?.to_le_bytes())
        }
        PixelType::F32 => dst.copy_from_slice(&(int as f32).to_le_bytes()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ImageBytesError, decode, transpose};

    /// Found by `fuzz/` (target `imagebytes`): a header of 1_828_716_546 × 1_835_887_981
    /// doubles overflowed `width * height * size` (a panic, or in a release build a
    /// wrapped length that could pass the length check).
    #[test]
    fn dimensions_whose_byte_count_overflows_are_refused() {
        let crash: &[u8] = &[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x00,
            0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
            0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d,
            0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d,
        ];
        let e = decode(crash).unwrap_err();
        assert!(matches!(e, ImageBytesError::Oversize { size: 8, .. }), "{e:?}");
        assert!(e.to_string().contains("the header is wrong"), "{e}");
    }

    #[test]
    fn tiled_transpose_matches_the_definition_on_any_shape() {
        for (w, h) in [(1, 1), (3, 5), (8, 8), (13, 9), (16, 24), (70, 33), (64, 130)] {
            for elem in [2, 4] {
                let src: Vec<u8> = (0..w * h * elem).map(|i| (i * 7 % 251) as u8).collect();
                let mut dst = vec![0u8; src.len()];
                transpose(&src, &mut dst, w, h, elem);
                for x in 0..w {
                    for y in 0..h {
                        let (s, d) = ((x * h + y) * elem, (y * w + x) * elem);
                        assert_eq!(
                            src[s..s + elem],
                            dst[d..d + elem],
                            "{w}x{h} elem {elem} at ({x},{y})"
                        );
                    }
                }
            }
        }
    }
}
