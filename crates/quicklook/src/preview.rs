//! A small stretched PNG of the frame for the web page: box-averaged down to at most
//! `max_side` pixels a side, then an asinh stretch from background − 2σ (the sky shows
//! as dark grey, not clipped black) to the 99.5th percentile (bright stars saturate,
//! faint ones stay visible), 8-bit greyscale. Row 0 of the PNG is the last FITS row, so
//! the preview shows the frame the way FITS viewers do (y up).

use crate::error::QuickLookError;
use crate::pixel::{Image, Pixel};

/// Lower end of the stretch, in noise σ below the background.
const BLACK_SIGMA: f64 = 2.0;
/// Upper end of the stretch: this fraction of the preview's pixels stays below white.
const WHITE_QUANTILE: f64 = 0.995;
/// Asinh softening: linear over the faint end, logarithmic above ~1/β of the range.
const ASINH_BETA: f64 = 10.0;

/// Encodes the preview of `img` given its background and noise (from the quick-look).
pub fn preview_png<P: Pixel>(
    img: &Image<'_, P>,
    background: f64,
    noise: f64,
    max_side: usize,
) -> Result<(Vec<u8>, usize, usize), QuickLookError> {
    let (small, sw, sh) = downsample(img, max_side.max(1));
    let lo = background - BLACK_SIGMA * noise;
    let mut finite: Vec<f32> = small.iter().copied().filter(|v| v.is_finite()).collect();
    let hi = if finite.is_empty() {
        lo + 1.0
    } else {
        let k = ((finite.len() - 1) as f64 * WHITE_QUANTILE) as usize;
        let (_, &mut q, _) = finite.select_nth_unstable_by(k, f32::total_cmp);
        f64::from(q)
    };
    let range = if hi > lo { hi - lo } else { 1.0 };
    let norm = ASINH_BETA.asinh();
    let mut grey = Vec::with_capacity(sw * sh);
    for y in (0..sh).rev() {
        for &v in &small[y * sw..(y + 1) * sw] {
            let t = ((f64::from(v) - lo) / range).clamp(0.0, 1.0);
            let t = if t.is_nan() { 0.0 } else { t };
            grey.push(((t * ASINH_BETA).asinh() / norm * 255.0).round() as u8);
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, sw as u32, sh as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let err = |e: png::EncodingError| QuickLookError::Preview(e.to_string());
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&grey).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok((png_bytes, sw, sh))
}

/// Box average over k×k blocks (k the smallest factor bringing both sides within
/// `max_side`), ignoring non-finite pixels; a block with none is NaN.
fn downsample<P: Pixel>(img: &Image<'_, P>, max_side: usize) -> (Vec<f32>, usize, usize) {
    let (w, h) = (img.width(), img.height());
    let k = w.max(h).div_ceil(max_side).max(1);
    let (sw, sh) = (w.div_ceil(k), h.div_ceil(k));
    let mut sum = vec![0f64; sw * sh];
    let mut n = vec![0u32; sw * sh];
    for y in 0..h {
        let base = (y / k) * sw;
        for (x, &p) in img.row(y).iter().enumerate() {
            let v = p.to_f32();
            if v.is_finite() {
                sum[base + x / k] += f64::from(v);
                n[base + x / k] += 1;
            }
        }
    }
    let small =
        sum.iter().zip(&n).map(|(&s, &c)| if c > 0 { (s / f64::from(c)) as f32 } else { f32::NAN });
    (small.collect(), sw, sh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_is_a_png_within_the_size() {
        let data: Vec<u16> = (0..300 * 200).map(|i| 1000 + (i % 7) as u16).collect();
        let img = Image::new(&data, 300, 200).unwrap();
        let (bytes, w, h) = preview_png(&img, 1003.0, 2.0, 64).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(w <= 64 && h <= 64 && w > 0 && h > 0, "{w}×{h}");
        let dec = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width as usize, info.height as usize), (w, h));
    }

    #[test]
    fn all_nan_frame_still_previews() {
        let data = vec![f32::NAN; 9];
        let img = Image::new(&data, 3, 3).unwrap();
        assert!(preview_png(&img, 0.0, 0.0, 8).is_ok());
    }
}
