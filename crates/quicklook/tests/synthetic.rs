//! The quick-look against frames whose truth is known (tests/common/frames.rs): sky
//! level and noise, every injected star, its FWHM and elongation, saturation, and the
//! verdict's three causes.

mod common;

use common::frames::{Frame, Rng, grid_stars, random_field};
use teld_quicklook::{FailReason, Image, QuickLookError, Settings, quick_look};

const SKY: f64 = 1000.0;
const NOISE: f64 = 10.0;

fn frame(w: usize, h: usize, stars: Vec<common::frames::Star>, seed: u64) -> Frame {
    Frame { width: w, height: h, sky: SKY, noise: NOISE, stars, seed }
}

/// Isolated, bright (peak 100–2000σ) round stars of FWHM 3.5 px on a 48 px grid.
fn isolated(seed: u64, fwhm: (f64, f64, f64)) -> Frame {
    let mut rng = Rng::new(seed);
    let stars = grid_stars(1024, 1024, 48.0, fwhm, (2e4, 4e5), &mut rng);
    frame(1024, 1024, stars, seed)
}

fn run(f: &Frame) -> teld_quicklook::QuickLook {
    let px = f.render_u16();
    quick_look(&Image::new(&px, f.width, f.height).unwrap(), &Settings::default()).unwrap()
}

#[test]
fn background_and_noise_within_one_percent() {
    // 200 stars down to 2σ peaks: faint wings lift the clipped σ by ~0.2 % (600 such
    // stars on this area lift it by 1.1 %, for sep as for this crate).
    let mut rng = Rng::new(7);
    let f = frame(1024, 1024, random_field(1024, 1024, 200, 3.5, 300.0, &mut rng), 7);
    let q = run(&f);
    let s = &q.summary;
    // Rounding to whole ADU adds 1/12 ADU² of variance to the 100 ADU² of the sky.
    let noise = (NOISE * NOISE + 1.0 / 12.0).sqrt();
    assert!((s.background / SKY - 1.0).abs() < 0.01, "background {}", s.background);
    assert!((s.noise / noise - 1.0).abs() < 0.01, "noise {} vs {noise}", s.noise);
    // Tighter than the requirement: the mode of a flat sky is its mean.
    assert!((s.background - SKY).abs() < 0.2, "background {}", s.background);
}

#[test]
fn every_isolated_star_is_found_with_its_fwhm() {
    let f = isolated(11, (3.5, 3.5, 0.0));
    let q = run(&f);
    assert_eq!(q.summary.sources, f.stars.len(), "no star lost, no noise source");
    for star in &f.stars {
        let hit = q.sources.iter().find(|s| (s.x - star.x).hypot(s.y - star.y) < 0.3);
        let hit = hit.unwrap_or_else(|| panic!("star at ({:.1}, {:.1}) not found", star.x, star.y));
        assert!(hit.fwhm_px > 3.0 && hit.fwhm_px < 3.8, "{hit:?}");
    }
    let fwhm = q.summary.median_fwhm_px.unwrap();
    // Issue 6 asks for 5 %; the isophotal-cut correction gets within 2 %.
    assert!((fwhm / 3.5 - 1.0).abs() < 0.02, "median FWHM {fwhm}");
    assert!(q.summary.median_ellipticity.unwrap() < 0.05);
    assert!(q.verdict.pass, "{:?}", q.verdict);
    let json = serde_json::to_string(&q.summary).unwrap();
    assert!(json.contains("\"median_fwhm_px\""));
}

#[test]
fn fwhm_in_arcsec_from_the_plate_scale() {
    let f = isolated(12, (3.0, 3.0, 0.0));
    let px = f.render_u16();
    let settings = Settings { plate_scale_arcsec: Some(0.6), ..Settings::default() };
    let q = quick_look(&Image::new(&px, 1024, 1024).unwrap(), &settings).unwrap();
    let arcsec = q.summary.median_fwhm_arcsec.unwrap();
    assert!((arcsec / 1.8 - 1.0).abs() < 0.05, "{arcsec}″");
    assert!(q.verdict.pass);
}

#[test]
fn trailed_frame_is_flagged_trailing_with_its_elongation() {
    // Major 6 px, minor 3 px FWHM at 30°: ellipticity 0.5.
    let f = isolated(13, (6.0, 3.0, 30f64.to_radians()));
    let q = run(&f);
    let e = q.summary.median_ellipticity.unwrap();
    assert!((e - 0.5).abs() < 0.03, "ellipticity {e}");
    let theta =
        q.sources.iter().map(|s| s.theta.to_degrees()).sum::<f64>() / q.sources.len() as f64;
    assert!((theta - 30.0).abs() < 2.0, "theta {theta}");
    assert_eq!(q.verdict.reason, Some(FailReason::Trailing), "{:?}", q.verdict);
}

#[test]
fn defocused_frame_is_flagged_defocus() {
    let f = isolated(14, (12.0, 12.0, 0.0));
    let q = run(&f);
    let fwhm = q.summary.median_fwhm_px.unwrap();
    assert!((fwhm / 12.0 - 1.0).abs() < 0.05, "FWHM {fwhm}");
    assert_eq!(q.verdict.reason, Some(FailReason::Defocus), "{:?}", q.verdict);
}

#[test]
fn empty_and_cloudy_frames_are_flagged_clouds() {
    // Nothing but sky: an overcast night or a closed dome.
    let q = run(&frame(512, 512, Vec::new(), 15));
    assert!(q.summary.sources <= 1, "{} sources in pure noise", q.summary.sources);
    assert_eq!(q.verdict.reason, Some(FailReason::Clouds));

    // A clear field gives ~440 stars; through cloud only the brightest ten remain.
    let clear = isolated(16, (3.5, 3.5, 0.0));
    let thinned = Frame { stars: clear.stars[..10].to_vec(), ..clear.clone() };
    let px = thinned.render_u16();
    let mut settings = Settings::default();
    settings.limits.expected_sources = Some(clear.stars.len());
    let q = quick_look(&Image::new(&px, 1024, 1024).unwrap(), &settings).unwrap();
    assert_eq!(q.summary.sources, 10);
    assert_eq!(q.verdict.reason, Some(FailReason::Clouds), "{:?}", q.verdict);

    // Stars still there, but the sky four times its dark level: lit cloud.
    let bright = Frame { sky: 4.0 * SKY, ..clear };
    let px = bright.render_u16();
    let mut settings = Settings::default();
    settings.limits.dark_sky_background = Some(SKY);
    let q = quick_look(&Image::new(&px, 1024, 1024).unwrap(), &settings).unwrap();
    assert_eq!(q.verdict.reason, Some(FailReason::Clouds), "{:?}", q.verdict);
    assert!(q.verdict.detail.contains("background"));
}

#[test]
fn saturated_pixels_are_counted_and_their_stars_flagged() {
    let mut f = isolated(17, (3.5, 3.5, 0.0));
    for s in f.stars.iter_mut().take(5) {
        s.flux = 3e6; // peak ~230 000 ADU: clipped at 65535
    }
    let px = f.render_u16();
    let clipped = px.iter().filter(|&&p| p == u16::MAX).count() as u64;
    assert!(clipped > 5);
    let q = quick_look(&Image::new(&px, 1024, 1024).unwrap(), &Settings::default()).unwrap();
    assert_eq!(q.summary.saturated_pixels, clipped);
    assert!((q.summary.saturated_fraction - clipped as f64 / (1024.0 * 1024.0)).abs() < 1e-12);
    assert_eq!(q.sources.iter().filter(|s| s.saturated).count(), 5);
    // Saturated stars are flat-topped and wide: they stay out of the median.
    assert!((q.summary.median_fwhm_px.unwrap() / 3.5 - 1.0).abs() < 0.05);
}

#[test]
fn pixel_types_agree() {
    let f = isolated(18, (3.5, 3.5, 0.0));
    let px = f.render_u16();
    let as_f32: Vec<f32> = px.iter().map(|&p| f32::from(p)).collect();
    let as_i32: Vec<i32> = px.iter().map(|&p| i32::from(p)).collect();
    let s = Settings::default();
    let a = quick_look(&Image::new(&px, 1024, 1024).unwrap(), &s).unwrap();
    let b = quick_look(&Image::new(&as_f32, 1024, 1024).unwrap(), &s).unwrap();
    let c = quick_look(&Image::new(&as_i32, 1024, 1024).unwrap(), &s).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn degenerate_frames_give_an_answer_or_a_clear_error() {
    let s = Settings::default();
    // All zero and constant: background the constant, no noise, no source, clouds.
    for level in [0u16, 1234] {
        let px = vec![level; 300 * 200];
        let q = quick_look(&Image::new(&px, 300, 200).unwrap(), &s).unwrap();
        assert_eq!(q.summary.background, f64::from(level));
        assert_eq!(q.summary.noise, 0.0);
        assert_eq!(q.summary.sources, 0);
        assert_eq!(q.verdict.reason, Some(FailReason::Clouds));
    }
    // One pixel.
    let q = quick_look(&Image::new(&[5.0f32], 1, 1).unwrap(), &s).unwrap();
    assert_eq!(q.summary.background, 5.0);
    assert_eq!(q.summary.sources, 0);
    // A thin strip.
    let px: Vec<f32> = (0..1000).map(|i| (i % 3) as f32).collect();
    assert!(quick_look(&Image::new(&px, 1000, 1).unwrap(), &s).is_ok());
    // Not images.
    assert_eq!(
        Image::<u16>::new(&[], 0, 0).unwrap_err(),
        QuickLookError::Empty { width: 0, height: 0 }
    );
    assert!(matches!(
        Image::new(&[1u16, 2, 3], 2, 2).unwrap_err(),
        QuickLookError::SizeMismatch { expected: 4, got: 3, .. }
    ));
    let nan = vec![f32::NAN; 64 * 64];
    assert_eq!(
        quick_look(&Image::new(&nan, 64, 64).unwrap(), &s).unwrap_err(),
        QuickLookError::NoFinitePixels
    );
    // Saturated everywhere: every pixel counted, nothing detected.
    let full = vec![u16::MAX; 128 * 128];
    let q = quick_look(&Image::new(&full, 128, 128).unwrap(), &s).unwrap();
    assert_eq!(q.summary.saturated_fraction, 1.0);
}

#[test]
fn nan_pixels_are_ignored_not_fatal() {
    let f = isolated(19, (3.5, 3.5, 0.0));
    let mut px: Vec<f32> = f.render_u16().iter().map(|&p| f32::from(p)).collect();
    // A dead column and a scattering of NaN / inf pixels, away from the stars.
    for y in 0..1024 {
        px[y * 1024 + 500] = f32::NAN;
    }
    let mut rng = Rng::new(3);
    for _ in 0..1000 {
        let i = (rng.uniform() * px.len() as f64) as usize;
        px[i] = if rng.uniform() < 0.5 { f32::NAN } else { f32::INFINITY };
    }
    let q = quick_look(&Image::new(&px, 1024, 1024).unwrap(), &Settings::default()).unwrap();
    assert!(q.summary.non_finite_pixels >= 1024);
    assert!((q.summary.background / SKY - 1.0).abs() < 0.01);
    assert!(q.summary.sources as f64 >= 0.95 * f.stars.len() as f64, "{}", q.summary.sources);
    assert!((q.summary.median_fwhm_px.unwrap() / 3.5 - 1.0).abs() < 0.05);
}

#[test]
fn preview_of_a_frame() {
    let f = isolated(20, (3.5, 3.5, 0.0));
    let px = f.render_u16();
    let img = Image::new(&px, 1024, 1024).unwrap();
    let q = quick_look(&img, &Settings::default()).unwrap();
    let (png, w, h) =
        teld_quicklook::preview_png(&img, q.summary.background, q.summary.noise, 256).unwrap();
    assert_eq!((w, h), (256, 256));
    assert!(png.len() > 1000 && &png[1..4] == b"PNG");
}

#[test]
fn odd_frames_and_settings_never_panic() {
    // Seeded random small frames of every shape with hostile values and settings.
    let mut rng = Rng::new(99);
    for case in 0..300 {
        let w = 1 + (rng.uniform() * 70.0) as usize;
        let h = 1 + (rng.uniform() * 70.0) as usize;
        let px: Vec<f32> = (0..w * h)
            .map(|_| match (rng.uniform() * 10.0) as u32 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => -1e30,
                3 => 1e30,
                _ => (100.0 + 20.0 * rng.normal()) as f32,
            })
            .collect();
        let settings = Settings {
            mesh_px: (rng.uniform() * 80.0) as usize,
            mesh_filter: (rng.uniform() * 6.0) as usize,
            min_area: (rng.uniform() * 6.0) as usize,
            threshold_sigma: rng.uniform() * 4.0 - 0.5,
            ..Settings::default()
        };
        let img = Image::new(&px, w, h).unwrap();
        match quick_look(&img, &settings) {
            Ok(q) => {
                assert_eq!(q.summary.width, w);
                let _ =
                    teld_quicklook::preview_png(&img, q.summary.background, q.summary.noise, 16)
                        .unwrap();
            }
            Err(e) => assert_eq!(e, QuickLookError::NoFinitePixels, "case {case}: {w}×{h}"),
        }
    }
}
