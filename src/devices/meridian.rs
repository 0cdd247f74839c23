//! Meridian flips of German equatorial mounts. On the west side of the pier (looking
//! east, ASCOM pierWest) such a mount tracks a target only `meridian_limit_deg` of hour
//! angle past the meridian before the tube meets the pier; to go on, it slews to the
//! same target again and comes down on the other side. teld plans the flip from the
//! span it checked, and verifies it from the pier side the mount reports afterwards.

use hifitime::Epoch;
use teld_driver_protocol::PierSide;
use teld_driver_protocol::time::format_utc_digits;

use super::span::{SPAN_STEP_S, Span};
use super::{InterlockError, Interlocks};
use crate::config::MountType;

/// Hour angle past the meridian a flip waits for: a slew to a target just west of the
/// meridian lands on the east side (ASCOM DestinationSideOfPier), and a quarter of a
/// degree (one minute) covers the difference between a controller's own coordinates
/// and teld's.
pub const FLIP_MIN_HA_DEG: f64 = 0.25;

/// Degrees of hour angle the sky turns per second.
pub const SIDEREAL_DEG_PER_S: f64 = 360.0 / 86_164.090_5;

/// The pier side a German mount takes for a target at `ha_deg` (ASCOM
/// DestinationSideOfPier): looking west of the meridian from pierEast, east of it from
/// pierWest.
pub fn destination_side(ha_deg: f64) -> PierSide {
    if ha_deg >= 0.0 { PierSide::East } else { PierSide::West }
}

impl Interlocks {
    /// When a German mount on `side` must flip during `span`: `None` if it need not
    /// (not German, already on the east side, or the span ends before the limit), else
    /// the last sampled instant before the limit. Refuses a span that needs a flip the
    /// mount may not make, and a German mount that cannot say where it is.
    pub fn flip_deadline(
        &self,
        span: &Span,
        side: PierSide,
    ) -> Result<Option<Epoch>, InterlockError> {
        if self.mount.kind != MountType::German {
            return Ok(None);
        }
        match side {
            PierSide::East => return Ok(None),
            PierSide::Unknown => return Err(InterlockError::PierSideUnknown),
            PierSide::West => {}
        }
        let limit = self.mount.meridian_limit_deg;
        let Some(k) = span.samples.iter().position(|(_, o)| o.ha_deg > limit) else {
            return Ok(None);
        };
        if !self.mount.meridian_flip {
            return Err(InterlockError::MeridianLimit {
                at: format_utc_digits(span.samples[k].0, 0),
                limit_deg: limit,
            });
        }
        // The sample before the crossing is at most SPAN_STEP_S earlier, still inside.
        let deadline = span.samples[k.saturating_sub(1)].0;
        debug_assert!(k == 0 || (span.samples[k].0 - deadline).to_seconds() <= SPAN_STEP_S);
        Ok(Some(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MountGeometry;
    use crate::devices::interlock::tests::locks;
    use crate::devices::span::Track;
    use hifitime::Duration;
    use teld_astro::Icrs;

    fn german(flip: bool) -> Interlocks {
        let mut l = locks();
        l.mount =
            MountGeometry { kind: MountType::German, meridian_limit_deg: 5.0, meridian_flip: flip };
        l
    }

    #[test]
    fn a_west_side_block_crossing_the_limit_flips_or_is_refused() {
        let l = german(true);
        // RA 22.5°, Dec 20.1° crosses the meridian at about 22:24 UTC at La Palma; the
        // 5° limit 20 minutes later (5° at 15.04°/h), ~22:44.
        let t0 = Epoch::from_gregorian_utc(2026, 11, 24, 22, 0, 0, 0);
        let target = Track::Fixed(Icrs { ra_deg: 22.5, dec_deg: 20.1 });
        let span = l.check_span(&target, t0, t0 + Duration::from_seconds(3600.0)).unwrap();
        assert!(span.first().ha_deg < 0.0);
        assert_eq!(destination_side(span.first().ha_deg), PierSide::West);
        let due = l.flip_deadline(&span, PierSide::West).unwrap().expect("a flip");
        let ha_due = l.observed(Icrs { ra_deg: 22.5, dec_deg: 20.1 }, due).unwrap().ha_deg;
        assert!((4.75..=5.0).contains(&ha_due), "flip due at HA {ha_due}");
        let after = due + Duration::from_seconds(SPAN_STEP_S);
        assert!(l.observed(Icrs { ra_deg: 22.5, dec_deg: 20.1 }, after).unwrap().ha_deg > 5.0);
        // Already on the east side: no flip; a short block: no flip either.
        assert_eq!(l.flip_deadline(&span, PierSide::East), Ok(None));
        let short = l.check_span(&target, t0, t0 + Duration::from_seconds(600.0)).unwrap();
        assert_eq!(l.flip_deadline(&short, PierSide::West), Ok(None));
        assert_eq!(l.flip_deadline(&span, PierSide::Unknown), Err(InterlockError::PierSideUnknown));

        let e = german(false).flip_deadline(&span, PierSide::West).unwrap_err();
        assert!(matches!(e, InterlockError::MeridianLimit { .. }), "{e}");
        assert!(e.to_string().contains("meridian_flip = false"), "{e}");

        // Not a German mount: nothing to flip.
        assert_eq!(locks().flip_deadline(&span, PierSide::West), Ok(None));
    }
}
