//! The safety monitor: turns device-reported weather into the site's safety verdict
//! and, when it is unsafe, closes the dome and parks the mount — itself, not by asking
//! the executor, and again until the devices confirm it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use hifitime::Epoch;
use teld_driver_protocol::WeatherState;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ObserveContext;
use crate::core::{Event, SafetyView};
use crate::devices::{SiteSafety, Telescope};

/// Re-read the weather at least this often (real time) even without events.
const POLL: StdDuration = StdDuration::from_secs(1);

/// What the monitor remembers between readings.
#[derive(Default)]
struct Spell {
    /// When the current unsafe (or unknown) spell began.
    since: Option<Epoch>,
    /// Dome confirmed closed and mount parked during this spell.
    secured: bool,
    /// An alert that securing is overdue has been raised for this spell.
    overdue_alerted: bool,
    /// A safe verdict has been seen since start: an "unknown" spell after it counts
    /// like an unsafe one (the sensor was blind; it may have rained).
    seen_safe: bool,
    /// Reopening must wait `safety.reopen_after_safe_s` when this spell ends.
    delays_reopen: bool,
}

pub async fn run_safety_monitor(
    tel: Arc<Telescope>,
    ctx: Arc<ObserveContext>,
    verdict: watch::Sender<SiteSafety>,
    shutdown: CancellationToken,
) {
    let weather = tel.weather.0.name.clone();
    let mut events = tel.weather.0.driver.states();
    let mut spell = Spell::default();
    loop {
        let (safe, reason, reported) = match tel.weather.state().await {
            Ok(w) => {
                let (safe, reason) = judge(&w);
                (safe, reason, true)
            }
            Err(e) => (false, format!("weather sensor unavailable: {e}"), false),
        };
        let now = ctx.clock.now();
        if !safe {
            spell.delays_reopen |= reported || spell.seen_safe;
        }
        let prev = verdict.borrow().clone();
        if prev.safe != safe || (!safe && prev.reason != reason) {
            let cleared_at = match (safe, spell.delays_reopen) {
                (true, true) => Some(now),
                _ => prev.cleared_at,
            };
            // The verdict first, so the executor and the interlocks act on it at once;
            // records and telemetry after.
            verdict.send_replace(SiteSafety { safe, reason: reason.clone(), cleared_at });
            announce(&tel.name, &ctx, safe, &reason, now);
            if safe {
                spell = Spell { seen_safe: true, ..Spell::default() };
            } else if spell.since.is_none() {
                spell.since = Some(now);
            }
        }
        if !safe && !spell.secured {
            let since = spell.since.unwrap_or(now);
            // Only the mount and dome drivers are needed to secure; a lost weather or
            // camera driver must not stop the dome from closing.
            if tel.can_secure() {
                spell.secured = secure(&tel, &ctx, since).await;
            }
            let late = (ctx.clock.now() - since).to_seconds() > ctx.safety.close_within_s;
            if !spell.secured && late && !spell.overdue_alerted {
                spell.overdue_alerted = true;
                let message = format!(
                    "site unsafe ({reason}) for over {} s and the telescope is not confirmed closed and parked; {}",
                    ctx.safety.close_within_s,
                    if tel.can_secure() {
                        "still trying"
                    } else {
                        "the mount or dome driver is down: check the site"
                    }
                );
                tracing::error!(telescope = %tel.name, "{message}");
                ctx.core.publish(Event::Alert {
                    source: tel.name.clone(),
                    message,
                    at: ctx.clock.now(),
                });
            }
        }
        tokio::select! {
            _ = next_event_for(&mut events, &weather) => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

async fn next_event_for(
    events: &mut tokio::sync::broadcast::Receiver<(String, teld_driver_protocol::DeviceState)>,
    device: &str,
) {
    loop {
        match events.recv().await {
            Ok((name, _)) if name == device => return,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                return std::future::pending().await;
            }
        }
    }
}

/// The verdict from the device's own report. Unknown counts as unsafe. The reason is
/// a category, not a reading, so a changing rain rate is not a new verdict each time.
fn judge(w: &WeatherState) -> (bool, String) {
    if !w.connected {
        return (false, "weather sensor not connected".into());
    }
    if w.is_safe {
        return (true, String::new());
    }
    let reason = match w.rain_rate {
        Some(r) if r > 0.0 => "rain".to_string(),
        _ => "safety monitor reports unsafe".into(),
    };
    (false, reason)
}

fn announce(telescope: &str, ctx: &ObserveContext, safe: bool, reason: &str, at: Epoch) {
    let at_text = teld_driver_protocol::time::format_utc(at);
    let reason_opt = (!safe).then(|| reason.to_string());
    if safe {
        tracing::info!(telescope, "site safe");
    } else {
        tracing::warn!(telescope, "site unsafe: {reason}");
    }
    ctx.core.update(|s| {
        s.telescopes.entry(telescope.to_string()).or_default().safety =
            SafetyView { safe, reason: reason_opt.clone(), since: Some(at_text) };
    });
    ctx.core.publish(Event::Safety { telescope: telescope.into(), safe, reason: reason_opt, at });
    let store = ctx.store.clone();
    let (telescope, reason) = (telescope.to_string(), reason.to_string());
    // Off the safety path: a slow store must not delay closing the dome.
    tokio::spawn(async move {
        let kind = if safe { "safe" } else { "unsafe" };
        if let Err(e) = store.record_device_event(at, &telescope, kind, Some(&reason)).await {
            tracing::warn!(telescope, "could not record safety event: {e}");
        }
    });
}

/// Closes and parks; true once the devices confirm both. Alerts if that took longer
/// than `safety.close_within_s` after the site turned unsafe.
async fn secure(tel: &Telescope, ctx: &ObserveContext, unsafe_since: Epoch) -> bool {
    match tel.make_safe().await {
        Ok(()) => {
            let now = ctx.clock.now();
            let took = (now - unsafe_since).to_seconds();
            let note = format!("closed and parked {took:.0} s after unsafe");
            let store = ctx.store.clone();
            let name = tel.name.clone();
            tokio::spawn(async move {
                let _ = store.record_device_event(now, &name, "secured", Some(&note)).await;
            });
            if took > ctx.safety.close_within_s {
                let message = format!(
                    "closing and parking took {took:.0} s, over the {} s limit (safety.close_within_s)",
                    ctx.safety.close_within_s
                );
                tracing::error!(telescope = %tel.name, "{message}");
                ctx.core.publish(Event::Alert { source: tel.name.clone(), message, at: now });
            } else {
                tracing::info!(telescope = %tel.name, "closed and parked {took:.0} s after the site turned unsafe");
            }
            true
        }
        Err(e) => {
            let message = format!("could not close and park: {e}; retrying");
            tracing::error!(telescope = %tel.name, "{message}");
            ctx.core.publish(Event::Alert {
                source: tel.name.clone(),
                message,
                at: ctx.clock.now(),
            });
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather(safe: bool, rain: Option<f64>) -> WeatherState {
        WeatherState {
            connected: true,
            is_safe: safe,
            cloud_cover: None,
            humidity: None,
            rain_rate: rain,
            wind_speed: None,
            temperature: None,
            pressure: None,
            sky_quality: None,
        }
    }

    #[test]
    fn judges_from_the_device_report() {
        assert_eq!(judge(&weather(true, None)), (true, String::new()));
        assert_eq!(judge(&weather(false, Some(4.0))).1, "rain");
        assert_eq!(judge(&weather(false, Some(4.0))), judge(&weather(false, Some(9.0))));
        assert!(!judge(&weather(false, None)).0);
        let mut w = weather(true, None);
        w.connected = false;
        assert!(!judge(&w).0, "a disconnected sensor is not a safe one");
    }
}
