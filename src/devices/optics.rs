//! The filter wheel and focuser of a telescope: turning to a request's filter and
//! refocusing for it, each confirmed from the device's own report.

use teld_driver_protocol::{FilterWheelState, FocuserState};

use super::{DeviceError, FilterWheel, Focuser, wait_for};
use crate::clock::Clock;

/// A telescope's optics as configured; every part is optional.
#[derive(Clone, Default)]
pub struct Optics {
    pub filter_wheel: Option<FilterWheel>,
    pub focuser: Option<Focuser>,
    /// Best focus for a filter of offset 0 (`telescopes[].focus_position`).
    pub focus_position: Option<i32>,
}

/// What the wheel and focuser reported when a frame started, for its header.
#[derive(Debug, Clone, Default)]
pub struct OpticsReport {
    pub filter: Option<String>,
    pub focus_position: Option<i32>,
    pub focuser_temperature: Option<f64>,
}

impl Optics {
    /// Turns the wheel to `filter` and refocuses for it, waiting (at most `timeout_s`
    /// of the daemon's clock for each) until the devices report they are there.
    /// Without a wheel, or without a filter asked for, nothing moves.
    pub async fn select(
        &self,
        clock: &Clock,
        filter: Option<&str>,
        timeout_s: f64,
    ) -> Result<(), DeviceError> {
        let (Some(wheel), Some(filter)) = (&self.filter_wheel, filter) else { return Ok(()) };
        let st = wheel.state().await?;
        let slot = slot_of(&st, filter)?;
        if st.position != Some(slot) {
            wheel.set_position(slot).await?;
            let what = format!("filter wheel at `{filter}` (slot {slot})");
            let read = || wheel.state();
            let st =
                wait_for(clock, &wheel.0, &what, timeout_s, read, |s| s.position.is_some()).await?;
            if st.position != Some(slot) {
                return Err(DeviceError::Misplaced {
                    device: "filter wheel",
                    expected: format!("slot {slot} (`{filter}`)"),
                    reported: format!("slot {:?}", st.position),
                });
            }
        }
        let offset = st.focus_offsets.get(slot as usize).copied().unwrap_or(0);
        match (&self.focuser, self.focus_position) {
            (Some(focuser), Some(best)) => {
                focus(clock, focuser, best.saturating_add(offset), timeout_s).await
            }
            _ => Ok(()),
        }
    }

    /// Reads the wheel and focuser now, for a frame's header. A wheel that is turning
    /// or cannot be read fails: a frame must not claim a filter nobody confirmed.
    pub async fn report(&self, fixed_filter: Option<&str>) -> Result<OpticsReport, DeviceError> {
        let filter = match &self.filter_wheel {
            Some(wheel) => {
                let st = wheel.state().await?;
                let Some(name) = st.filter() else {
                    return Err(DeviceError::Misplaced {
                        device: "filter wheel",
                        expected: "a filter in the beam".into(),
                        reported: "no position (turning)".into(),
                    });
                };
                if let Some(want) = fixed_filter.filter(|w| *w != name) {
                    return Err(DeviceError::Misplaced {
                        device: "filter wheel",
                        expected: format!("`{want}`"),
                        reported: format!("`{name}`"),
                    });
                }
                Some(name.to_string())
            }
            None => fixed_filter.map(str::to_string),
        };
        let focuser = match &self.focuser {
            // The focuser is not worth losing a frame over: its header keys are left out.
            Some(f) => f.state().await.ok(),
            None => None,
        };
        Ok(OpticsReport {
            filter,
            focus_position: focuser.as_ref().and_then(|f| f.position),
            focuser_temperature: focuser.as_ref().and_then(|f| f.temperature),
        })
    }
}

fn slot_of(st: &FilterWheelState, filter: &str) -> Result<u32, DeviceError> {
    st.names.iter().position(|n| n == filter).map(|i| i as u32).ok_or_else(|| {
        DeviceError::NoSuchFilter { filter: filter.to_string(), have: st.names.join(", ") }
    })
}

async fn focus(
    clock: &Clock,
    focuser: &Focuser,
    target: i32,
    timeout_s: f64,
) -> Result<(), DeviceError> {
    let st: FocuserState = focuser.state().await?;
    if !st.absolute {
        // A relative focuser has no position to go to; refocusing it needs the
        // previous filter's offset too, which a restart loses. Leave it be.
        return Ok(());
    }
    if st.position == Some(target) && !st.is_moving {
        return Ok(());
    }
    focuser.move_to(target).await?;
    let what = format!("focuser at step {target}");
    let st =
        wait_for(clock, &focuser.0, &what, timeout_s, || focuser.state(), |s| !s.is_moving).await?;
    if st.position != Some(target) {
        return Err(DeviceError::Misplaced {
            device: "focuser",
            expected: format!("step {target}"),
            reported: format!("step {:?}", st.position),
        });
    }
    Ok(())
}
