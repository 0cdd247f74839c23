//! Synthetic frames with known truth: Gaussian stars of given FWHM, ellipticity and
//! flux on a flat sky with Gaussian noise, from a seeded generator so every run draws
//! the same pixels. Stars are sampled at pixel centres (not integrated over the
//! pixel), so their second moments are exactly σ² and the FWHM truth is exact.

#![allow(dead_code)]

/// splitmix64: small, seeded, good enough for test noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

pub const FWHM_PER_SIGMA: f64 = 2.354_820_045_030_949;

#[derive(Debug, Clone, Copy)]
pub struct Star {
    pub x: f64,
    pub y: f64,
    /// Total counts, ADU.
    pub flux: f64,
    /// FWHM along the major and minor axes, px.
    pub fwhm_major: f64,
    pub fwhm_minor: f64,
    /// Major axis angle, radians from +x.
    pub theta: f64,
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub sky: f64,
    /// Noise σ of the sky, ADU; stars add Poisson noise at one ADU per count.
    pub noise: f64,
    pub stars: Vec<Star>,
    pub seed: u64,
}

impl Frame {
    /// Noise-free expected values.
    pub fn expected(&self) -> Vec<f64> {
        let (w, h) = (self.width, self.height);
        let mut img = vec![self.sky; w * h];
        for s in &self.stars {
            let sa = s.fwhm_major / FWHM_PER_SIGMA;
            let sb = s.fwhm_minor / FWHM_PER_SIGMA;
            let amp = s.flux / (std::f64::consts::TAU * sa * sb);
            let (c, sn) = (s.theta.cos(), s.theta.sin());
            let r = (6.0 * sa).ceil() as i64 + 1;
            let (cx, cy) = (s.x.round() as i64, s.y.round() as i64);
            for y in (cy - r).max(0)..=(cy + r).min(h as i64 - 1) {
                for x in (cx - r).max(0)..=(cx + r).min(w as i64 - 1) {
                    let (dx, dy) = (x as f64 - s.x, y as f64 - s.y);
                    let u = dx * c + dy * sn;
                    let v = -dx * sn + dy * c;
                    let e = 0.5 * (u * u / (sa * sa) + v * v / (sb * sb));
                    img[y as usize * w + x as usize] += amp * (-e).exp();
                }
            }
        }
        img
    }

    /// The frame as a 16-bit camera reads it: noisy, rounded, clipped at 65535.
    pub fn render_u16(&self) -> Vec<u16> {
        let mut rng = Rng::new(self.seed);
        let n2 = self.noise * self.noise;
        self.expected()
            .into_iter()
            .map(|m| {
                let var = n2 + (m - self.sky).max(0.0);
                (m + var.sqrt() * rng.normal()).round().clamp(0.0, 65535.0) as u16
            })
            .collect()
    }
}

/// Round stars of one FWHM on a grid `spacing` px apart (jittered by up to a pixel),
/// fluxes log-uniform in `flux_lo..flux_hi`: isolated by construction.
pub fn grid_stars(
    width: usize,
    height: usize,
    spacing: f64,
    fwhm: (f64, f64, f64),
    flux: (f64, f64),
    rng: &mut Rng,
) -> Vec<Star> {
    let mut stars = Vec::new();
    let margin = spacing / 2.0;
    let mut y = margin;
    while y < height as f64 - margin / 2.0 {
        let mut x = margin;
        while x < width as f64 - margin / 2.0 {
            let f = flux.0 * (flux.1 / flux.0).powf(rng.uniform());
            stars.push(Star {
                x: x + rng.uniform() - 0.5,
                y: y + rng.uniform() - 0.5,
                flux: f,
                fwhm_major: fwhm.0,
                fwhm_minor: fwhm.1,
                theta: fwhm.2,
            });
            x += spacing;
        }
        y += spacing;
    }
    stars
}

/// A field like a real one: `n` round stars at random places, fluxes from a power law
/// (many faint, few bright, as star counts rise ~×2.5 per magnitude).
pub fn random_field(
    width: usize,
    height: usize,
    n: usize,
    fwhm: f64,
    flux_lo: f64,
    rng: &mut Rng,
) -> Vec<Star> {
    (0..n)
        .map(|_| Star {
            x: 8.0 + rng.uniform() * (width as f64 - 16.0),
            y: 8.0 + rng.uniform() * (height as f64 - 16.0),
            // N(>F) ∝ F^−0.6 (log N rises 0.4·0.6… per magnitude), capped at 10⁴·lo.
            flux: flux_lo * (1.0 - rng.uniform() * (1.0 - 1e-4f64.powf(0.6))).powf(-1.0 / 0.6),
            fwhm_major: fwhm,
            fwhm_minor: fwhm,
            theta: 0.0,
        })
        .collect()
}
