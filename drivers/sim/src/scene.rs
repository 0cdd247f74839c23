//! What the camera saw during an exposure, gathered from the other devices' histories
//! when the exposure ends: where the mount pointed (sliced finely enough to draw
//! trails if it moved), how far the dome shutter was open, how bright the sky was.

use hifitime::{Duration, Epoch};
use teld_astro::{Icrs, Site};

/// Sun altitude assumed when it cannot be computed (a date outside 1901–2099): a dark
/// sky, so a simulated frame still renders.
pub const SUN_ALT_UNKNOWN_DEG: f64 = -90.0;

use crate::dome::Dome;
use crate::mount::Mount;
use crate::render::Scene;
use crate::settings::CameraSettings;
use crate::sky;
use crate::starfield::splitmix64;

/// Samples of the mount's path used to measure how far it moved.
const PATH_SAMPLES: usize = 64;
/// Longest step between slices of a trail: a quarter pixel keeps it smooth.
const SLICE_STEP_PX: f64 = 0.25;
/// Longest trail drawn, in pixels. Beyond a frame's width of motion (an exposure
/// during a slew) each star crosses the detector in a small fraction of the exposure
/// and leaves a streak far below the sky noise, so only the sky is rendered.
const MAX_TRAIL_PX: f64 = 1024.0;
/// Below this total motion the mount counts as still (rounding in coordinate chains).
const STILL_PX: f64 = 0.05;

/// Midpoints of `n` equal slices of `[start, end]`.
fn slice_times(start: Epoch, end: Epoch, n: usize) -> impl Iterator<Item = Epoch> {
    let span = (end - start).to_seconds();
    (0..n).map(move |i| start + Duration::from_seconds(span * (i as f64 + 0.5) / n as f64))
}

pub fn capture(
    mount: &Mount,
    dome: &Dome,
    site: &Site,
    cfg: &CameraSettings,
    start: Epoch,
    end: Epoch,
    light: bool,
) -> Scene {
    let duration_s = (end - start).to_seconds();
    let mid = start + Duration::from_seconds(duration_s / 2.0);
    let path: Vec<Icrs> =
        slice_times(start, end, PATH_SAMPLES).map(|t| mount.pointing_at(t).0).collect();
    let path_px = path.windows(2).map(|w| w[0].separation_deg(w[1])).sum::<f64>() * 3600.0
        / cfg.plate_scale_arcsec;
    let (centre, altaz) = mount.pointing_at(mid);
    let pointings = if path_px < STILL_PX {
        vec![centre]
    } else if path_px > MAX_TRAIL_PX {
        Vec::new()
    } else {
        let slices = ((path_px / SLICE_STEP_PX).ceil() as usize).max(1);
        slice_times(start, end, slices).map(|t| mount.pointing_at(t).0).collect()
    };
    // Light reaches the detector only through an open shutter and from above the
    // horizon (below it the telescope looks at the ground or the dome wall).
    let open_fraction = slice_times(start, end, PATH_SAMPLES)
        .map(|t| if mount.pointing_at(t).1.alt_deg > 0.0 { dome.open_fraction(t) } else { 0.0 })
        .sum::<f64>()
        / PATH_SAMPLES as f64;
    let sun_alt = teld_astro::sun::altitude_deg(site, mid).unwrap_or(SUN_ALT_UNKNOWN_DEG);
    let p = centre;
    let noise_seed = splitmix64(
        start.to_tai_seconds().to_bits()
            ^ splitmix64(duration_s.to_bits())
            ^ splitmix64(p.ra_deg.to_bits() ^ p.dec_deg.to_bits().rotate_left(17))
            ^ u64::from(light),
    );
    Scene {
        pointings,
        duration_s,
        light,
        open_fraction,
        sky_mag_arcsec2: sky::sky_mag_arcsec2(cfg.sky_mag_arcsec2, sun_alt),
        transmission: sky::transmission(altaz, cfg.extinction_mag_per_airmass),
        noise_seed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{DomeSettings, MountSettings};

    fn site() -> Site {
        Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
    }

    fn t(s: f64) -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 25, 0, 0, 0, 0) + Duration::from_seconds(s)
    }

    /// A mount tracking a target at Dec 20 on the meridian, and a dome that opened.
    fn observing() -> (Mount, Dome) {
        let mut m = Mount::new(site(), MountSettings::default(), t(0.0));
        m.unpark(t(0.0));
        m.set_tracking(t(0.0), true).unwrap();
        let lst = teld_astro::sidereal::lmst_deg(teld_astro::jd_utc(t(0.0)), site().longitude_deg);
        m.slew_to(t(0.0), ((lst / 15.0) * 1e6).round() / 1e6, 20.0).unwrap();
        let mut d = Dome::new(DomeSettings::default(), t(0.0));
        d.open_shutter(t(0.0));
        m.settle(t(100.0));
        d.settle(t(100.0));
        (m, d)
    }

    #[test]
    fn tracking_exposure_has_one_pointing_and_full_light() {
        let (m, d) = observing();
        let cfg = CameraSettings::default();
        let s = capture(&m, &d, &site(), &cfg, t(100.0), t(160.0), true);
        assert_eq!(s.pointings.len(), 1);
        assert!((s.open_fraction - 1.0).abs() < 1e-12);
        assert!((s.sky_mag_arcsec2 - cfg.sky_mag_arcsec2).abs() < 0.01, "midnight is dark");
        assert!(s.transmission > 0.9 && s.transmission <= 1.0);
        let again = capture(&m, &d, &site(), &cfg, t(100.0), t(160.0), true);
        assert_eq!(s.noise_seed, again.noise_seed, "deterministic");
        let later = capture(&m, &d, &site(), &cfg, t(200.0), t(260.0), true);
        assert_ne!(s.noise_seed, later.noise_seed, "each frame has its own noise");
    }

    #[test]
    fn exposure_during_slew_and_shutter_motion() {
        let (m, d) = observing();
        let cfg = CameraSettings::default();
        // During the first 30 s the mount slews and the shutter is half-way open.
        let s = capture(&m, &d, &site(), &cfg, t(0.0), t(30.0), true);
        assert!(s.pointings.is_empty(), "a long slew smears the stars out");
        assert!(s.open_fraction < 0.3, "{}", s.open_fraction);
        // The last second of the slew, decelerating: a trail of a few hundred pixels.
        let s = capture(&m, &d, &site(), &cfg, t(61.0), t(62.0), true);
        let n = s.pointings.len();
        assert!(n > 100 && n as f64 <= MAX_TRAIL_PX / SLICE_STEP_PX, "{n} slices");
    }

    #[test]
    fn parked_mount_looks_at_the_ground() {
        let m = Mount::new(site(), MountSettings::default(), t(0.0));
        let mut d = Dome::new(DomeSettings::default(), t(0.0));
        d.open_shutter(t(0.0));
        d.settle(t(100.0));
        let s = capture(&m, &d, &site(), &CameraSettings::default(), t(100.0), t(110.0), true);
        assert_eq!(s.open_fraction, 0.0);
    }
}
