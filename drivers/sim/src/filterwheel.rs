//! The simulated filter wheel (ASCOM IFilterWheelV3). The wheel turns the shortest way
//! round at a constant time per slot; while it turns its position is unknown (ASCOM
//! reports -1), so the daemon must wait for the device to say where it stopped.

use hifitime::{Duration, Epoch};
use teld_driver_protocol::{ErrorCode, FilterWheelState};

use crate::error::Coded;
use crate::settings::FilterWheelSettings;
use crate::timeline::Timeline;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterWheelError {
    #[error("slot {slot} does not exist: the wheel has {slots} slots (0 to {})", slots - 1)]
    NoSuchSlot { slot: u32, slots: usize },
}

impl Coded for FilterWheelError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidValue
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Wheel {
    At(u32),
    Turning { end: Epoch, to: u32 },
}

#[derive(Debug, Clone)]
pub struct FilterWheel {
    cfg: FilterWheelSettings,
    wheel: Timeline<Wheel>,
}

impl FilterWheel {
    /// Starts at slot 0, where a wheel homes on power-up.
    pub fn new(cfg: FilterWheelSettings, now: Epoch) -> Self {
        FilterWheel { cfg, wheel: Timeline::new(now, Wheel::At(0)) }
    }

    fn resolved(&self, t: Epoch) -> Wheel {
        match *self.wheel.at(t) {
            Wheel::Turning { end, to } if t >= end => Wheel::At(to),
            w => w,
        }
    }

    /// The filter in the beam at `t`; `None` while turning.
    pub fn filter_at(&self, t: Epoch) -> Option<&str> {
        match self.resolved(t) {
            Wheel::At(slot) => self.cfg.names.get(slot as usize).map(String::as_str),
            Wheel::Turning { .. } => None,
        }
    }

    pub fn state(&self, t: Epoch) -> FilterWheelState {
        let position = match self.resolved(t) {
            Wheel::At(slot) => Some(slot),
            Wheel::Turning { .. } => None,
        };
        FilterWheelState {
            connected: true,
            position,
            names: self.cfg.names.clone(),
            focus_offsets: self.cfg.focus_offsets.clone(),
        }
    }

    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        match self.wheel.current() {
            Wheel::Turning { end, .. } if *end > t => Some(*end),
            _ => None,
        }
    }

    pub fn settle(&mut self, t: Epoch) {
        if let Wheel::Turning { end, to } = *self.wheel.current()
            && end <= t
        {
            self.wheel.push(end, Wheel::At(to));
        }
    }

    /// ASCOM `Position` set: asynchronous; turning to where it is, or is going, is a
    /// no-op. A new target while turning starts from the slot it is passing.
    pub fn set_position(&mut self, now: Epoch, slot: u32) -> Result<(), FilterWheelError> {
        let slots = self.cfg.names.len();
        if slot as usize >= slots {
            return Err(FilterWheelError::NoSuchSlot { slot, slots });
        }
        self.settle(now);
        let from = match self.resolved(now) {
            Wheel::At(s) if s == slot => return Ok(()),
            Wheel::Turning { to, .. } if to == slot => return Ok(()),
            Wheel::At(s) | Wheel::Turning { to: s, .. } => s,
        };
        let forward = (slot as usize + slots - from as usize) % slots;
        let steps = forward.min(slots - forward) as f64;
        let end = now + Duration::from_seconds(steps * self.cfg.slot_time_s);
        self.wheel.push(now, Wheel::Turning { end, to: slot });
        self.settle(now);
        Ok(())
    }

    /// The daemon's clock went back: the wheel is where it was at `from`; one that was
    /// turning is taken to have arrived (a turn lasts seconds; a clock set back by
    /// hand is a test or a demo, not a night).
    pub fn rebase(&mut self, from: Epoch, to: Epoch) {
        let slot = match self.resolved(from) {
            Wheel::At(s) | Wheel::Turning { to: s, .. } => s,
        };
        self.wheel = Timeline::new(to, Wheel::At(slot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: f64) -> Epoch {
        Epoch::from_gregorian_utc(2026, 11, 24, 19, 0, 0, 0) + Duration::from_seconds(s)
    }

    #[test]
    fn turns_the_shortest_way_and_reports_no_position_meanwhile() {
        let mut w = FilterWheel::new(FilterWheelSettings::default(), t(0.0));
        assert_eq!(w.state(t(0.0)).position, Some(0));
        assert_eq!(w.filter_at(t(0.0)), Some("clear"));
        // Five slots: 0 → 4 is one step backwards, not four forwards.
        w.set_position(t(0.0), 4).unwrap();
        assert_eq!(w.state(t(0.5)).position, None);
        assert_eq!(w.filter_at(t(0.5)), None);
        assert_eq!(w.next_change_after(t(0.0)), Some(t(1.0)));
        assert_eq!(w.state(t(1.0)).position, Some(4));
        assert_eq!(w.filter_at(t(1.0)), Some("B"));
        w.settle(t(2.0));
        w.set_position(t(2.0), 2).unwrap();
        assert_eq!(w.next_change_after(t(2.0)), Some(t(4.0)));
        w.set_position(t(2.5), 2).unwrap();
        assert_eq!(w.next_change_after(t(2.5)), Some(t(4.0)), "repeating the target is a no-op");
        assert_eq!(w.state(t(4.0)).names, vec!["clear", "L", "R", "V", "B"]);
    }

    #[test]
    fn a_slot_that_does_not_exist_is_refused() {
        let mut w = FilterWheel::new(FilterWheelSettings::default(), t(0.0));
        let e = w.set_position(t(0.0), 5).unwrap_err();
        assert_eq!(e.to_string(), "slot 5 does not exist: the wheel has 5 slots (0 to 4)");
        assert_eq!(w.state(t(0.0)).position, Some(0));
    }
}
