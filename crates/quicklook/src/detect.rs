//! Source detection in one pass over the frame, row by row: subtract the background,
//! smooth with sep's default 3×3 kernel (1 2 1 / 2 4 2 / 1 2 1, normalised), keep the
//! pixels above `threshold`, and join them into 8-connected components with a
//! run-length union-find. Each component accumulates its moments as it grows, so no
//! label image and no second pass are needed; merging two components adds their sums.
//!
//! Only three background-subtracted rows are alive at a time, which keeps the working
//! set in cache for a 4096-px-wide frame. The saturated and non-finite pixels of the
//! whole frame are counted in the same pass.

use crate::background::Background;
use crate::pixel::{Image, Pixel};

/// Running sums of one connected component. Weights `w` are the smoothed values, as
/// sep weights its moments (less noisy than the raw ones).
#[derive(Debug, Clone, Copy, Default)]
pub struct Blob {
    pub npix: usize,
    pub w: f64,
    pub wx: f64,
    pub wy: f64,
    pub wxx: f64,
    pub wyy: f64,
    pub wxy: f64,
    /// Sum of the background-subtracted raw values (sep's `flux`).
    pub flux: f64,
    /// Highest background-subtracted raw value (sep's `peak`).
    pub peak: f32,
    /// Highest smoothed value (sep's `cpeak`): sets how much of the profile the
    /// isophote cuts off (see `source`).
    pub smooth_peak: f32,
    pub saturated: bool,
}

impl Blob {
    fn add(&mut self, x: usize, y: usize, smooth: f32, raw: f32, saturated: bool) {
        let (x, y, w) = (x as f64, y as f64, f64::from(smooth));
        self.npix += 1;
        self.w += w;
        self.wx += w * x;
        self.wy += w * y;
        self.wxx += w * x * x;
        self.wyy += w * y * y;
        self.wxy += w * x * y;
        self.flux += f64::from(raw);
        self.peak = self.peak.max(raw);
        self.smooth_peak = self.smooth_peak.max(smooth);
        self.saturated |= saturated;
    }

    fn merge(&mut self, o: &Blob) {
        self.npix += o.npix;
        self.w += o.w;
        self.wx += o.wx;
        self.wy += o.wy;
        self.wxx += o.wxx;
        self.wyy += o.wyy;
        self.wxy += o.wxy;
        self.flux += o.flux;
        self.peak = self.peak.max(o.peak);
        self.smooth_peak = self.smooth_peak.max(o.smooth_peak);
        self.saturated |= o.saturated;
    }
}

/// What one pass over the frame found.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// Components of at least `min_area` pixels, in order of their first pixel.
    pub blobs: Vec<Blob>,
    pub saturated_pixels: u64,
    pub non_finite_pixels: u64,
}

/// A run of detected pixels in one row and the component it belongs to.
#[derive(Debug, Clone, Copy)]
struct Run {
    x0: usize,
    x1: usize,
    label: usize,
}

/// Union-find over component labels, holding each root's sums.
#[derive(Default)]
struct Components {
    parent: Vec<usize>,
    blob: Vec<Blob>,
}

impl Components {
    fn fresh(&mut self) -> usize {
        self.parent.push(self.parent.len());
        self.blob.push(Blob {
            peak: f32::NEG_INFINITY,
            smooth_peak: f32::NEG_INFINITY,
            ..Blob::default()
        });
        self.parent.len() - 1
    }

    fn root(&mut self, mut l: usize) -> usize {
        while self.parent[l] != l {
            self.parent[l] = self.parent[self.parent[l]];
            l = self.parent[l];
        }
        l
    }

    /// Joins two components; the lower label (the earlier one) stays the root.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return ra;
        }
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[gone] = keep;
        let g = self.blob[gone];
        self.blob[keep].merge(&g);
        keep
    }
}

/// Scans `img`, returns the components of at least `min_area` pixels whose smoothed
/// background-subtracted value exceeds `threshold` (ADU).
pub fn detect<P: Pixel>(
    img: &Image<'_, P>,
    bkg: &Background,
    threshold: f32,
    min_area: usize,
    saturation: f32,
) -> Detection {
    let (w, h) = (img.width(), img.height());
    let mut out = Detection::default();
    let mut rows = Rows::new(w);
    let mut smooth = vec![0f32; w];
    let mut comps = Components::default();
    let mut prev: Vec<Run> = Vec::new();
    let mut cur: Vec<Run> = Vec::new();

    // Slots: (y−1) % 3, y % 3, (y+1) % 3; row −1 is zeros.
    rows.load(img, bkg, 0, 0, saturation, &mut out);
    for y in 0..h {
        let (sp, sc, sn) = ((y + 2) % 3, y % 3, (y + 1) % 3);
        rows.load(img, bkg, y + 1, sn, saturation, &mut out);
        let (hp, hc, hn) = (&rows.hs[sp], &rows.hs[sc], &rows.hs[sn]);
        for (x, o) in smooth.iter_mut().enumerate() {
            *o = (hp[x] + 2.0 * hc[x] + hn[x]) * (1.0 / 16.0);
        }
        // Runs of this row, each joined to the runs of the previous row it touches
        // (8-connectivity: overlap after widening by one pixel).
        cur.clear();
        let mut x = 0;
        let mut j = 0;
        while x < w {
            if smooth[x] <= threshold {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < w && smooth[x] > threshold {
                x += 1;
            }
            let x1 = x - 1;
            let mut label = usize::MAX;
            while j < prev.len() && prev[j].x1 + 1 < x0 {
                j += 1;
            }
            let mut k = j;
            while k < prev.len() && prev[k].x0 <= x1 + 1 {
                label = if label == usize::MAX {
                    comps.root(prev[k].label)
                } else {
                    comps.union(label, prev[k].label)
                };
                k += 1;
            }
            if label == usize::MAX {
                label = comps.fresh();
            }
            let blob = &mut comps.blob[label];
            let span =
                smooth[x0..=x1].iter().zip(&rows.sub[sc][x0..=x1]).zip(&rows.sat[sc][x0..=x1]);
            for (i, ((&f, &raw), &sat)) in span.enumerate() {
                blob.add(x0 + i, y, f, raw, sat);
            }
            cur.push(Run { x0, x1, label });
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    for l in 0..comps.parent.len() {
        if comps.parent[l] == l && comps.blob[l].npix >= min_area {
            out.blobs.push(comps.blob[l]);
        }
    }
    out
}

/// Ring of background-subtracted rows y−1, y, y+1 in slots `y % 3`, their horizontal
/// smoothing and saturation flags. Rows outside the frame are zeros: 0 is the best
/// guess of a background-subtracted pixel (sep's choice too).
struct Rows {
    sub: [Vec<f32>; 3],
    hs: [Vec<f32>; 3],
    sat: [Vec<bool>; 3],
    bkg_row: Vec<f32>,
}

impl Rows {
    fn new(w: usize) -> Self {
        Self {
            sub: [vec![0.0; w], vec![0.0; w], vec![0.0; w]],
            hs: [vec![0.0; w], vec![0.0; w], vec![0.0; w]],
            sat: [vec![false; w], vec![false; w], vec![false; w]],
            bkg_row: vec![0.0; w],
        }
    }

    fn load<P: Pixel>(
        &mut self,
        img: &Image<'_, P>,
        bkg: &Background,
        y: usize,
        slot: usize,
        saturation: f32,
        out: &mut Detection,
    ) {
        if y >= img.height() {
            self.sub[slot].fill(0.0);
            self.hs[slot].fill(0.0);
            self.sat[slot].fill(false);
            return;
        }
        bkg.row_into(y, &mut self.bkg_row);
        let (s, sr) = (&mut self.sub[slot], &mut self.sat[slot]);
        for (((o, so), &p), &b) in
            s.iter_mut().zip(sr.iter_mut()).zip(img.row(y)).zip(&self.bkg_row)
        {
            let v = p.to_f32();
            if v.is_finite() {
                *so = v >= saturation;
                out.saturated_pixels += u64::from(*so);
                *o = v - b;
            } else {
                out.non_finite_pixels += 1;
                *so = false;
                *o = 0.0;
            }
        }
        smooth_row(&self.sub[slot], &mut self.hs[slot]);
    }
}

/// Horizontal 1-2-1 smoothing with zeros beyond the edges.
fn smooth_row(s: &[f32], out: &mut [f32]) {
    let w = s.len();
    if w == 1 {
        out[0] = 2.0 * s[0];
        return;
    }
    out[0] = 2.0 * s[0] + s[1];
    for x in 1..w - 1 {
        out[x] = s[x - 1] + 2.0 * s[x] + s[x + 1];
    }
    out[w - 1] = s[w - 2] + 2.0 * s[w - 1];
}
