//! Sky background and noise, estimated the way SExtractor and sep do so the numbers
//! compare one to one with `sep.Background(data).globalback` / `.globalrms`:
//!
//! 1. the frame is cut into meshes (64×64 by default); in each, the mean and standard
//!    deviation of the finite pixels, then again within ±2σ of that mean;
//! 2. a fine histogram of the mesh (±5σ, about one bin per pixel) is clipped
//!    iteratively at ±3σ around its median until σ stops changing; the mesh's level is
//!    the mode estimate 2.5·median − 1.5·mean when the clipped distribution is nearly
//!    symmetric (|mean − median| < 0.3σ), otherwise the median (crowded meshes), and its
//!    noise the clipped σ;
//! 3. meshes with under half their pixels finite take the nearest good mesh's values;
//!    a 3×3 median filter over meshes (shrinking symmetrically at the edges) removes
//!    meshes spoiled by bright stars;
//! 4. the global background and noise are the medians over meshes.
//!
//! One deliberate difference: σ clipped at ±3σ reads 1.5 % low for Gaussian noise, and
//! sep reports it as is; here it is divided by [`CLIPPED_SIGMA_RATIO`] so `global_rms`
//! is the sky's noise (sep's `globalrms` × 1.0154).
//!
//! Unlike sep, the clipping iterations run on prefix sums of the histogram, so each
//! costs O(log bins) instead of a walk over 4096 bins: this is where the quick-look
//! gains most of its time on sep.

use crate::error::QuickLookError;
use crate::pixel::{Image, Pixel};
use crate::stats::median_of;

/// Histogram limits of a mesh, in clipped σ either side of its clipped mean.
const HIST_HALF_WIDTH_SIGMA: f64 = 5.0;
/// Mode pixels per bin aimed at: with sqrt(2/π)·5/4 bins per pixel the histogram is as
/// fine as the data allow (SExtractor's QUANTIF_AMIN).
const PIXELS_PER_MODE_BIN: f64 = 4.0;
/// A histogram finer than this adds nothing and costs memory per mesh.
const MAX_BINS: usize = 4096;
/// A mesh with fewer finite pixels than this fraction is not trusted.
const MIN_GOOD_FRACTION: f64 = 0.5;
/// First-pass clip of a mesh, in σ: cuts stars before the histogram is laid out.
const FIRST_CLIP_SIGMA: f64 = 2.0;
/// Iterative clip on the histogram, in σ.
const CLIP_SIGMA: f64 = 3.0;
/// Iterations stop when σ changes by less than this fraction…
const CLIP_CONVERGED: f64 = 1e-4;
/// …or after this many (sep's limit; real meshes converge in under ten).
const CLIP_MAX_ITER: usize = 100;
/// σ of a Gaussian clipped at ±3σ of itself, iterated to convergence, is 0.98485 of
/// the true σ (the fixed point of σ_c = sd of N(0,1) within ±3σ_c). sep reports the
/// clipped value; the quick-look reports the noise of the sky, so it divides by this.
pub const CLIPPED_SIGMA_RATIO: f64 = 0.984_846_186;
/// Mode = 2.5·median − 1.5·mean only when the clipped distribution is this symmetric.
const MODE_MAX_SKEW: f64 = 0.3;

/// The background map: one level and noise per mesh, after filtering.
#[derive(Debug, Clone)]
pub struct Background {
    /// Median of the mesh levels (ADU): what sep calls `globalback`.
    pub global: f64,
    /// Median of the mesh noises (ADU): sep's `globalrms` / [`CLIPPED_SIGMA_RATIO`],
    /// i.e. the σ of the sky's noise itself.
    pub global_rms: f64,
    mesh: usize,
    nx: usize,
    ny: usize,
    level: Vec<f32>,
    /// Per image column: the two mesh columns it lies between and the second's weight,
    /// computed once rather than per pixel of every row.
    columns: Vec<(u32, u32, f32)>,
}

/// One mesh before filtering; `None` when it has too few finite pixels.
#[derive(Debug, Clone, Copy)]
struct MeshEstimate {
    level: f32,
    sigma: f32,
}

impl Background {
    /// Measures the background of `img` with meshes of `mesh` px and a median filter of
    /// `filter` meshes.
    pub fn measure<P: Pixel>(
        img: &Image<'_, P>,
        mesh: usize,
        filter: usize,
    ) -> Result<Self, QuickLookError> {
        let mesh = mesh.max(1);
        let (w, h) = (img.width(), img.height());
        let nx = w.div_ceil(mesh);
        let ny = h.div_ceil(mesh);
        let mut scratch = MeshScratch::default();
        let mut est = Vec::with_capacity(nx * ny);
        for my in 0..ny {
            for mx in 0..nx {
                let x0 = mx * mesh;
                let y0 = my * mesh;
                let x1 = (x0 + mesh).min(w);
                let y1 = (y0 + mesh).min(h);
                est.push(scratch.estimate(img, x0..x1, y0..y1));
            }
        }
        if est.iter().all(Option::is_none) {
            return Err(QuickLookError::NoFinitePixels);
        }
        let (level, sigma) = fill_bad_meshes(&est, nx, ny);
        let level = median_filter(&level, nx, ny, filter / 2);
        let sigma = median_filter(&sigma, nx, ny, filter / 2);
        let global = median_of(&mut level.clone());
        let mut global_rms = median_of(&mut sigma.clone());
        if global_rms <= 0.0 {
            // A frame mostly flat (a dark, a masked chip): the noise of the meshes
            // that have any, as sep does; zero if none has.
            let mut positive: Vec<f32> = sigma.iter().copied().filter(|&s| s > 0.0).collect();
            global_rms = if positive.is_empty() { 0.0 } else { median_of(&mut positive) };
        }
        let columns = (0..w)
            .map(|x| {
                let (i0, i1, f) = bracket(x, mesh, nx);
                (i0 as u32, i1 as u32, f)
            })
            .collect();
        Ok(Self { global, global_rms, mesh, nx, ny, level, columns })
    }

    /// The background of row `y`, interpolated bilinearly between mesh centres (flat
    /// beyond the outermost centres) into `out` (length = image width).
    pub fn row_into(&self, y: usize, out: &mut [f32]) {
        let (j0, j1, fy) = bracket(y, self.mesh, self.ny);
        let r0 = &self.level[j0 * self.nx..(j0 + 1) * self.nx];
        let r1 = &self.level[j1 * self.nx..(j1 + 1) * self.nx];
        let cols: Vec<f32> = r0.iter().zip(r1).map(|(&a, &b)| a + (b - a) * fy).collect();
        for (o, &(i0, i1, fx)) in out.iter_mut().zip(&self.columns) {
            let (a, b) = (cols[i0 as usize], cols[i1 as usize]);
            *o = a + (b - a) * fx;
        }
    }
}

/// Mesh indices either side of pixel `p` and the weight of the second, with mesh
/// centres at (k + ½)·mesh − ½.
fn bracket(p: usize, mesh: usize, n: usize) -> (usize, usize, f32) {
    let t = (p as f32 + 0.5) / mesh as f32 - 0.5;
    if t <= 0.0 || n == 1 {
        return (0, 0, 0.0);
    }
    let k = t as usize;
    if k + 1 >= n {
        return (n - 1, n - 1, 0.0);
    }
    (k, k + 1, t - k as f32)
}

/// Buffers reused from mesh to mesh.
#[derive(Default)]
struct MeshScratch {
    pixels: Vec<f32>,
    hist: Vec<u32>,
    count: Vec<f64>,
    first: Vec<f64>,
    second: Vec<f64>,
}

impl MeshScratch {
    fn estimate<P: Pixel>(
        &mut self,
        img: &Image<'_, P>,
        xs: std::ops::Range<usize>,
        ys: std::ops::Range<usize>,
    ) -> Option<MeshEstimate> {
        let area = xs.len() * ys.len();
        // The mesh copied out as f32 once: the three passes below then run over one
        // contiguous 16 KB slice that stays in L1.
        self.pixels.clear();
        for y in ys {
            self.pixels.extend(img.row(y)[xs.clone()].iter().map(|p| p.to_f32()));
        }
        // Pass 1: mean and σ of the finite pixels.
        let (n, s, s2) = lane_sums(&self.pixels, |v| v.is_finite());
        if (n as f64) < area as f64 * MIN_GOOD_FRACTION || n == 0 {
            return None;
        }
        let (mean, sd) = mean_sd(n as f64, s, s2);
        // Pass 2: again within ±2σ (the cuts rounded to f32 as the pixels are).
        let lo = (mean - FIRST_CLIP_SIGMA * sd) as f32;
        let hi = (mean + FIRST_CLIP_SIGMA * sd) as f32;
        let (n, s, s2) = lane_sums(&self.pixels, |v| v >= lo && v <= hi);
        if n == 0 {
            return Some(MeshEstimate { level: mean as f32, sigma: 0.0 });
        }
        let (mean, sd) = mean_sd(n as f64, s, s2);
        let step =
            (2.0 / std::f64::consts::PI).sqrt() * HIST_HALF_WIDTH_SIGMA / PIXELS_PER_MODE_BIN;
        let bins = ((step * n as f64 + 1.0) as usize).clamp(1, MAX_BINS);
        let qscale = if sd > 0.0 { 2.0 * HIST_HALF_WIDTH_SIGMA * sd / bins as f64 } else { 1.0 };
        let qzero = mean - HIST_HALF_WIDTH_SIGMA * sd;
        // Pass 3: the histogram; bin k is centred on qzero + k·qscale.
        self.hist.clear();
        self.hist.resize(bins, 0);
        let inv = (1.0 / qscale) as f32;
        let offset = (0.5 - qzero / qscale) as f32;
        // Local slices, so the loop does not reload the vectors through `self`.
        let hist = &mut self.hist[..];
        let bins32 = bins as u32;
        for &v in &self.pixels {
            // `max` maps NaN to −1 (out of range), the cast saturates ±inf: one compare
            // then keeps the pixels inside the histogram.
            let b = (v * inv + offset).max(-1.0) as i32 as u32;
            if b < bins32 {
                hist[b as usize] += 1;
            }
        }
        let (m, sig) = self.clipped_mode(mean, qzero, qscale);
        let sigma = sig * qscale / CLIPPED_SIGMA_RATIO;
        Some(MeshEstimate { level: (qzero + m * qscale) as f32, sigma: sigma as f32 })
    }

    /// Iterative 3σ clipping of the histogram around its median; returns the mode
    /// estimate and σ, both in bin units.
    fn clipped_mode(&mut self, mean: f64, qzero: f64, qscale: f64) -> (f64, f64) {
        let bins = self.hist.len();
        // Prefix sums: count, Σk·h, Σk²·h up to (excluding) bin k. Written by index
        // into buffers kept from mesh to mesh: this loop runs once per bin per mesh.
        for v in [&mut self.count, &mut self.first, &mut self.second] {
            v.resize(bins + 1, 0.0);
        }
        let (mut c, mut f, mut s) = (0f64, 0f64, 0f64);
        let (count, first, second) = (&mut self.count, &mut self.first, &mut self.second);
        for (k, &h) in self.hist.iter().enumerate() {
            count[k] = c;
            first[k] = f;
            second[k] = s;
            let (h, kf) = (f64::from(h), k as f64);
            c += h;
            f += h * kf;
            s += h * kf * kf;
        }
        count[bins] = c;
        first[bins] = f;
        second[bins] = s;

        let (mut lo, mut hi) = (0usize, bins - 1);
        let mut sig = 10.0 * (bins - 1) as f64;
        let mut prev = 1.0;
        let mut mea = (mean - qzero) / qscale;
        let mut med = mea;
        for _ in 0..CLIP_MAX_ITER {
            if sig < 0.1 || (sig / prev - 1.0).abs() <= CLIP_CONVERGED {
                break;
            }
            prev = sig;
            let n = self.count[hi + 1] - self.count[lo];
            if n <= 0.0 {
                sig = 0.0;
                break;
            }
            mea = (self.first[hi + 1] - self.first[lo]) / n;
            let var = (self.second[hi + 1] - self.second[lo]) / n - mea * mea;
            sig = if var > 0.0 { var.sqrt() } else { 0.0 };
            med = self.median_between(lo, hi, n);
            let l = med - CLIP_SIGMA * sig;
            let u = med + CLIP_SIGMA * sig;
            lo = if l > 0.0 { ((l + 0.5) as usize).min(bins - 1) } else { 0 };
            hi = if u < (bins - 1) as f64 { (u + 0.5) as usize } else { bins - 1 };
            hi = hi.max(lo);
        }
        let mode = if sig > 0.0 {
            if ((mea - med) / sig).abs() < MODE_MAX_SKEW { 2.5 * med - 1.5 * mea } else { med }
        } else {
            mea
        };
        (mode, sig)
    }

    /// Median of bins `lo..=hi` holding `n` pixels, interpolated within its bin (bin k
    /// spans k − ½ … k + ½).
    fn median_between(&self, lo: usize, hi: usize, n: f64) -> f64 {
        let target = self.count[lo] + n / 2.0;
        // First k in lo..=hi whose cumulative count through k reaches the target.
        let idx = self.count[lo + 1..=hi + 1].partition_point(|&c| c < target);
        let k = (lo + idx).min(hi);
        let inside = f64::from(self.hist[k]);
        let below = self.count[k];
        if inside > 0.0 { k as f64 - 0.5 + (target - below) / inside } else { k as f64 }
    }
}

/// Count, sum and sum of squares of the values passing `keep`, over eight independent
/// lanes so the additions pipeline (one f64 chain would wait on every add). A mesh
/// holds far fewer than 2³² pixels, so u32 lane counts cannot overflow.
fn lane_sums(v: &[f32], keep: impl Fn(f32) -> bool) -> (usize, f64, f64) {
    const LANES: usize = 8;
    let (mut n, mut s, mut s2) = ([0u32; LANES], [0f64; LANES], [0f64; LANES]);
    let mut chunks = v.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            let ok = keep(c[l]);
            // A select, not a branch, so the lanes vectorise.
            let x = f64::from(if ok { c[l] } else { 0.0 });
            n[l] += u32::from(ok);
            s[l] += x;
            s2[l] += x * x;
        }
    }
    let (mut nt, mut st, mut s2t) = (0usize, 0f64, 0f64);
    for &x in chunks.remainder() {
        if keep(x) {
            nt += 1;
            st += f64::from(x);
            s2t += f64::from(x) * f64::from(x);
        }
    }
    for l in 0..LANES {
        nt += n[l] as usize;
        st += s[l];
        s2t += s2[l];
    }
    (nt, st, s2t)
}

fn mean_sd(n: f64, s: f64, s2: f64) -> (f64, f64) {
    let mean = s / n;
    let var = s2 / n - mean * mean;
    (mean, if var > 0.0 { var.sqrt() } else { 0.0 })
}

/// Meshes without an estimate take the average of the nearest good meshes (ties
/// averaged), as SExtractor interpolates them.
fn fill_bad_meshes(est: &[Option<MeshEstimate>], nx: usize, ny: usize) -> (Vec<f32>, Vec<f32>) {
    let mut level = Vec::with_capacity(est.len());
    let mut sigma = Vec::with_capacity(est.len());
    for (i, e) in est.iter().enumerate() {
        if let Some(e) = e {
            level.push(e.level);
            sigma.push(e.sigma);
            continue;
        }
        let (px, py) = ((i % nx) as i64, (i / nx) as i64);
        let mut best = i64::MAX;
        let (mut l, mut s, mut k) = (0f64, 0f64, 0f64);
        for (j, g) in est.iter().enumerate() {
            let Some(g) = g else { continue };
            let (x, y) = ((j % nx) as i64, (j / nx) as i64);
            let d2 = (x - px).pow(2) + (y - py).pow(2);
            if d2 < best {
                best = d2;
                (l, s, k) = (0.0, 0.0, 0.0);
            }
            if d2 == best {
                l += f64::from(g.level);
                s += f64::from(g.sigma);
                k += 1.0;
            }
        }
        level.push((l / k) as f32);
        sigma.push((s / k) as f32);
    }
    debug_assert_eq!(level.len(), nx * ny);
    (level, sigma)
}

/// Median over a (2r+1)² window of meshes, the window shrinking symmetrically near the
/// edges so a corner mesh is its own median (SExtractor's choice: no mirrored data).
fn median_filter(v: &[f32], nx: usize, ny: usize, r: usize) -> Vec<f32> {
    if r == 0 {
        return v.to_vec();
    }
    let mut out = Vec::with_capacity(v.len());
    let mut window = Vec::with_capacity((2 * r + 1).pow(2));
    for y in 0..ny {
        let ry = r.min(y).min(ny - 1 - y);
        for x in 0..nx {
            let rx = r.min(x).min(nx - 1 - x);
            window.clear();
            for yy in y - ry..=y + ry {
                window.extend_from_slice(&v[yy * nx + x - rx..=yy * nx + x + rx]);
            }
            out.push(median_of(&mut window) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_is_flat_outside_the_centres_and_linear_between() {
        assert_eq!(bracket(0, 64, 4), (0, 0, 0.0));
        assert_eq!(bracket(31, 64, 4).0, 0);
        let (a, b, f) = bracket(64, 64, 4);
        assert_eq!((a, b), (0, 1));
        assert!((f - 32.5 / 64.0).abs() < 1e-6, "{f}");
        assert_eq!(bracket(255, 64, 4), (3, 3, 0.0));
    }

    #[test]
    fn median_filter_keeps_corners_and_removes_a_spike() {
        let mut v = vec![1.0f32; 25];
        v[12] = 100.0;
        let f = median_filter(&v, 5, 5, 1);
        assert_eq!(f[12], 1.0);
        assert_eq!(f[0], 1.0);
    }
}
