//! The simulated dome (ASCOM IDomeV3), shutter only: it has no azimuth to slew, so it is
//! always at park. The shutter opens and closes asynchronously at a constant speed, and
//! the fraction it is open at any instant dims the light reaching the camera.

use hifitime::{Duration, Epoch};
use teld_driver_protocol::{DomeState, ShutterStatus};

use crate::settings::DomeSettings;
use crate::timeline::Timeline;

/// What the shutter is doing from some instant on; `open` is 0 closed … 1 open.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shutter {
    Still { open: f64 },
    Moving { start: Epoch, end: Epoch, from: f64, to: f64 },
}

#[derive(Debug, Clone)]
pub struct Dome {
    cfg: DomeSettings,
    shutter: Timeline<Shutter>,
}

impl Dome {
    /// Starts closed, as a dome left safe at the end of the previous night.
    pub fn new(cfg: DomeSettings, now: Epoch) -> Self {
        Dome { cfg, shutter: Timeline::new(now, Shutter::Still { open: 0.0 }) }
    }

    fn resolved(&self, t: Epoch) -> Shutter {
        match *self.shutter.at(t) {
            Shutter::Moving { end, to, .. } if t >= end => Shutter::Still { open: to },
            s => s,
        }
    }

    /// Fraction of the aperture uncovered at `t` (0 closed, 1 open).
    pub fn open_fraction(&self, t: Epoch) -> f64 {
        match self.resolved(t) {
            Shutter::Still { open } => open,
            Shutter::Moving { start, end, from, to } => {
                let span = (end - start).to_seconds();
                let done = if span > 0.0 { (t - start).to_seconds() / span } else { 1.0 };
                from + (to - from) * done.clamp(0.0, 1.0)
            }
        }
    }

    pub fn state(&self, t: Epoch) -> DomeState {
        let shutter_status = match self.resolved(t) {
            Shutter::Moving { to, .. } if to >= 1.0 => ShutterStatus::Opening,
            Shutter::Moving { .. } => ShutterStatus::Closing,
            Shutter::Still { open } if open >= 1.0 => ShutterStatus::Open,
            Shutter::Still { open } if open <= 0.0 => ShutterStatus::Closed,
            // Stopped part-way by abort_slew: ASCOM has no "partly open"; drivers
            // report shutterError until the next open or close.
            Shutter::Still { .. } => ShutterStatus::Error,
        };
        DomeState { connected: true, shutter_status, at_park: true, slewing: false }
    }

    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        match self.shutter.current() {
            Shutter::Moving { end, .. } if *end > t => Some(*end),
            _ => None,
        }
    }

    pub fn settle(&mut self, t: Epoch) {
        if let Shutter::Moving { end, to, .. } = *self.shutter.current()
            && end <= t
        {
            self.shutter.push(end, Shutter::Still { open: to });
        }
    }

    /// ASCOM OpenShutter: asynchronous; harmless when open or opening.
    pub fn open_shutter(&mut self, now: Epoch) {
        self.move_to(now, 1.0);
    }

    /// ASCOM CloseShutter: asynchronous; harmless when closed or closing.
    pub fn close_shutter(&mut self, now: Epoch) {
        self.move_to(now, 0.0);
    }

    fn move_to(&mut self, now: Epoch, target: f64) {
        self.settle(now);
        match self.resolved(now) {
            Shutter::Moving { to, .. } if to == target => return,
            Shutter::Still { open } if open == target => return,
            _ => {}
        }
        let from = self.open_fraction(now);
        let seconds = (target - from).abs() * self.cfg.shutter_time_s;
        let end = now + Duration::from_seconds(seconds);
        self.shutter.push(now, Shutter::Moving { start: now, end, from, to: target });
        self.settle(now); // an instant shutter is already there
    }

    /// The daemon's clock was set back from `from` to `to`: carry on from the shutter's
    /// position at `from`, still moving the way it was.
    pub fn rebase(&mut self, from: Epoch, to: Epoch) {
        let open = self.open_fraction(from);
        let moving_to = match self.resolved(from) {
            Shutter::Moving { to, .. } => Some(to),
            Shutter::Still { .. } => None,
        };
        self.shutter = Timeline::new(to, Shutter::Still { open });
        if let Some(target) = moving_to {
            self.move_to(to, target);
        }
    }

    /// ASCOM AbortSlew: IDomeV3 stops all movement, the shutter included.
    pub fn abort_slew(&mut self, now: Epoch) {
        self.settle(now);
        if let Shutter::Moving { .. } = self.resolved(now) {
            let open = self.open_fraction(now);
            self.shutter.push(now, Shutter::Still { open });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 19, 0, 0, 0) + Duration::from_seconds(s)
    }

    #[test]
    fn opens_and_closes_asynchronously() {
        let mut d = Dome::new(DomeSettings::default(), t(0.0));
        assert_eq!(d.state(t(0.0)).shutter_status, ShutterStatus::Closed);
        assert!(d.state(t(0.0)).at_park);
        d.open_shutter(t(0.0));
        assert_eq!(d.state(t(0.0)).shutter_status, ShutterStatus::Opening);
        assert_eq!(d.next_change_after(t(0.0)), Some(t(60.0)));
        assert!((d.open_fraction(t(30.0)) - 0.5).abs() < 1e-9);
        assert_eq!(d.state(t(59.9)).shutter_status, ShutterStatus::Opening);
        assert_eq!(d.state(t(60.0)).shutter_status, ShutterStatus::Open);
        d.settle(t(61.0));
        assert_eq!(d.next_change_after(t(61.0)), None);
        d.open_shutter(t(61.0));
        assert_eq!(d.state(t(61.0)).shutter_status, ShutterStatus::Open, "repeat open is harmless");
        d.close_shutter(t(100.0));
        assert_eq!(d.state(t(100.0)).shutter_status, ShutterStatus::Closing);
        assert_eq!(d.state(t(160.0)).shutter_status, ShutterStatus::Closed);
        // History stays exact for exposures already taken.
        assert!((d.open_fraction(t(30.0)) - 0.5).abs() < 1e-9);
        assert_eq!(d.open_fraction(t(80.0)), 1.0);
    }

    #[test]
    fn reversing_midway_takes_only_the_way_back() {
        let mut d = Dome::new(DomeSettings::default(), t(0.0));
        d.open_shutter(t(0.0));
        d.close_shutter(t(15.0));
        assert_eq!(d.next_change_after(t(15.0)), Some(t(30.0)));
        assert!((d.open_fraction(t(20.0)) - 0.25 + 5.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn abort_stops_the_shutter_in_an_error_state_until_moved() {
        let mut d = Dome::new(DomeSettings::default(), t(0.0));
        d.open_shutter(t(0.0));
        d.abort_slew(t(20.0));
        assert_eq!(d.state(t(25.0)).shutter_status, ShutterStatus::Error);
        assert_eq!(d.next_change_after(t(25.0)), None);
        d.close_shutter(t(25.0));
        assert_eq!(d.state(t(45.0)).shutter_status, ShutterStatus::Closed);
    }
}
