//! Commands in flight: correlation ids, the replies they wait for, and re-sending
//! after a reconnect.
//!
//! Every command gets an id unique across driver restarts (the devices remember ids
//! to answer repeats without acting twice, so a reused id would be answered with an
//! old reply instead of being carried out). It travels as MQTT 5 correlation data;
//! the reply carries it back. Until the reply arrives the command stays in
//! [`Pending`], and every new connection re-publishes it with the same id: a broker
//! that restarted without persistence forgot it, and one that kept it delivers it
//! again — the device's memory of ids turns either into exactly one action.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::PublishProperties;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::wire::Reply;

/// A command the driver is waiting on.
pub struct Outgoing {
    pub device: String,
    pub topic: String,
    pub payload: Bytes,
    pub reply_topic: String,
    pub correlation: Bytes,
    pub deadline: Instant,
}

impl Outgoing {
    /// Properties for (re-)publishing now: the broker drops the command once the
    /// driver has stopped waiting for it, so a device that comes back later never
    /// acts on a stale order (an "open" from ten minutes ago).
    pub fn properties(&self, now: Instant) -> PublishProperties {
        let left = self.deadline.saturating_duration_since(now);
        PublishProperties {
            response_topic: Some(self.reply_topic.clone()),
            correlation_data: Some(self.correlation.clone()),
            message_expiry_interval: Some(left.as_secs_f64().ceil().max(1.0) as u32),
            content_type: Some("application/json".into()),
            payload_format_indicator: Some(1),
            ..Default::default()
        }
    }
}

struct Waiting {
    command: Outgoing,
    reply: oneshot::Sender<Reply>,
}

/// The commands awaiting replies, by correlation id.
pub struct Pending {
    /// Distinguishes this driver process's ids from a previous one's.
    session: String,
    next: AtomicU64,
    waiting: Mutex<HashMap<Bytes, Waiting>>,
}

impl Pending {
    pub fn new() -> Pending {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Start time and pid: unique per process on a host without a random source.
        let session = format!("{:x}-{:x}", nanos as u64, std::process::id());
        Pending { session, next: AtomicU64::new(1), waiting: Mutex::new(HashMap::new()) }
    }

    /// A fresh correlation id.
    pub fn next_id(&self) -> Bytes {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Bytes::from(format!("{}-{n}", self.session))
    }

    /// Registers `command`; the receiver gets its reply.
    pub fn insert(&self, command: Outgoing) -> oneshot::Receiver<Reply> {
        let (tx, rx) = oneshot::channel();
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        w.insert(command.correlation.clone(), Waiting { command, reply: tx });
        rx
    }

    /// Stops waiting (timed out, or handed over).
    pub fn forget(&self, correlation: &Bytes) {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(correlation);
    }

    /// Delivers a reply; false when nobody waits for that id (a late or repeated reply).
    pub fn resolve(&self, correlation: &[u8], reply: Reply) -> bool {
        let w = self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(correlation);
        match w {
            Some(w) => w.reply.send(reply).is_ok(),
            None => false,
        }
    }

    /// What to re-publish after a reconnect: topic, payload and properties.
    pub fn to_resend(&self, now: Instant) -> Vec<(String, String, Bytes, PublishProperties)> {
        let w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        w.values()
            .filter(|w| w.command.deadline > now)
            .map(|w| {
                let c = &w.command;
                (c.device.clone(), c.topic.clone(), c.payload.clone(), c.properties(now))
            })
            .collect()
    }
}

impl Default for Pending {
    fn default() -> Self {
        Pending::new()
    }
}

/// How long a command may wait, as shown in messages.
pub fn secs(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(p: &Pending, deadline: Instant) -> Outgoing {
        Outgoing {
            device: "roof".into(),
            topic: "obs/roof/command".into(),
            payload: Bytes::from_static(br#"{"method":"open"}"#),
            reply_topic: "obs/roof/reply/me".into(),
            correlation: p.next_id(),
            deadline,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn replies_reach_their_waiter_once_and_resends_keep_the_id() {
        let p = Pending::new();
        let now = Instant::now();
        let c = outgoing(&p, now + Duration::from_secs(5));
        let id = c.correlation.clone();
        assert_ne!(id, p.next_id(), "ids are never reused");
        let rx = p.insert(c);
        let resend = p.to_resend(now + Duration::from_millis(1500));
        assert_eq!(resend.len(), 1);
        let props = &resend[0].3;
        assert_eq!(props.correlation_data.as_ref(), Some(&id));
        assert_eq!(props.message_expiry_interval, Some(4), "what is left of the wait");
        assert!(p.resolve(&id, Reply::ok()));
        assert!(!p.resolve(&id, Reply::ok()), "a repeated reply has nobody waiting");
        assert_eq!(rx.await.unwrap(), Reply::ok());
        assert!(p.to_resend(now).is_empty());
    }
}
