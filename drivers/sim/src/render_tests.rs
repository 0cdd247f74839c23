//! Tests of image formation against the physics it claims: positions, PSF width,
//! background and noise levels, orientation. (Speed: `examples/bench_render.rs`.)

use super::*;
use crate::settings::CameraSettings;

/// A mid-galactic-latitude field (b ≈ +52°).
const FIELD: Icrs = Icrs { ra_deg: 150.0, dec_deg: 30.0 };

fn scene(pointing: Icrs, seed: u64) -> Scene {
    Scene {
        pointings: vec![pointing],
        duration_s: 60.0,
        light: true,
        open_fraction: 1.0,
        sky_mag_arcsec2: 20.8,
        transmission: 1.0,
        noise_seed: seed,
    }
}

fn median(v: &[u16]) -> f64 {
    let mut s = v.to_vec();
    s.sort_unstable();
    f64::from(s[s.len() / 2])
}

/// Standard deviation after clipping outliers beyond 5 MAD-σ, less the 1/12 ADU² that
/// rounding to whole ADU adds.
fn clipped_sigma(v: &[u16]) -> f64 {
    let m = median(v);
    let mut dev: Vec<f64> = v.iter().map(|&x| (f64::from(x) - m).abs()).collect();
    dev.sort_unstable_by(f64::total_cmp);
    let cut = 5.0 * 1.4826 * dev[dev.len() / 2].max(1.0);
    let kept: Vec<f64> = v.iter().map(|&x| f64::from(x)).filter(|x| (x - m).abs() < cut).collect();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    let var = kept.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / kept.len() as f64;
    (var - 1.0 / 12.0).sqrt()
}

/// Background-subtracted centroids of local maxima above `threshold` ADU over the
/// background, brightest first, with their peak height.
fn sources(img: &[u16], w: usize, h: usize, threshold: f64) -> Vec<(f64, f64, f64)> {
    let bg = median(img);
    let at = |x: usize, y: usize| f64::from(img[y * w + x]) - bg;
    let mut found = Vec::new();
    for y in 3..h - 3 {
        for x in 3..w - 3 {
            let v = at(x, y);
            if v < threshold {
                continue;
            }
            let is_peak = (y - 1..=y + 1)
                .all(|yy| (x - 1..=x + 1).all(|xx| (xx, yy) == (x, y) || at(xx, yy) < v));
            if !is_peak {
                continue;
            }
            let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
            for yy in y - 2..=y + 2 {
                for xx in x - 2..=x + 2 {
                    let f = at(xx, yy).max(0.0);
                    sx += f * xx as f64;
                    sy += f * yy as f64;
                    s += f;
                }
            }
            found.push((sx / s, sy / s, v));
        }
    }
    found.sort_by(|a, b| b.2.total_cmp(&a.2));
    found
}

#[test]
fn same_pointing_same_stars_whatever_the_noise() {
    let cfg = CameraSettings { width: 512, height: 512, ..Default::default() };
    let a = render(&cfg, &scene(FIELD, 1));
    let b = render(&cfg, &scene(FIELD, 2));
    assert_ne!(a, b, "noise differs");
    let sa = sources(&a, 512, 512, 500.0);
    let sb = sources(&b, 512, 512, 500.0);
    assert!(sa.len() >= 10, "{} bright sources", sa.len());
    for &(x, y, _) in sa.iter().take(20) {
        let nearest = sb.iter().map(|&(u, v, _)| (u - x).hypot(v - y)).fold(f64::MAX, f64::min);
        assert!(nearest < 0.15, "star at ({x:.2}, {y:.2}) moved by {nearest:.3} px");
    }
}

#[test]
fn background_and_noise_match_sky_and_read_noise() {
    // No stars (limit brighter than any star), so every pixel is sky + dark.
    let cfg = CameraSettings { width: 512, height: 512, limit_mag: -2.0, ..Default::default() };
    let img = render(&cfg, &scene(FIELD, 7));
    let sky_e = cfg.zero_point_e_per_s * 10f64.powf(-0.4 * 20.8) * 1.5 * 1.5 * 60.0;
    let e = sky_e + cfg.dark_e_per_s * 60.0;
    let want_level = cfg.bias_adu + e / cfg.gain_e_per_adu;
    let want_sigma = (e + cfg.read_noise_e.powi(2)).sqrt() / cfg.gain_e_per_adu;
    let (level, sigma) = (median(&img), clipped_sigma(&img));
    assert!(
        (level - want_level).abs() < 0.02 * (want_level - cfg.bias_adu),
        "{level} vs {want_level}"
    );
    assert!((sigma / want_sigma - 1.0).abs() < 0.03, "{sigma} vs {want_sigma}");

    // A 0.1 s frame is read-noise limited: few electrons, Poisson-sampled.
    let short = Scene { duration_s: 0.1, ..scene(FIELD, 8) };
    let img = render(&cfg, &short);
    let e = (sky_e / 600.0) + cfg.dark_e_per_s * 0.1;
    let want_sigma = (e + cfg.read_noise_e.powi(2)).sqrt() / cfg.gain_e_per_adu;
    let mean = img.iter().map(|&v| f64::from(v)).sum::<f64>() / img.len() as f64;
    assert!((mean - cfg.bias_adu - e / cfg.gain_e_per_adu).abs() < 0.05, "{mean}");
    let sigma = clipped_sigma(&img);
    assert!((sigma / want_sigma - 1.0).abs() < 0.03, "{sigma} vs {want_sigma}");
}

#[test]
fn bright_star_width_matches_the_seeing() {
    // 0.5″/px samples 1.8″ seeing well; the measurement corrects for pixel size anyway.
    let cfg = CameraSettings { plate_scale_arcsec: 0.5, ..Default::default() };
    let img = render(&cfg, &scene(FIELD, 3));
    let bg = median(&img);
    let all = sources(&img, 1024, 1024, 200.0);
    let isolated = all.iter().find(|&&(x, y, peak)| {
        peak < 40_000.0
            && (20.0..1004.0).contains(&x)
            && (20.0..1004.0).contains(&y)
            && all.iter().all(|&(u, v, _)| (u, v) == (x, y) || (u - x).hypot(v - y) > 20.0)
    });
    let &(cx, cy, peak) = isolated.expect("an isolated bright star");
    assert!(peak > 1000.0, "bright enough to measure: {peak}");
    let (mut s, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    let r = 10i64;
    for y in (cy.round() as i64 - r)..=(cy.round() as i64 + r) {
        for x in (cx.round() as i64 - r)..=(cx.round() as i64 + r) {
            let f = f64::from(img[y as usize * 1024 + x as usize]) - bg;
            s += f;
            sxx += f * (x as f64 - cx).powi(2);
            syy += f * (y as f64 - cy).powi(2);
        }
    }
    // Sheppard's correction: a pixel adds 1/12 px² to the variance of the true PSF.
    let sigma = ((sxx + syy) / (2.0 * s) - 1.0 / 12.0).sqrt();
    let fwhm_arcsec = sigma * 2.354_82 * cfg.plate_scale_arcsec;
    eprintln!("star peak {peak} ADU: FWHM {fwhm_arcsec:.3}″");
    assert!((fwhm_arcsec / 1.8 - 1.0).abs() < 0.15, "FWHM {fwhm_arcsec:.2}″ vs seeing 1.8″");
}

#[test]
fn star_count_on_the_detector_is_as_designed() {
    let cfg = CameraSettings { limit_mag: 18.0, ..Default::default() };
    let sc = scene(FIELD, 0);
    let on_chip = field_stars(&cfg, &sc)
        .iter()
        .filter_map(|s| star_pixel(&cfg, FIELD, s.ra_deg, s.dec_deg))
        .filter(|&(x, y)| (-0.5..1023.5).contains(&x) && (-0.5..1023.5).contains(&y))
        .count() as f64;
    let side_deg = 1024.0 * 1.5 / 3600.0;
    let b = starfield::galactic_latitude_deg(FIELD.ra_deg, FIELD.dec_deg);
    let want = starfield::density_per_deg2(b, 18.0) * side_deg * side_deg;
    assert!((on_chip / want - 1.0).abs() < 0.25, "{on_chip} stars on chip, expected ≈ {want:.0}");
    // And a 60 s frame shows most of them well above the noise.
    let img = render(&cfg, &sc);
    let detected = sources(&img, 1024, 1024, 150.0).len() as f64;
    assert!(detected > 0.3 * want && detected < 1.5 * want, "{detected} detected of {want:.0}");
}

#[test]
fn dark_frames_have_no_stars() {
    let cfg = CameraSettings { width: 512, height: 512, ..Default::default() };
    let img = render(&cfg, &Scene { light: false, ..scene(FIELD, 4) });
    let e = cfg.dark_e_per_s * 60.0;
    let sigma = (e + cfg.read_noise_e.powi(2)).sqrt() / cfg.gain_e_per_adu;
    let level = median(&img);
    assert!((level - cfg.bias_adu - e / cfg.gain_e_per_adu).abs() < 1.0, "{level}");
    let max = f64::from(*img.iter().max().unwrap());
    assert!(max < level + 6.5 * sigma, "max {max}, level {level}, σ {sigma}");
    // A light frame with the dome shut is just as dark.
    let shut = render(&cfg, &Scene { open_fraction: 0.0, ..scene(FIELD, 4) });
    assert!(f64::from(*shut.iter().max().unwrap()) < level + 6.5 * sigma);
}

#[test]
fn moving_the_pointing_moves_stars_the_documented_way() {
    let cfg = CameraSettings { width: 512, height: 512, ..Default::default() };
    let n = 12.0;
    let step_deg = n * cfg.plate_scale_arcsec / 3600.0;
    let base = sources(&render(&cfg, &scene(FIELD, 5)), 512, 512, 500.0);
    // Pointing north by N pixels: the sky (north = +y) slides down, stars go to −y.
    let north = Icrs { dec_deg: FIELD.dec_deg + step_deg, ..FIELD };
    // Pointing east by N pixels: east is −x, so stars slide to +x.
    let east = Icrs { ra_deg: FIELD.ra_deg + step_deg / FIELD.dec_deg.to_radians().cos(), ..FIELD };
    for (pointing, dx, dy) in [(north, 0.0, -n), (east, n, 0.0)] {
        let moved = sources(&render(&cfg, &scene(pointing, 6)), 512, 512, 500.0);
        let mut matched = 0;
        for &(x, y, _) in base.iter().take(15) {
            let (tx, ty) = (x + dx, y + dy);
            if !(5.0..507.0).contains(&tx) || !(5.0..507.0).contains(&ty) {
                continue;
            }
            let d = moved.iter().map(|&(u, v, _)| (u - tx).hypot(v - ty)).fold(f64::MAX, f64::min);
            assert!(d < 0.3, "star at ({x:.1},{y:.1}) not found {d:.2} px from ({tx:.1},{ty:.1})");
            matched += 1;
        }
        assert!(matched >= 5, "{matched}");
    }
}

#[test]
fn a_moving_mount_trails_the_stars() {
    let cfg = CameraSettings { width: 256, height: 256, ..Default::default() };
    let step = 30.0 * 1.5 / 3600.0; // 30 px of declination over the exposure
    let pointings = (0..60)
        .map(|i| Icrs { dec_deg: FIELD.dec_deg + step * (i as f64 + 0.5) / 60.0, ..FIELD })
        .collect();
    let trailed = expected_electrons(&cfg, &Scene { pointings, ..scene(FIELD, 0) });
    let still = expected_electrons(&cfg, &scene(FIELD, 0));
    let peak = |v: &[f32]| v.iter().copied().fold(0f32, f32::max);
    assert!(peak(&trailed) < 0.2 * peak(&still), "light spread along the trail");
    let total = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>();
    assert!(total(&trailed) > 0.8 * total(&still), "but not lost");
}

#[test]
fn pixel_integrated_psf_conserves_flux() {
    let mut img = vec![0f32; 64 * 64];
    add_gaussian(&mut img, 64, 64, 31.3, 30.8, 0.51, 1.0e6);
    let total: f64 = img.iter().map(|&v| f64::from(v)).sum();
    assert!((total / 1.0e6 - 1.0).abs() < 1e-4, "{total}");
    assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7 && (normal_cdf(1.0) - 0.841_344_7).abs() < 1e-6);
}

// Render speed is measured by `examples/bench_render.rs`, not asserted here.

#[test]
fn full_frame_has_the_sensor_size_and_stars() {
    let cfg = CameraSettings::default();
    let img = render(&cfg, &scene(FIELD, 9));
    assert_eq!(img.len(), 1024 * 1024);
    let mut sorted = img.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    assert!(*sorted.last().unwrap() > median.saturating_add(1000), "no bright sources");
}

#[test]
fn worst_case_trailed_frame_renders_completely() {
    // The galactic centre (≈ 8× the stars) with the mount not tracking for 60 s: the
    // stars trail 600 px, drawn in 0.25 px slices.
    let cfg = CameraSettings::default();
    let centre = Icrs { ra_deg: 266.4, dec_deg: -28.9 };
    let drift_deg = 60.0 * 15.041 / 3600.0;
    let pointings = (0..2400)
        .map(|i| Icrs { ra_deg: centre.ra_deg + drift_deg * (i as f64 + 0.5) / 2400.0, ..centre })
        .collect();
    let img = render(&cfg, &Scene { pointings, ..scene(centre, 10) });
    assert_eq!(img.len(), 1024 * 1024);
}
