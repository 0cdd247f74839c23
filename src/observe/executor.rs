//! The executor of one telescope: waits for night, safety and drivers, asks the
//! planner for the next block of its plan, runs it, and closes up at dawn and shutdown.

use std::sync::Arc;

use hifitime::{Duration, Epoch};
use tokio_util::sync::CancellationToken;

use super::ObserveContext;
use super::block::{BlockRun, Outcome};
use super::night::night;
use crate::config::TelescopeConfig;
use crate::core::{ControlMode, ControlView};
use crate::devices::Telescope;
use crate::schedule::{Block, Next, Planner};

/// Longest idle wait (simulated) before re-planning anyway: the sky turns, and a
/// target that was too low may have risen.
const IDLE_RECHECK_S: f64 = 300.0;

pub async fn run_executor(
    tel: Arc<Telescope>,
    cfg: TelescopeConfig,
    ctx: Arc<ObserveContext>,
    planner: Arc<Planner>,
    mut control: tokio::sync::watch::Receiver<ControlView>,
    shutdown: CancellationToken,
) {
    let name = tel.name.clone();
    let site = ctx.site.site();
    let mut closed_for_day = false;
    let mut wake = ctx.wake.subscribe();
    // One receiver kept across iterations, so "changed" means changed since we last
    // looked (a fresh clone would report the same change again and again).
    let mut safety = tel.safety_changes();
    while !shutdown.is_cancelled() {
        crate::liveness::touch();
        let now = ctx.clock.now();
        let n = night(&site, now, ctx.observing.sun_altitude_max_deg);
        if !n.is_night {
            // Checked before anything else: closing for the day needs only the mount
            // and dome drivers, not a healthy camera or weather driver — and with one
            // of them down, the other still closes or parks (retried each minute).
            if !closed_for_day {
                if !tel.can_secure_any() {
                    ctx.set_activity(
                        &name,
                        "day: waiting for the mount or dome driver to close up",
                    );
                    tokio::select! {
                        _ = tel.wait_any_secure_driver_up() => {}
                        _ = shutdown.cancelled() => break,
                    }
                    continue;
                }
                ctx.set_activity(&name, "closing for the day");
                match tel.make_safe().await {
                    Ok(()) => closed_for_day = true,
                    Err(e) => {
                        tracing::error!(telescope = %name, "could not close for the day: {e}");
                        idle(&ctx, &mut wake, Some(now + Duration::from_seconds(60.0)), &shutdown)
                            .await;
                        continue;
                    }
                }
            }
            let until = n.next_change.map(|t| format!(" (dusk at {})", hms(t))).unwrap_or_default();
            ctx.set_activity(
                &name,
                format!("waiting for night: Sun at {:.1}°{until}", n.sun_altitude_deg),
            );
            idle(&ctx, &mut wake, n.next_change, &shutdown).await;
            continue;
        }
        closed_for_day = false;
        let night_end = n.next_change.unwrap_or(now + Duration::from_seconds(86_400.0));
        let recheck = (now + Duration::from_seconds(IDLE_RECHECK_S)).min(night_end);
        let mode = control.borrow_and_update().clone();
        if mode.mode != ControlMode::Auto {
            // An operator has the telescope: the planner gives its work to the others
            // until it is resumed. The safety monitor still closes it if needed.
            let by = mode.holder.as_deref().unwrap_or("an operator");
            ctx.set_activity(&name, format!("{} by {by}", mode.mode.as_str()));
            if let Err(e) = planner.set_available(&name, false).await {
                tracing::error!(telescope = %name, "cannot repair the plan: {e}");
            }
            tokio::select! {
                _ = control.changed() => {}
                _ = ctx.clock.sleep_until(night_end) => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        if !tel.drivers_up() {
            ctx.set_activity(&name, "waiting for drivers");
            if let Err(e) = planner.set_available(&name, false).await {
                tracing::error!(telescope = %name, "cannot repair the plan: {e}");
            }
            tokio::select! {
                _ = tel.wait_drivers_up() => {}
                _ = ctx.clock.sleep_until(night_end) => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        let verdict = safety.borrow_and_update().clone();
        if !verdict.safe() {
            // At `stop` and worse the safety monitor closes and parks; at `warn` the
            // dome stays as it is and nothing new starts. The executor only waits, and
            // the plan moves behind the earliest it could observe again.
            let (what, earliest) = if verdict.level.must_secure() {
                ("closed", now + Duration::from_seconds(ctx.safety.reopen_after_safe_s))
            } else {
                ("holding", recheck)
            };
            ctx.set_activity(&name, format!("{what} ({}): {}", verdict.level, verdict.reason));
            hold(&planner, &name, now, earliest).await;
            tokio::select! {
                _ = safety.changed() => {}
                _ = ctx.clock.sleep_until(recheck) => {}
                _ = shutdown.cancelled() => break,
            }
            continue;
        }
        if let Some(cleared) = verdict.cleared_at {
            let reopen = cleared + Duration::from_seconds(ctx.safety.reopen_after_safe_s);
            if now < reopen {
                ctx.set_activity(&name, format!("weather cleared; reopening at {}", hms(reopen)));
                hold(&planner, &name, now, reopen).await;
                idle(&ctx, &mut wake, Some(reopen.min(night_end)), &shutdown).await;
                continue;
            }
        }
        wake.borrow_and_update();
        if let Err(e) = planner.set_available(&name, true).await {
            tracing::error!(telescope = %name, "cannot repair the plan: {e}");
        }
        let next = match planner.next(&name, now, night_end).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(telescope = %name, "planning failed: {e}");
                let retry = (now + Duration::from_seconds(60.0)).min(night_end);
                idle(&ctx, &mut wake, Some(retry), &shutdown).await;
                continue;
            }
        };
        let block = match next {
            Next::Block(block) if block.visits > 1 => *block,
            Next::Block(block) => {
                // A single visit interrupted earlier resumes after its stored frames;
                // frames the quick-look failed are taken again.
                let retaken = ctx.quicklook.requeue_failed;
                let frames_done = match ctx.store.frames_that_count(block.request.id, retaken).await
                {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(telescope = %name, "cannot count frames: {e}");
                        idle(&ctx, &mut wake, Some(recheck), &shutdown).await;
                        continue;
                    }
                };
                Block { frames_done, ..*block }
            }
            Next::WaitUntil(at) => {
                ctx.set_activity(
                    &name,
                    format!("waiting for the next planned block at {}", hms(at)),
                );
                idle(&ctx, &mut wake, Some(at.min(recheck)), &shutdown).await;
                continue;
            }
            Next::Idle => {
                ctx.set_activity(&name, "idle: no request observable now");
                idle(&ctx, &mut wake, Some(recheck), &shutdown).await;
                continue;
            }
        };
        ctx.set_activity(&name, format!("observing request {}", block.request.id));
        let run = BlockRun {
            tel: &tel,
            cfg: &cfg,
            ctx: &ctx,
            block: &block,
            night_end,
            control: control.clone(),
        };
        let outcome = run.run(&shutdown).await;
        if block.visits > 1 {
            let done = outcome == Outcome::Completed;
            // Spacing is measured between the visits' recorded starts.
            let started = match ctx.store.observations_for(block.request.id).await {
                Ok(obs) => obs.last().map(|o| o.started_at),
                Err(e) => {
                    tracing::warn!(telescope = %name, "cannot read the visit's start: {e}");
                    None
                }
            };
            let id = block.request.id;
            if let Err(e) = planner.visit_finished(id, block.visit, done, started).await {
                tracing::error!(telescope = %name, "cannot record the tracklet visit: {e}");
            }
        }
        if let Outcome::Failed = outcome {
            // Don't spin on a fault: let the device or driver recover first.
            let pause = (ctx.clock.now() + Duration::from_seconds(30.0)).min(night_end);
            idle(&ctx, &mut wake, Some(pause), &shutdown).await;
        }
    }
    ctx.set_activity(&name, "shutting down: closing and parking");
    if let Err(e) = tel.make_safe().await {
        tracing::error!(telescope = %name, "could not close and park at shutdown: {e}");
    }
    ctx.set_activity(&name, "stopped");
}

/// Tells the planner the telescope cannot observe before `until`.
async fn hold(planner: &Planner, name: &str, now: Epoch, until: Epoch) {
    if let Err(e) = planner.hold(name, now, until).await {
        tracing::error!(telescope = %name, "could not re-plan around the closed dome: {e}");
    }
}

/// Sleeps until `until` (simulated), a new request, or shutdown.
async fn idle(
    ctx: &ObserveContext,
    wake: &mut tokio::sync::watch::Receiver<u64>,
    until: Option<Epoch>,
    shutdown: &CancellationToken,
) {
    let until = until.unwrap_or(ctx.clock.now() + Duration::from_seconds(IDLE_RECHECK_S));
    tokio::select! {
        _ = ctx.clock.sleep_until(until) => {}
        _ = wake.changed() => {}
        _ = shutdown.cancelled() => {}
    }
}

fn hms(t: Epoch) -> String {
    let p = teld_astro::time::utc_parts(t);
    format!("{:02}:{:02}:{:02} UTC", p.hour, p.minute, p.second)
}
