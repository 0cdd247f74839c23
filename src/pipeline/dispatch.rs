//! Delivering the handoff outbox to one sink: oldest first, each message retried with
//! a doubling wait until the sink acknowledges it — never dropped. While a sink fails,
//! it is left alone until the retry is due, then the oldest message goes first.

use std::sync::Arc;

use hifitime::{Duration, Epoch};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{MqttSink, WebhookSink};
use crate::clock::Clock;
use crate::store::{PendingHandoff, Store};

/// First wait after a failed delivery; it doubles per attempt up to `retry_max_s`.
const FIRST_RETRY_S: f64 = 5.0;
/// Messages fetched per store query.
const BATCH: u32 = 16;
/// Longest the loop sleeps without checking the store, in case a wake-up was missed.
const IDLE_RECHECK_S: f64 = 60.0;

pub enum Sink {
    Mqtt(Box<MqttSink>),
    Webhook(WebhookSink),
}

impl Sink {
    pub fn name(&self) -> &'static str {
        match self {
            Sink::Mqtt(_) => super::SINK_MQTT,
            Sink::Webhook(_) => super::SINK_WEBHOOK,
        }
    }

    async fn deliver(&mut self, h: &PendingHandoff) -> Result<(), String> {
        match self {
            Sink::Mqtt(s) => s.deliver(&h.payload).await,
            Sink::Webhook(s) => s.deliver(&h.idempotency_key, &h.payload).await,
        }
    }
}

pub struct Dispatcher {
    pub store: Store,
    pub clock: Clock,
    pub sink: Sink,
    pub queued: Arc<Notify>,
    pub retry_max_s: f64,
}

/// The wait before attempt `attempts + 1`, after `attempts` failures.
pub fn retry_delay_s(attempts: u32, retry_max_s: f64) -> f64 {
    let doublings = attempts.saturating_sub(1).min(30);
    (FIRST_RETRY_S * f64::from(1u32 << doublings)).min(retry_max_s)
}

impl Dispatcher {
    pub async fn run(mut self, shutdown: CancellationToken) {
        let sink = self.sink.name();
        loop {
            crate::liveness::touch();
            // Registered before the query, so a frame queued meanwhile still wakes us.
            let queued = Arc::clone(&self.queued);
            let woken = queued.notified();
            let now = self.clock.now();
            let due = match self.store.due_handoffs(sink, now, BATCH).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(sink, "cannot read the handoff outbox: {e}");
                    pause(&self.clock, now + Duration::from_seconds(FIRST_RETRY_S), &shutdown)
                        .await;
                    continue;
                }
            };
            if due.is_empty() {
                let next = match self.store.next_handoff_at(sink).await {
                    Ok(Some(at)) => at,
                    _ => now + Duration::from_seconds(IDLE_RECHECK_S),
                };
                let next = next.min(now + Duration::from_seconds(IDLE_RECHECK_S));
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = woken => {}
                    _ = self.clock.sleep_until(next) => {}
                }
                continue;
            }
            for h in due {
                crate::liveness::touch();
                if shutdown.is_cancelled() {
                    return;
                }
                let result = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    r = self.sink.deliver(&h) => r,
                };
                let at = self.clock.now();
                let stored = match result {
                    Ok(()) => {
                        tracing::debug!(sink, frame = h.frame_id, "frame handed off");
                        self.store.handoff_delivered(h.id, at).await
                    }
                    Err(e) => {
                        let wait = retry_delay_s(h.attempts + 1, self.retry_max_s);
                        tracing::warn!(
                            sink,
                            frame = h.frame_id,
                            attempt = h.attempts + 1,
                            "frame handoff failed: {e}; retrying in {wait:.0} s"
                        );
                        let retry = at + Duration::from_seconds(wait);
                        if let Err(e) = self.store.handoff_failed(h.id, &e, retry).await {
                            tracing::error!(
                                sink,
                                frame = h.frame_id,
                                "cannot record the handoff: {e}"
                            );
                        }
                        // The sink is down or refusing: the whole sink waits, and the
                        // oldest message goes first again when it is retried.
                        pause(&self.clock, retry, &shutdown).await;
                        break;
                    }
                };
                if let Err(e) = stored {
                    tracing::error!(sink, frame = h.frame_id, "cannot record the handoff: {e}");
                }
            }
        }
    }
}

/// Sleeps until `until` or shutdown. A free function: the dispatcher holds the sink's
/// connection, which is not `Sync`, so no `&Dispatcher` may live across an await.
async fn pause(clock: &Clock, until: Epoch, shutdown: &CancellationToken) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = clock.sleep_until(until) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::retry_delay_s;

    #[test]
    fn retries_double_from_five_seconds_to_the_ceiling() {
        let d: Vec<f64> = (1..=8).map(|a| retry_delay_s(a, 300.0)).collect();
        assert_eq!(d, [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
        assert_eq!(retry_delay_s(1000, 300.0), 300.0);
    }
}
