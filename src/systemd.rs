//! Running under systemd (`Type=notify`): readiness, status text, watchdog. Outside
//! systemd (no `NOTIFY_SOCKET`) every call is a no-op.

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

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

/// Pets the systemd watchdog at half its interval, but only while the daemon can
/// still reach its store: a teld that cannot record requests is not healthy, and
/// systemd restarting it is the right repair.
pub async fn watchdog(store: Store, shutdown: CancellationToken) {
    let Some(interval) = sd_notify::watchdog_enabled() else { return };
    let period = interval / 2;
    tracing::info!("systemd watchdog every {:.1} s", period.as_secs_f64());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.cancelled() => return,
        }
        match tokio::time::timeout(period, store.ping()).await {
            Ok(Ok(())) => send(&[NotifyState::Watchdog]),
            Ok(Err(e)) => tracing::error!("store unreachable, not petting the watchdog: {e}"),
            Err(_) => tracing::error!(
                "store ping took over {} s, not petting the watchdog",
                period.as_secs()
            ),
        }
    }
}
