//! The driver's connection to the broker: MQTT 5 options, the task that keeps
//! polling rumqttc's event loop (which is what reconnects it), subscribing again and
//! re-sending unanswered commands on every new connection, and routing what arrives
//! to the devices' [`Tracked`] records and the commands waiting for replies.
//!
//! A clean session on purpose: verified against mosquitto 2.0, a broker restarted
//! without persistence forgets sessions anyway, so correctness cannot rest on them;
//! subscribing on every ConnAck and re-publishing pending commands (same ids) works
//! whatever the broker kept.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Packet, Publish};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::command::{Outgoing, Pending, secs};
use crate::settings::{Kind, Settings};
use crate::tracked::{Availability, Tracked};
use crate::wire::{self, Command, Report, Topics};

/// First retry comes quickly (a broker restarting takes about a second)...
const BACKOFF_MIN: Duration = Duration::from_millis(250);
/// ...and never waits long: a roof must be closable soon after the broker returns,
/// and a connection attempt to a LAN broker costs nothing.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// The broker declares the driver gone after 1.5 × this; on a LAN a ping every 5 s
/// is free and finds a dead connection (no RST: a cable pulled) within 10 s.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// State payloads are a few hundred bytes. A device sending megabytes is broken;
/// rumqttc drops the connection over an oversized packet, so the limit is generous.
const MAX_PACKET: u32 = 256 * 1024;

/// Commands are rare (a roof gets a few a night); this only bounds a burst.
const REQUEST_QUEUE: usize = 64;

/// Retained states arrive right after the subscription; this long at `configure`
/// lets the first state report be real instead of an "unknown" alert.
const FIRST_STATES: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone, Copy)]
enum Route {
    State,
    Availability,
    Reply,
}

/// What the event-loop task shares with the device calls.
pub struct Shared {
    pub tracked: Mutex<BTreeMap<String, Tracked>>,
    kinds: BTreeMap<String, Kind>,
    routes: HashMap<String, (String, Route)>,
    pub pending: Pending,
    /// Connected now, and the last connection failure for messages.
    connected: watch::Sender<(bool, Option<String>)>,
}

pub struct Link {
    client: AsyncClient,
    pub shared: Arc<Shared>,
    pub client_id: String,
    broker: String,
    timeout: Duration,
    topics: BTreeMap<String, Topics>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot reach MQTT broker {broker} within {secs} s: {why}")]
    Unreachable { broker: String, secs: String, why: String },
    #[error(
        "{device}: no reply on {reply} to `{method}` sent on {topic} within {secs} s (command id {id}); the device is off, hung or cut off from the broker"
    )]
    Timeout {
        device: String,
        method: String,
        topic: String,
        reply: String,
        secs: String,
        id: String,
    },
    #[error("MQTT client stopped; cannot send `{method}` to {device}")]
    Stopped { device: String, method: String },
}

impl Link {
    /// Connects and subscribes; fails when the broker cannot be reached within the
    /// command timeout (teld restarts the driver with backoff).
    pub async fn connect(s: &Settings) -> Result<Link, LinkError> {
        let (host, port) = s.broker_address().expect("checked by Settings::from_json");
        let client_id = s.client_id();
        let mut o = MqttOptions::new(client_id.clone(), host, port);
        o.set_keep_alive(KEEP_ALIVE);
        o.set_clean_start(true);
        o.set_max_packet_size(Some(MAX_PACKET));
        o.set_network_options(no_delay());
        if let Some(user) = &s.username {
            o.set_credentials(user, s.password.clone().unwrap_or_default());
        }
        let (client, eventloop) = AsyncClient::new(o, REQUEST_QUEUE);
        let mut tracked = BTreeMap::new();
        let mut kinds = BTreeMap::new();
        let mut routes = HashMap::new();
        let mut topics = BTreeMap::new();
        for (name, d) in &s.devices {
            let t = Topics::new(&d.prefix);
            tracked.insert(name.clone(), Tracked::new(&d.prefix, s.max_age(d)));
            kinds.insert(name.clone(), d.kind);
            routes.insert(t.state(), (name.clone(), Route::State));
            routes.insert(t.availability(), (name.clone(), Route::Availability));
            routes.insert(t.reply(&client_id), (name.clone(), Route::Reply));
            topics.insert(name.clone(), t);
        }
        let shared = Arc::new(Shared {
            tracked: Mutex::new(tracked),
            kinds,
            routes,
            pending: Pending::new(),
            connected: watch::channel((false, None)).0,
        });
        let mut up = shared.connected.subscribe();
        let task = tokio::spawn(drive(eventloop, client.clone(), shared.clone(), s.broker.clone()));
        let link = Link {
            client,
            shared,
            client_id,
            broker: s.broker.clone(),
            timeout: s.command_timeout(),
            topics,
            task,
        };
        let patience = link.timeout.max(FIRST_STATES);
        let waited =
            tokio::time::timeout(patience, up.wait_for(|c| c.0)).await.is_ok_and(|r| r.is_ok());
        if !waited {
            let why = up.borrow().1.clone().unwrap_or_else(|| "no answer".into());
            return Err(LinkError::Unreachable {
                broker: link.broker.clone(),
                secs: secs(patience),
                why,
            });
        }
        let deadline = Instant::now() + FIRST_STATES;
        while Instant::now() < deadline && !link.all_heard() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(link)
    }

    fn all_heard(&self) -> bool {
        let t = self.shared.tracked.lock().unwrap_or_else(|p| p.into_inner());
        t.values().all(|t| t.last.is_some() || t.availability == Availability::Offline)
    }

    /// Reads a device's record under the lock (never held across an await).
    pub fn with<R>(&self, device: &str, f: impl FnOnce(&Tracked) -> R) -> Option<R> {
        let t = self.shared.tracked.lock().unwrap_or_else(|p| p.into_inner());
        t.get(device).map(f)
    }

    /// Sends `method` to `device` (QoS 1, response topic, correlation id) and waits
    /// for its reply.
    pub async fn command(&self, device: &str, method: &str) -> Result<wire::Reply, LinkError> {
        let t = &self.topics[device];
        let expires = hifitime::Epoch::now()
            .map(|now| wire::format_time(now + hifitime::Duration::from(self.timeout)))
            .ok();
        let payload = serde_json::to_vec(&Command {
            spec: None,
            method: method.into(),
            params: serde_json::Value::Null,
            expires,
        })
        .unwrap_or_default();
        let now = Instant::now();
        let c = Outgoing {
            device: device.to_string(),
            topic: t.command(),
            payload: Bytes::from(payload),
            reply_topic: t.reply(&self.client_id),
            correlation: self.shared.pending.next_id(),
            deadline: now + self.timeout,
        };
        let (topic, payload, props, id) =
            (c.topic.clone(), c.payload.clone(), c.properties(now), c.correlation.clone());
        let reply = self.shared.pending.insert(c);
        let shown = String::from_utf8_lossy(&id).into_owned();
        tracing::info!(device, method, topic, id = shown, "command sent");
        let sent = tokio::time::timeout(
            self.timeout,
            self.client.publish_with_properties(&topic, QoS::AtLeastOnce, false, payload, props),
        )
        .await;
        let result = match sent {
            Ok(Err(_)) => Err(LinkError::Stopped { device: device.into(), method: method.into() }),
            // Handed over, or rumqttc's queue stayed full (the broker long away): either
            // way the command is pending and re-sent on reconnect until the deadline.
            Err(_) | Ok(Ok(())) => match tokio::time::timeout_at(now + self.timeout, reply).await {
                Ok(Ok(r)) => Ok(r),
                _ => Err(LinkError::Timeout {
                    device: device.into(),
                    method: method.into(),
                    topic: topic.clone(),
                    reply: t.reply(&self.client_id),
                    secs: secs(self.timeout),
                    id: shown.clone(),
                }),
            },
        };
        self.shared.pending.forget(&id);
        result
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Small packets go out at once. With Nagle's algorithm a command's round trip waited
/// for delayed ACKs: measured on loopback mosquitto, 88 ms median with Nagle in both
/// clients, 44 ms without, 0.3 ms once the broker has `set_tcp_nodelay true` too.
pub fn no_delay() -> rumqttc::NetworkOptions {
    let mut n = rumqttc::NetworkOptions::new();
    n.set_tcp_nodelay(true);
    n
}

/// Keeps polling the event loop: that is what reconnects. Never returns on a
/// network error.
async fn drive(mut eventloop: EventLoop, client: AsyncClient, shared: Arc<Shared>, broker: String) {
    let mut backoff = BACKOFF_MIN;
    let mut last_warned: Option<String> = None;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                backoff = BACKOFF_MIN;
                last_warned = None;
                tracing::info!(%broker, session_present = ack.session_present, "connected to MQTT broker");
                shared.connected.send_replace((true, None));
                // On a task of its own: the client's queue drains only while we poll.
                tokio::spawn(subscribe_and_resend(client.clone(), shared.clone()));
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if let Some(device) = route(&shared, &p) {
                    tokio::spawn(resend(client.clone(), shared.clone(), Some(device)));
                }
            }
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => return,
            Err(e) => {
                let was = shared.connected.borrow().0;
                let message = if was {
                    format!(
                        "lost MQTT broker {broker}: {e}; reconnecting (if this repeats right after every connect, another client uses client id {:?})",
                        eventloop.options.client_id()
                    )
                } else {
                    format!("cannot reach MQTT broker {broker}: {e}; retrying")
                };
                if last_warned.as_deref() != Some(message.as_str()) {
                    tracing::warn!("{message}");
                    last_warned = Some(message.clone());
                }
                shared.connected.send_replace((false, Some(e.to_string())));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

async fn subscribe_and_resend(client: AsyncClient, shared: Arc<Shared>) {
    let filters: Vec<Filter> =
        shared.routes.keys().map(|t| Filter::new(t.clone(), QoS::AtLeastOnce)).collect();
    if let Err(e) = client.subscribe_many(filters).await {
        tracing::error!("cannot subscribe to the devices' topics: {e}");
        return;
    }
    resend(client, shared, None).await;
}

/// Re-publishes unanswered commands (of `only` that device): after our reconnect,
/// and when a device announces `online` — after a broker restart it may subscribe
/// after our first re-send went to nobody.
async fn resend(client: AsyncClient, shared: Arc<Shared>, only: Option<String>) {
    for (device, topic, payload, props) in shared.pending.to_resend(Instant::now()) {
        if only.as_ref().is_some_and(|o| *o != device) {
            continue;
        }
        let id = props.correlation_data.as_ref().map(|c| String::from_utf8_lossy(c).into_owned());
        tracing::info!(device, topic, id, "re-sending an unanswered command (same id)");
        if let Err(e) =
            client.publish_with_properties(topic, QoS::AtLeastOnce, false, payload, props).await
        {
            tracing::error!(device, "cannot re-send a command: {e}");
        }
    }
}

/// Hands an incoming message to whoever it is for; logs and drops anything malformed.
/// Returns the device that just announced `online`.
fn route(shared: &Shared, p: &Publish) -> Option<String> {
    let Ok(topic) = std::str::from_utf8(&p.topic) else {
        tracing::warn!("ignored a message on a topic that is not UTF-8");
        return None;
    };
    let Some((device, what)) = shared.routes.get(topic) else {
        tracing::debug!(topic, "ignored a message on a topic no device uses");
        return None;
    };
    let shown = || String::from_utf8_lossy(&p.payload[..p.payload.len().min(200)]).into_owned();
    match what {
        Route::Reply => {
            let Some(id) = p.properties.as_ref().and_then(|pp| pp.correlation_data.as_ref()) else {
                tracing::warn!(
                    device,
                    topic,
                    "ignored a reply without correlation data: {}",
                    shown()
                );
                return None;
            };
            match wire::parse_reply(&p.payload) {
                Ok(reply) => {
                    if !shared.pending.resolve(id, reply) {
                        let id = String::from_utf8_lossy(id);
                        tracing::debug!(device, %id, "reply to a command nobody waits for (late or repeated)");
                    }
                }
                Err(e) => {
                    tracing::warn!(device, topic, "ignored a malformed reply ({e}): {}", shown())
                }
            }
        }
        Route::Availability => {
            let mut t = shared.tracked.lock().unwrap_or_else(|p| p.into_inner());
            let t = t.get_mut(device)?;
            match wire::parse_availability(&p.payload) {
                Ok(online) => {
                    let now = if online { Availability::Online } else { Availability::Offline };
                    if t.availability != now {
                        if online {
                            tracing::info!(device, topic, "device online");
                        } else {
                            tracing::warn!(device, topic, "device offline");
                        }
                    }
                    t.availability = now;
                    return online.then(|| device.clone());
                }
                Err(e) => {
                    t.refused += 1;
                    tracing::warn!(device, topic, "ignored a malformed availability: {e}");
                }
            }
        }
        Route::State => {
            let parsed = match shared.kinds[device] {
                Kind::Dome => wire::parse_dome(&p.payload).map(Report::Dome),
                Kind::Weather => wire::parse_weather(&p.payload).map(Report::Weather),
            };
            let mut t = shared.tracked.lock().unwrap_or_else(|p| p.into_inner());
            let t = t.get_mut(device)?;
            match parsed {
                Ok(r) => t.last = Some((r, Instant::now())),
                Err(e) => {
                    t.refused += 1;
                    tracing::warn!(
                        device,
                        topic,
                        "ignored a malformed state ({e}); the last good one ages on: {}",
                        shown()
                    );
                }
            }
        }
    }
    None
}
