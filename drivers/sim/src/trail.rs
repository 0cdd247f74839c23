//! Star trails. When the mount moves during an exposure every star draws the same path
//! across the detector (to within the field's distortion, a fraction of a pixel over a
//! frame-sized trail), so the path is convolved with the PSF once per frame into a
//! sparse kernel, and each star then costs one pass over the kernel instead of one
//! PSF stamp per slice of the exposure.

use crate::render::pixel_fractions;

/// Sub-pixel positions per axis the kernel is built for: a star is placed within
/// 1/8 px of its true position, far below the seeing.
const PHASES: usize = 4;
/// Kernel weights below this (of a unit flux) are dropped: even a magnitude-5 star,
/// ≈ 10¹⁰ e⁻ in a minute, loses under a hundred electrons per dropped pixel.
const WEIGHT_FLOOR: f64 = 1e-8;
/// PSF reach in σ: the Gaussian holds all but 2·10⁻⁹ of its light within 6σ.
const REACH_SIGMA: f64 = 6.0;

/// Per sub-pixel phase, the pixels a unit-flux star's trail covers and their weights.
#[derive(Debug)]
pub struct TrailKernel {
    phases: Vec<Vec<(i32, i32, f32)>>,
    /// Bounding box of every phase's offsets, for skipping stars far off the detector.
    x_range: (i32, i32),
    y_range: (i32, i32),
}

impl TrailKernel {
    /// `path` holds the star's offsets in pixels at equal slices of the exposure.
    pub fn new(path: &[(f64, f64)], sigma: f64) -> TrailKernel {
        let reach = REACH_SIGMA * sigma + 1.0;
        let fold = |f: fn(f64, f64) -> f64, init, pick: fn(&(f64, f64)) -> f64| {
            path.iter().map(pick).fold(init, f)
        };
        let x0 = (fold(f64::min, f64::MAX, |p| p.0) - reach).floor() as i64;
        let x1 = (fold(f64::max, f64::MIN, |p| p.0) + 1.0 + reach).ceil() as i64;
        let y0 = (fold(f64::min, f64::MAX, |p| p.1) - reach).floor() as i64;
        let y1 = (fold(f64::max, f64::MIN, |p| p.1) + 1.0 + reach).ceil() as i64;
        let gw = (x1 - x0 + 1) as usize;
        let mut grid = vec![0f64; gw * (y1 - y0 + 1) as usize];
        let weight = 1.0 / path.len().max(1) as f64;
        let mut phases = Vec::with_capacity(PHASES * PHASES);
        for q in 0..PHASES * PHASES {
            grid.fill(0.0);
            let fx = ((q % PHASES) as f64 + 0.5) / PHASES as f64;
            let fy = ((q / PHASES) as f64 + 0.5) / PHASES as f64;
            for &(px, py) in path {
                let (cx, cy) = (fx + px, fy + py);
                let (lx, ly) = ((cx - reach).floor() as i64, (cy - reach).floor() as i64);
                let gx = pixel_fractions(lx, (cx + reach).ceil() as i64, cx, sigma);
                let gy = pixel_fractions(ly, (cy + reach).ceil() as i64, cy, sigma);
                for (j, wy) in gy.iter().enumerate() {
                    let row = (ly + j as i64 - y0) as usize * gw + (lx - x0) as usize;
                    for (cell, wx) in grid[row..row + gx.len()].iter_mut().zip(&gx) {
                        *cell += weight * wx * wy;
                    }
                }
            }
            let entries = grid
                .iter()
                .enumerate()
                .filter(|&(_, &w)| w > WEIGHT_FLOOR)
                .map(|(k, &w)| ((k % gw) as i64 + x0, (k / gw) as i64 + y0, w as f32))
                .map(|(x, y, w)| (x as i32, y as i32, w))
                .collect();
            phases.push(entries);
        }
        TrailKernel { phases, x_range: (x0 as i32, x1 as i32), y_range: (y0 as i32, y1 as i32) }
    }

    /// Adds the trail of a star of `flux` electrons whose reference position is (x, y).
    pub fn add(&self, img: &mut [f32], w: usize, h: usize, x: f64, y: f64, flux: f64) {
        let (ix, iy) = (x.floor(), y.floor());
        let (bx, by) = (ix as i64, iy as i64);
        let off =
            |v: i64, r: (i32, i32), n: usize| v + (r.1 as i64) < 0 || v + (r.0 as i64) >= n as i64;
        if off(bx, self.x_range, w) || off(by, self.y_range, h) {
            return;
        }
        let phase = |f: f64| ((f * PHASES as f64) as usize).min(PHASES - 1);
        let q = phase(y - iy) * PHASES + phase(x - ix);
        let flux = flux as f32;
        for &(dx, dy, k) in &self.phases[q] {
            let (px, py) = (bx + dx as i64, by + dy as i64);
            if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                img[py as usize * w + px as usize] += flux * k;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_still_path_is_the_psf_and_flux_is_conserved() {
        let k = TrailKernel::new(&[(0.0, 0.0)], 0.6);
        let mut img = vec![0f32; 32 * 32];
        k.add(&mut img, 32, 32, 15.6, 16.1, 1000.0);
        let total: f32 = img.iter().sum();
        assert!((total - 1000.0).abs() < 0.01, "{total}");
        let peak = img.iter().copied().fold(0f32, f32::max);
        assert_eq!(img[16 * 32 + 16], peak, "peak in the pixel holding the star");
    }

    #[test]
    fn a_straight_path_spreads_the_light_evenly_along_it() {
        let path: Vec<(f64, f64)> = (0..200).map(|i| (i as f64 * 0.1, 0.0)).collect();
        let k = TrailKernel::new(&path, 0.6);
        let mut img = vec![0f32; 64 * 16];
        k.add(&mut img, 64, 16, 20.0, 8.0, 2000.0);
        let row: Vec<f32> = (0..64).map(|x| (0..16).map(|y| img[y * 64 + x]).sum()).collect();
        // 20 px of trail: 100 e⁻ per column in the middle of it.
        for (x, &v) in row.iter().enumerate().take(36).skip(24) {
            assert!((v - 100.0).abs() < 1.0, "column {x}: {v}");
        }
        assert!((row.iter().sum::<f32>() - 2000.0).abs() < 0.1);
        // A star far off the detector adds nothing and costs nothing.
        let before = img.clone();
        k.add(&mut img, 64, 16, -500.0, 8.0, 2000.0);
        assert_eq!(img, before);
    }
}
