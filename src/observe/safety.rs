//! The safety monitor: grades the site each round from everything that can make it
//! unsafe (`safety_inputs`), publishes the verdict the interlocks and the executor act
//! on, and at `stop` or worse closes the dome and parks the mount — itself, not by
//! asking the executor, and again until the devices confirm it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use hifitime::Epoch;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ObserveContext;
use super::safety_inputs::Inputs;
use crate::core::{Event, SafetyView};
use crate::devices::{SiteSafety, Telescope};
use crate::safety::{Concern, SafetyLevel, Verdict};

/// Re-read the inputs at least this often (real time) even without events.
const POLL: StdDuration = StdDuration::from_secs(1);
/// Longest a round waits for a device read (real time). A weather station that does
/// not answer within it is unknown, and unknown is unsafe: the verdict must not wait
/// for a driver's full request timeout or a heartbeat to expire.
pub(super) const DEVICE_DEADLINE: StdDuration = StdDuration::from_secs(5);

/// What the monitor remembers between rounds.
#[derive(Default)]
struct Spell {
    /// When the current spell at `stop` or worse began.
    since: Option<Epoch>,
    /// Since when closing and parking is awaited: the spell's start, or the moment a
    /// site confirmed secure was found not to be (a dome opened by hand, a mount that
    /// did not answer). `safety.close_within_s` counts from here.
    awaited_since: Option<Epoch>,
    /// Dome closed and mount parked, as the devices said at the last look.
    secured: bool,
    /// Something below `stop` has been seen since start: an "unknown" weather spell
    /// after it counts like an unsafe one (the sensor was blind; it may have rained).
    seen_safe: bool,
    /// Reopening must wait `safety.reopen_after_safe_s` when this spell ends.
    delays_reopen: bool,
    /// Why the last close-and-park failed: said (log, alert) once per spell and
    /// reason, not on every retry of a mount whose driver stays down.
    failure: Option<String>,
    /// When it failed: the next try waits [`RETRY_SECURE`].
    failed_at: Option<tokio::time::Instant>,
}

/// Between failed tries to close and park (real time): soon enough for a link that
/// was down a moment, not a command a second to a dome already closed.
const RETRY_SECURE: StdDuration = StdDuration::from_secs(5);

pub async fn run_safety_monitor(
    tel: Arc<Telescope>,
    ctx: Arc<ObserveContext>,
    verdict: watch::Sender<SiteSafety>,
    shutdown: CancellationToken,
) {
    let weather = tel.weather.0.name.clone();
    let mut events = tel.weather.0.driver.states();
    let mut inputs = Inputs::new(&ctx);
    let mut spell = Spell::default();
    let mut hold = ctx.hold.subscribe();
    let heart = ctx.liveness.register(&format!("safety:{}", tel.name), ROUND_ALLOWANCE);
    // Closing and parking run beside the monitor, never inside its round: a hung
    // mount must not stop the weather being judged, or a late close from escalating.
    let mut securing: Option<JoinHandle<Result<(), String>>> = None;
    loop {
        heart.beat().await;
        let reading = inputs.read(&tel, &ctx).await;
        let now = ctx.clock.now();
        let mut concerns = reading.concerns;
        if let Some(since) = spell.awaited_since
            && !spell.secured
            && (now - since).to_seconds() > ctx.safety.close_within_s
        {
            concerns.push(overdue(&tel, &ctx));
        }
        let v = Verdict::of(concerns);
        if v.level.must_secure() && reading.weather_closes {
            spell.delays_reopen |= reading.reported || spell.seen_safe;
        }
        // Leaving `stop`: a close and park still under way finish first (the verdict
        // stays until then), so the block that reopens never races a mount still
        // driving to its park position. Never awaited here: the round goes on.
        let settling =
            !v.level.must_secure() && securing.as_ref().is_some_and(|t| !t.is_finished());
        if !v.level.must_secure() && !settling {
            securing = None;
        }
        let prev = verdict.borrow().clone();
        let changed =
            prev.level != v.level || (v.level != SafetyLevel::Safe && prev.reason != v.reason);
        if changed && !settling {
            let cleared_at =
                match (prev.level.must_secure() && !v.level.must_secure(), spell.delays_reopen) {
                    (true, true) => Some(now),
                    _ => prev.cleared_at,
                };
            // The verdict first, so the executor and the interlocks act on it at once;
            // records and telemetry after.
            verdict.send_replace(SiteSafety {
                level: v.level,
                reason: v.reason.clone(),
                cleared_at,
            });
            announce(&tel.name, &ctx, prev.level, &v, now);
            if !v.level.must_secure() {
                spell = Spell { seen_safe: true, ..Spell::default() };
            } else if spell.since.is_none() {
                spell.since = Some(now);
                spell.awaited_since = Some(now);
            }
        }
        if v.level.must_secure() {
            if let Some(task) = securing.take_if(|t| t.is_finished()) {
                let done = task.await.unwrap_or_else(|e| Err(format!("securing task failed: {e}")));
                spell.secured = done.is_ok();
                spell.failed_at = done.is_err().then(tokio::time::Instant::now);
                if let Err(why) = done
                    && spell.failure.as_ref() != Some(&why)
                {
                    report_failure(&tel, &ctx, &why);
                    spell.failure = Some(why);
                }
            }
            // Trust the devices, not our memory: a dome opened by hand, or a mount
            // unparked by someone at the pier, is secured again.
            if spell.secured && securing.is_none() {
                spell.secured =
                    tokio::time::timeout(DEVICE_DEADLINE, tel.is_secure()).await.unwrap_or(false);
                // Securing again gets its own `close_within_s`: counted from the spell's
                // start, one mount read that timed out half an hour into a rain spell,
                // with everything closed, was an instant "not confirmed within 60 s"
                // emergency (docs/CHAOS.md, "What it found"). From when the re-read
                // said so, not from the round's start: the read itself may have taken
                // its whole deadline.
                if !spell.secured {
                    spell.awaited_since = Some(ctx.clock.now());
                }
            }
            // Whatever can be secured is: a lost weather or camera driver must not stop
            // the dome from closing, and neither must a mount driver that cannot
            // start (the dome closes; parking is retried until the mount is back, and
            // not being confirmed in time is an emergency).
            let paced = spell.failed_at.is_some_and(|t| t.elapsed() < RETRY_SECURE);
            if !spell.secured && securing.is_none() && !paced && tel.can_secure_any() {
                let (tel, ctx) = (tel.clone(), ctx.clone());
                let since = spell.since.unwrap_or(now);
                securing =
                    Some(tokio::spawn(async move { secure(&tel, &ctx, since, v.level).await }));
            }
        }
        tokio::select! {
            _ = next_event_for(&mut events, &weather) => {}
            _ = hold.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// The longest one round may honestly take, real time: the weather read and the
/// securing check, each bounded by [`DEVICE_DEADLINE`] (closing and parking run beside
/// the round). Beyond it, the monitor is wedged.
const ROUND_ALLOWANCE: StdDuration = StdDuration::from_secs(30);

/// Not confirmed closed and parked within `safety.close_within_s`: an emergency.
fn overdue(tel: &Telescope, ctx: &ObserveContext) -> Concern {
    let why = if tel.can_secure() {
        "still trying"
    } else {
        "the mount or dome driver is down (teld closes and parks what it can reach): check the site"
    };
    Concern::new(
        SafetyLevel::Emergency,
        format!(
            "not confirmed closed and parked within safety.close_within_s = {} s; {why}",
            ctx.safety.close_within_s
        ),
    )
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

/// Every transition is a log line, a snapshot change, a safety event and an alert
/// (both go out on MQTT), a count for the metric, and a row in the store.
fn announce(telescope: &str, ctx: &ObserveContext, from: SafetyLevel, v: &Verdict, at: Epoch) {
    let at_text = teld_driver_protocol::time::format_utc(at);
    let safe = v.level == SafetyLevel::Safe;
    let reason = (!safe).then(|| v.reason.clone());
    let message = match v.level {
        SafetyLevel::Safe => format!("site safe again (was {from})"),
        SafetyLevel::Warn => format!("site at warn: {}; no new blocks", v.reason),
        SafetyLevel::Stop => format!("site at stop: {}; aborting, parking, closing", v.reason),
        SafetyLevel::Emergency => {
            format!("site at EMERGENCY: {}; closing first, then parking", v.reason)
        }
    };
    match v.level {
        SafetyLevel::Safe => tracing::info!(telescope, "{message}"),
        SafetyLevel::Warn => tracing::warn!(telescope, "{message}"),
        _ => tracing::error!(telescope, "{message}"),
    }
    ctx.core.update(|s| {
        let view = &mut s.telescopes.entry(telescope.to_string()).or_default().safety;
        let mut entered = view.entered;
        if from != v.level {
            entered[usize::from(v.level.rank())] += 1;
        }
        *view = SafetyView {
            safe,
            level: v.level,
            reason: reason.clone(),
            since: Some(at_text.clone()),
            entered,
        };
    });
    ctx.core.publish(Event::Safety {
        telescope: telescope.into(),
        safe,
        level: v.level,
        reason: reason.clone(),
        at,
    });
    if from != v.level {
        ctx.core.publish(Event::Alert { source: telescope.into(), message, at });
    }
    let store = ctx.store.clone();
    let (telescope, reason, kind) = (telescope.to_string(), v.reason.clone(), v.level.as_str());
    // Off the safety path: a slow store must not delay closing the dome.
    tokio::spawn(async move {
        if let Err(e) = store.record_device_event(at, &telescope, kind, Some(&reason)).await {
            tracing::warn!(telescope, "could not record safety event: {e}");
        }
    });
}

/// Closes and parks (at `emergency`, closes first and parks after); `Ok` once the
/// devices confirm both, else why not. Overrunning `safety.close_within_s` is an
/// emergency of its own, raised by the monitor.
async fn secure(
    tel: &Telescope,
    ctx: &ObserveContext,
    since: Epoch,
    level: SafetyLevel,
) -> Result<(), String> {
    let done = match level {
        SafetyLevel::Emergency => tel.close_then_park().await,
        _ => tel.make_safe().await,
    };
    match done {
        Ok(()) => {
            let now = ctx.clock.now();
            let took = (now - since).to_seconds();
            let note = format!("closed and parked {took:.0} s after the site turned {level}");
            tracing::info!(telescope = %tel.name, "{note}");
            let store = ctx.store.clone();
            let name = tel.name.clone();
            tokio::spawn(async move {
                let _ = store.record_device_event(now, &name, "secured", Some(&note)).await;
            });
            Ok(())
        }
        Err(e) => Err(format!("could not close and park: {e}; retrying")),
    }
}

fn report_failure(tel: &Telescope, ctx: &ObserveContext, message: &str) {
    tracing::error!(telescope = %tel.name, "{message}");
    ctx.core.publish(Event::Alert {
        source: tel.name.clone(),
        message: message.to_string(),
        at: ctx.clock.now(),
    });
}
