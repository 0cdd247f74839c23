//! What the driver knows of one device from its retained topics, and whether that
//! knowledge is fresh enough to believe.
//!
//! The staleness rule (spec §3, "Staleness"): a state is believed only while the device's
//! availability is not `offline`, it arrived less than `max_age` ago **and** its own
//! `time` is less than `max_age` old by our clock. The second check catches a
//! retained state left behind by a device that died without its last will firing
//! (broker restarted, will lost): it arrives "now" but says when it was true.

use std::time::Duration;

use hifitime::Epoch;
use tokio::time::Instant;

use crate::wire::{self, Report};

/// A device clock this far ahead of ours is broken, not early: its times cannot be
/// used to judge age. Two seconds absorbs NTP-synced devices and network delay.
const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// Never heard (the device may not publish it; only `offline` counts against it).
    Unknown,
    Online,
    Offline,
}

#[derive(Debug, Clone)]
pub struct Tracked {
    /// The device's topic prefix, for messages.
    pub prefix: String,
    pub max_age: Duration,
    pub availability: Availability,
    /// The last well-formed state and when it arrived.
    pub last: Option<(Report, Instant)>,
    /// Payloads refused since the driver started (malformed, wrong kind).
    pub refused: u64,
}

impl Tracked {
    pub fn new(prefix: &str, max_age: Duration) -> Tracked {
        Tracked {
            prefix: prefix.to_string(),
            max_age,
            availability: Availability::Unknown,
            last: None,
            refused: 0,
        }
    }

    /// The state if it can be believed now, else why not (a sentence for operators).
    pub fn fresh(&self, now: Instant, now_utc: Epoch) -> Result<&Report, String> {
        let max = self.max_age.as_secs_f64();
        if self.availability == Availability::Offline {
            return Err(format!(
                "{} is offline (its availability topic says so: it disconnected or its last will fired); check its power and network",
                self.prefix
            ));
        }
        let Some((report, at)) = &self.last else {
            return Err(format!(
                "no state from {} yet (nothing on {}/state); is the device running and connected to the broker?",
                self.prefix, self.prefix
            ));
        };
        let received = now.saturating_duration_since(*at).as_secs_f64();
        if received > max {
            return Err(format!(
                "state of {} is stale: last published {received:.0} s ago (max_age_s {max}); the device stopped publishing or the broker is unreachable",
                self.prefix
            ));
        }
        // Checked when it arrived; cannot fail here.
        let device_time = wire::parse_time(report.time()).map_err(|e| e.to_string())?;
        let age = (now_utc - device_time).to_seconds();
        if age > max {
            return Err(format!(
                "state of {} is stale: its own time {} is {age:.0} s old (max_age_s {max}); a retained state of a dead device, or its clock is wrong",
                self.prefix,
                report.time()
            ));
        }
        if -age > MAX_CLOCK_AHEAD.as_secs_f64() {
            return Err(format!(
                "state of {} is dated {} s in the future ({}); set the device's clock (NTP)",
                self.prefix,
                (-age).round(),
                report.time()
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::DomeReport;
    use teld_driver_protocol::ShutterStatus;

    fn dome_at(time: Epoch) -> Report {
        Report::Dome(DomeReport {
            spec: None,
            time: wire::format_time(time),
            shutter_status: ShutterStatus::Closed,
            at_park: true,
            slewing: false,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_when_never_heard_offline_old_or_dated_in_the_future() {
        let utc = wire::parse_time("2026-12-06T02:00:00Z").unwrap();
        let secs = hifitime::Duration::from_seconds;
        let mut t = Tracked::new("obs/roof", Duration::from_secs(30));
        let now = Instant::now();
        assert!(t.fresh(now, utc).unwrap_err().contains("no state"));
        t.last = Some((dome_at(utc), now));
        assert!(t.fresh(now, utc).is_ok());
        t.availability = Availability::Offline;
        assert!(t.fresh(now, utc).unwrap_err().contains("offline"));
        t.availability = Availability::Online;
        let later = now + Duration::from_secs(31);
        assert!(t.fresh(later, utc + secs(31.0)).unwrap_err().contains("31 s ago"));
        // Retained, arrived just now, but 40 s old by its own clock.
        t.last = Some((dome_at(utc - secs(40.0)), now));
        assert!(t.fresh(now, utc).unwrap_err().contains("its own time"));
        t.last = Some((dome_at(utc + secs(60.0)), now));
        assert!(t.fresh(now, utc).unwrap_err().contains("future"));
        t.last = Some((dome_at(utc + secs(1.0)), now));
        assert!(t.fresh(now, utc).is_ok(), "a second ahead is network jitter, not a broken clock");
    }
}
