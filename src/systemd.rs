//! Running under systemd (`Type=notify`): readiness, status text, watchdog. Outside
//! systemd (no `NOTIFY_SOCKET`) every call is a no-op.

use std::collections::BTreeSet;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::core::{Core, Event};
use crate::liveness::Liveness;
use crate::store::Store;

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

fn send(states: &[NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("systemd notification failed: {e}");
    }
}

/// How often wedged tasks are looked for when systemd has no watchdog for us.
const CHECK_WITHOUT_SYSTEMD: Duration = Duration::from_secs(5);

/// Pets the systemd watchdog at half its interval, but only while every registered
/// task is alive ([`Liveness`]) and the daemon can still reach its store: a teld
/// that cannot record requests, or whose safety monitor is stuck, is not healthy,
/// and systemd restarting it is the right repair. Without a systemd watchdog the
/// same checks run and report, since nothing else would notice.
pub async fn watchdog(
    store: Store,
    liveness: Liveness,
    core: Core,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let systemd = sd_notify::watchdog_enabled();
    let period = systemd.map_or(CHECK_WITHOUT_SYSTEMD, |interval| interval / 2);
    match systemd {
        Some(_) => tracing::info!("systemd watchdog every {:.1} s", period.as_secs_f64()),
        None => tracing::debug!("no systemd watchdog; checking task liveness anyway"),
    }
    tracing::info!(tasks = %liveness.tasks().join(", "), "watching the liveness of tasks");
    let mut reported: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.cancelled() => return,
        }
        let wedged = liveness.wedged();
        for w in &wedged {
            if reported.insert(w.task.clone()) {
                let message = format!(
                    "{w}: teld is wedged; {}",
                    if systemd.is_some() {
                        "not petting the watchdog, so systemd restarts it"
                    } else {
                        "restart teld (run it under systemd with WatchdogSec= to have this done for you)"
                    }
                );
                tracing::error!("{message}");
                core.publish(Event::Alert { source: "teld".into(), message, at: clock.now() });
            }
        }
        reported.retain(|t| wedged.iter().any(|w| &w.task == t));
        let store_ok = match tokio::time::timeout(period, store.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!("store unreachable, not petting the watchdog: {e}");
                false
            }
            Err(_) => {
                tracing::error!(
                    "store ping took over {} s, not petting the watchdog",
                    period.as_secs()
                );
                false
            }
        };
        if systemd.is_some() && store_ok && wedged.is_empty() {
            send(&[NotifyState::Watchdog]);
        }
    }
}
