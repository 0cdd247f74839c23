//! The frame as the camera gave it: a borrowed row-major buffer (x fastest, FITS
//! order) of any pixel type a camera or a FITS file delivers. Measuring straight from
//! the caller's buffer avoids a 64 MB f32 copy of a 4096×4096 frame.

use crate::error::QuickLookError;

/// A pixel value the quick-look can read. Conversion to `f32` is exact for 16-bit
/// data and for the dynamic range of any real detector in the other types.
pub trait Pixel: Copy + Send + Sync {
    fn to_f32(self) -> f32;
}

impl Pixel for u8 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}
impl Pixel for u16 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}
impl Pixel for i16 {
    fn to_f32(self) -> f32 {
        f32::from(self)
    }
}
impl Pixel for i32 {
    fn to_f32(self) -> f32 {
        self as f32
    }
}
impl Pixel for f32 {
    fn to_f32(self) -> f32 {
        self
    }
}
impl Pixel for f64 {
    fn to_f32(self) -> f32 {
        self as f32
    }
}

/// A 2-D image borrowed from the caller; `width × height` is checked once here so
/// that every later index is in bounds.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a, P: Pixel> {
    data: &'a [P],
    width: usize,
    height: usize,
}

impl<'a, P: Pixel> Image<'a, P> {
    pub fn new(data: &'a [P], width: usize, height: usize) -> Result<Self, QuickLookError> {
        if width == 0 || height == 0 {
            return Err(QuickLookError::Empty { width, height });
        }
        let expected = width.saturating_mul(height);
        if data.len() != expected {
            return Err(QuickLookError::SizeMismatch { width, height, expected, got: data.len() });
        }
        Ok(Self { data, width, height })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn data(&self) -> &'a [P] {
        self.data
    }

    /// Row `y` (0-based, 0 = first row in the file).
    pub fn row(&self, y: usize) -> &'a [P] {
        &self.data[y * self.width..(y + 1) * self.width]
    }
}
