//! The simulated focuser (ASCOM IFocuserV4): absolute, moving at a constant step rate,
//! with a temperature probe that reads the air temperature.

use hifitime::{Duration, Epoch};
use teld_driver_protocol::{ErrorCode, FocuserState};

use crate::error::Coded;
use crate::settings::FocuserSettings;
use crate::timeline::Timeline;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FocuserError {
    #[error(
        "focuser position {position} is outside 0..={max_step} steps; check the focus position and filter offsets in the config"
    )]
    OutOfRange { position: i32, max_step: u32 },
}

impl Coded for FocuserError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidValue
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Drive {
    At(f64),
    Moving { start: Epoch, end: Epoch, from: f64, to: f64 },
}

#[derive(Debug, Clone)]
pub struct Focuser {
    cfg: FocuserSettings,
    drive: Timeline<Drive>,
}

impl Focuser {
    pub fn new(cfg: FocuserSettings, now: Epoch) -> Self {
        let start = f64::from(cfg.start_position);
        Focuser { cfg, drive: Timeline::new(now, Drive::At(start)) }
    }

    fn resolved(&self, t: Epoch) -> Drive {
        match *self.drive.at(t) {
            Drive::Moving { end, to, .. } if t >= end => Drive::At(to),
            d => d,
        }
    }

    /// Steps at `t`, between steps while moving.
    pub fn position_at(&self, t: Epoch) -> f64 {
        match self.resolved(t) {
            Drive::At(p) => p,
            Drive::Moving { start, end, from, to } => {
                let span = (end - start).to_seconds();
                let done = if span > 0.0 { (t - start).to_seconds() / span } else { 1.0 };
                from + (to - from) * done.clamp(0.0, 1.0)
            }
        }
    }

    pub fn state(&self, t: Epoch, temperature: Option<f64>) -> FocuserState {
        FocuserState {
            connected: true,
            absolute: true,
            position: Some(self.position_at(t).round() as i32),
            is_moving: matches!(self.resolved(t), Drive::Moving { .. }),
            max_step: self.cfg.max_step,
            temperature,
            temp_comp: false,
        }
    }

    pub fn next_change_after(&self, t: Epoch) -> Option<Epoch> {
        match self.drive.current() {
            Drive::Moving { end, .. } if *end > t => Some(*end),
            _ => None,
        }
    }

    pub fn settle(&mut self, t: Epoch) {
        if let Drive::Moving { end, to, .. } = *self.drive.current()
            && end <= t
        {
            self.drive.push(end, Drive::At(to));
        }
    }

    /// ASCOM `Move` on an absolute focuser: asynchronous; a new move while moving
    /// starts from where the focuser is now.
    pub fn move_to(&mut self, now: Epoch, position: i32) -> Result<(), FocuserError> {
        if position < 0 || position as u32 > self.cfg.max_step {
            return Err(FocuserError::OutOfRange { position, max_step: self.cfg.max_step });
        }
        self.settle(now);
        let from = self.position_at(now);
        let to = f64::from(position);
        let end = now + Duration::from_seconds((to - from).abs() / self.cfg.steps_per_s);
        self.drive.push(now, Drive::Moving { start: now, end, from, to });
        self.settle(now);
        Ok(())
    }

    /// ASCOM `Halt`: stops where it is.
    pub fn halt(&mut self, now: Epoch) {
        self.settle(now);
        if let Drive::Moving { .. } = self.resolved(now) {
            let at = self.position_at(now).round();
            self.drive.push(now, Drive::At(at));
        }
    }

    /// The daemon's clock went back: the focuser is where it was at `from`, still
    /// heading where it was going.
    pub fn rebase(&mut self, from: Epoch, to: Epoch) {
        let at = self.position_at(from);
        let target = match self.resolved(from) {
            Drive::Moving { to, .. } => Some(to),
            Drive::At(_) => None,
        };
        self.drive = Timeline::new(to, Drive::At(at));
        if let Some(target) = target {
            let _ = self.move_to(to, target as i32);
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
    fn moves_at_its_step_rate_and_halts_where_it_is() {
        let cfg = FocuserSettings::default();
        let (start, rate) = (cfg.start_position, cfg.steps_per_s);
        let mut f = Focuser::new(cfg, t(0.0));
        assert_eq!(f.state(t(0.0), Some(8.0)).position, Some(start as i32));
        let target = start as i32 + rate as i32 * 2;
        f.move_to(t(0.0), target).unwrap();
        let mid = f.state(t(1.0), None);
        assert!(mid.is_moving);
        assert_eq!(mid.position, Some(start as i32 + rate as i32));
        assert_eq!(f.next_change_after(t(0.0)), Some(t(2.0)));
        let done = f.state(t(2.0), None);
        assert!(!done.is_moving);
        assert_eq!(done.position, Some(target));
        f.settle(t(3.0));
        f.move_to(t(3.0), start as i32).unwrap();
        f.halt(t(4.0));
        let halted = f.state(t(10.0), None);
        assert!(!halted.is_moving);
        assert_eq!(halted.position, Some(target - rate as i32));
    }

    #[test]
    fn positions_outside_the_travel_are_refused() {
        let mut f = Focuser::new(FocuserSettings::default(), t(0.0));
        assert!(f.move_to(t(0.0), -1).is_err());
        let e = f.move_to(t(0.0), 50_001).unwrap_err();
        assert!(e.to_string().contains("outside 0..=50000"), "{e}");
        assert!(!f.state(t(0.0), None).is_moving);
    }
}
