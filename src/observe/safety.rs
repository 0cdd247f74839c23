//! The safety monitor: turns device-reported weather into the site's safety verdict
//! and, when it is unsafe, closes the dome and parks the mount — itself, not by asking
//! the executor, and again until the devices confirm it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use teld_driver_protocol::WeatherState;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ObserveContext;
use crate::core::{Event, SafetyView};
use crate::devices::{SiteSafety, Telescope};

/// Re-read the weather at least this often (real time) even without events.
const POLL: StdDuration = StdDuration::from_secs(1);

pub async fn run_safety_monitor(
    tel: Arc<Telescope>,
    ctx: Arc<ObserveContext>,
    verdict: watch::Sender<SiteSafety>,
    shutdown: CancellationToken,
) {
    let mut events = tel.weather.0.driver.states();
    // True once the dome is confirmed closed and the mount parked for this unsafe spell.
    let mut secured = false;
    let mut unsafe_since = None;
    // Set when the sensor itself said unsafe (not merely unreachable): only then does
    // reopening wait `safety.reopen_after_safe_s`.
    let mut weather_was_unsafe = false;
    loop {
        let (safe, reason) = match tel.weather.state().await {
            Ok(w) => {
                let verdict = judge(&w);
                weather_was_unsafe |= !verdict.0;
                verdict
            }
            Err(e) => (false, format!("weather sensor unavailable: {e}")),
        };
        let now = ctx.clock.now();
        let prev = verdict.borrow().clone();
        if prev.safe != safe || (!safe && prev.reason != reason) {
            let cleared_at = if safe && weather_was_unsafe { Some(now) } else { prev.cleared_at };
            announce(&tel.name, &ctx, safe, &reason, now).await;
            verdict.send_replace(SiteSafety { safe, reason: reason.clone(), cleared_at });
            if safe {
                secured = false;
                unsafe_since = None;
                weather_was_unsafe = false;
            } else if unsafe_since.is_none() {
                unsafe_since = Some(now);
            }
        }
        if !safe && !secured && tel.drivers_up() {
            secured = secure(&tel, &ctx, unsafe_since.unwrap_or(now)).await;
        }
        tokio::select! {
            _ = events.recv() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The verdict from the device's own report. Unknown counts as unsafe.
fn judge(w: &WeatherState) -> (bool, String) {
    if !w.connected {
        return (false, "weather sensor not connected".into());
    }
    if w.is_safe {
        return (true, String::new());
    }
    let reason = match w.rain_rate {
        Some(r) if r > 0.0 => format!("rain ({r:.1} mm/h)"),
        _ => "safety monitor reports unsafe".into(),
    };
    (false, reason)
}

async fn announce(
    telescope: &str,
    ctx: &ObserveContext,
    safe: bool,
    reason: &str,
    at: hifitime::Epoch,
) {
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
    let kind = if safe { "safe" } else { "unsafe" };
    if let Err(e) = ctx.store.record_device_event(at, telescope, kind, Some(reason)).await {
        tracing::warn!(telescope, "could not record safety event: {e}");
    }
}

/// Closes and parks; true once the devices confirm both. Alerts if that took longer
/// than `safety.close_within_s` after the site turned unsafe.
async fn secure(tel: &Telescope, ctx: &ObserveContext, unsafe_since: hifitime::Epoch) -> bool {
    match tel.make_safe().await {
        Ok(()) => {
            let now = ctx.clock.now();
            let took = (now - unsafe_since).to_seconds();
            let _ = ctx
                .store
                .record_device_event(
                    now,
                    &tel.name,
                    "secured",
                    Some(&format!("closed and parked {took:.0} s after unsafe")),
                )
                .await;
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
        assert_eq!(judge(&weather(false, Some(4.0))).1, "rain (4.0 mm/h)");
        assert!(!judge(&weather(false, None)).0);
        let mut w = weather(true, None);
        w.connected = false;
        assert!(!judge(&w).0, "a disconnected sensor is not a safe one");
    }
}
