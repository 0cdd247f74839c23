//! Brightness of the sky the camera and the sky-quality meter see: the dark-sky value
//! from the settings, brightened by twilight as the Sun comes up, and the atmosphere's
//! extinction of starlight.

use teld_astro::Horizontal;

/// Sun altitude at which twilight adds as much light as the dark night sky. Measured
/// twilight curves (Patat et al. 2006, Paranal) show the sky about one magnitude above
/// its dark value with the Sun 15° down.
const TWILIGHT_EQUALS_DARK_SUN_ALT_DEG: f64 = -15.5;
/// Degrees of Sun altitude per factor 10 of twilight brightness: the zenith sky
/// brightens by ≈ 0.8 mag per degree between −18° and −6°.
const TWILIGHT_DEG_PER_DECADE: f64 = 3.0;
/// Above this the model (and the sky) just saturates everything.
const TWILIGHT_MAX_SUN_ALT_DEG: f64 = 10.0;

/// Surface brightness of the zenith sky in mag/arcsec² for a dark-sky value
/// `dark_mag` and the Sun at `sun_alt_deg`.
pub fn sky_mag_arcsec2(dark_mag: f64, sun_alt_deg: f64) -> f64 {
    dark_mag - 2.5 * (1.0 + twilight_ratio(sun_alt_deg)).log10()
}

/// Twilight light over dark-sky light.
fn twilight_ratio(sun_alt_deg: f64) -> f64 {
    let h = sun_alt_deg.min(TWILIGHT_MAX_SUN_ALT_DEG);
    10f64.powf((h - TWILIGHT_EQUALS_DARK_SUN_ALT_DEG) / TWILIGHT_DEG_PER_DECADE)
}

/// Fraction of a star's light that survives the atmosphere towards `pointing`, relative
/// to the zenith (the zero point is defined at airmass 1). Below the horizon the
/// telescope sees the ground, and nothing of the star.
pub fn transmission(pointing: Horizontal, extinction_mag_per_airmass: f64) -> f64 {
    match pointing.airmass() {
        Some(x) => 10f64.powf(-0.4 * extinction_mag_per_airmass * (x - 1.0)),
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dark_at_night_bright_in_twilight() {
        let dark = 20.8;
        assert!((sky_mag_arcsec2(dark, -40.0) - dark).abs() < 1e-6);
        assert!((sky_mag_arcsec2(dark, -18.0) - dark).abs() < 0.15);
        let m15 = sky_mag_arcsec2(dark, -15.0);
        assert!((dark - m15 - 1.0).abs() < 0.3, "{m15}");
        let m12 = sky_mag_arcsec2(dark, -12.0);
        assert!((17.0..18.5).contains(&m12), "{m12}");
        let m6 = sky_mag_arcsec2(dark, -6.0);
        assert!((12.0..14.0).contains(&m6), "{m6}");
    }

    #[test]
    fn extinction_is_relative_to_zenith() {
        let zenith = Horizontal { alt_deg: 90.0, az_deg: 0.0 };
        assert!((transmission(zenith, 0.15) - 1.0).abs() < 1e-3);
        let low = Horizontal { alt_deg: 30.0, az_deg: 0.0 };
        assert!((transmission(low, 0.15) - 10f64.powf(-0.4 * 0.15)).abs() < 0.01);
        assert_eq!(transmission(Horizontal { alt_deg: -1.0, az_deg: 0.0 }, 0.15), 0.0);
    }
}
