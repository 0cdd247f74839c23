//! One emulated device on its own MQTT connection (each device has its own last
//! will, as real ones do): publishes its retained state and availability, answers
//! commands with their correlation data, remembers command ids, and follows the
//! scenario controls.

use std::collections::HashMap;
use std::time::Duration;

use hifitime::Epoch;
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet, Publish, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::control::Control;
use super::memory::Memory;
use super::roof::Roof;
use super::station::Station;
use super::{Options, SESSION_EXPIRY_S};
use crate::wire::{self, DomeReport, Reply, Topics, code};

/// Roof motion is shown in steps this fine; a real controller's limit switches are
/// read about as often.
const TICK: Duration = Duration::from_millis(100);

pub enum Kind {
    Roof(Roof),
    Station(Station),
}

/// What the event loop task hands over.
enum Net {
    Connected,
    Lost(String),
    Command(Publish),
    Gone,
}

/// Writes one line on stdout for tests and users to follow.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

struct Device {
    name: &'static str,
    kind: Kind,
    topics: Topics,
    client: AsyncClient,
    memory: Memory,
    actions: HashMap<String, u64>,
    publishing: bool,
    answering: bool,
    online: bool,
    next_publish: Instant,
    period: Duration,
    shown: Option<teld_driver_protocol::ShutterStatus>,
    /// `lose-reply`: the next carried-out command's reply is not sent.
    lose_reply: bool,
}

/// Runs one device until `quit`.
pub async fn run(
    o: Options,
    kind: Kind,
    prefix: String,
    mut controls: broadcast::Receiver<Control>,
) {
    let name = match kind {
        Kind::Roof(_) => "roof",
        Kind::Station(_) => "weather",
    };
    let topics = Topics::new(prefix);
    let mut mo =
        MqttOptions::new(format!("{}-{name}", o.client_id), o.broker.0.clone(), o.broker.1);
    mo.set_keep_alive(Duration::from_secs(5));
    mo.set_clean_start(false);
    mo.set_network_options(crate::link::no_delay());
    mo.set_session_expiry_interval(Some(SESSION_EXPIRY_S));
    mo.set_last_will(LastWill::new(
        topics.availability(),
        wire::OFFLINE,
        QoS::AtLeastOnce,
        true,
        None,
    ));
    let (client, mut eventloop) = AsyncClient::new(mo, 64);
    let (net_tx, mut net) = mpsc::channel(64);
    let pump = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(250);
        loop {
            let msg = match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(250);
                    Net::Connected
                }
                Ok(Event::Incoming(Packet::Publish(p))) => Net::Command(p),
                Ok(Event::Outgoing(Outgoing::Disconnect)) => Net::Gone,
                Ok(_) => continue,
                Err(e) => {
                    let _ = net_tx.send(Net::Lost(e.to_string())).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            let gone = matches!(msg, Net::Gone);
            if net_tx.send(msg).await.is_err() || gone {
                return;
            }
        }
    });
    let mut d = Device {
        name,
        kind,
        topics,
        client,
        memory: Memory::default(),
        actions: HashMap::new(),
        publishing: true,
        answering: true,
        online: true,
        next_publish: Instant::now(),
        period: o.period,
        shown: None,
        lose_reply: false,
    };
    let mut connected = false;
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            msg = net.recv() => match msg {
                Some(Net::Connected) => {
                    connected = true;
                    say(&format!("CONNECTED {name}"));
                    d.on_connect().await;
                }
                Some(Net::Lost(e)) => {
                    if connected {
                        say(&format!("DISCONNECTED {name}"));
                        tracing::warn!(device = name, "lost the broker: {e}");
                    }
                    connected = false;
                }
                Some(Net::Command(p)) => d.on_command(p).await,
                Some(Net::Gone) | None => break,
            },
            c = controls.recv() => match c {
                Ok(Control::Quit) | Err(broadcast::error::RecvError::Closed) => {
                    d.quit(&mut net).await;
                    break;
                }
                Ok(c) => d.control(c).await,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
            },
            _ = tick.tick() => d.tick().await,
        }
    }
    pump.abort();
}

impl Device {
    async fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) {
        if let Err(e) = self.client.publish(topic, QoS::AtLeastOnce, retain, payload).await {
            tracing::error!(device = self.name, "cannot publish: {e}");
        }
    }

    async fn on_connect(&mut self) {
        let sub = self.client.subscribe(self.topics.command(), QoS::AtLeastOnce).await;
        if let Err(e) = sub {
            tracing::error!(device = self.name, "cannot subscribe to commands: {e}");
        }
        let availability = if self.online { wire::ONLINE } else { wire::OFFLINE };
        self.publish(self.topics.availability(), true, availability.into()).await;
        if self.publishing {
            self.publish_state().await;
        }
    }

    fn state_payload(&mut self, now: Instant) -> Vec<u8> {
        let time = wire::format_time(Epoch::now().unwrap_or_default());
        let json = match &mut self.kind {
            Kind::Roof(r) => {
                r.advance(now);
                serde_json::to_vec(&DomeReport {
                    spec: Some(wire::SPEC_VERSION),
                    time,
                    shutter_status: r.status(),
                    at_park: r.at_park(),
                    slewing: false,
                })
            }
            Kind::Station(s) => serde_json::to_vec(&s.report(time)),
        };
        json.unwrap_or_default()
    }

    async fn publish_state(&mut self) {
        let now = Instant::now();
        let payload = self.state_payload(now);
        self.next_publish = now + self.period;
        self.publish(self.topics.state(), true, payload).await;
    }

    async fn tick(&mut self) {
        let now = Instant::now();
        let mut changed = false;
        if let Kind::Roof(r) = &mut self.kind {
            r.advance(now);
            let status = r.status();
            if self.shown != Some(status) {
                self.shown = Some(status);
                say(&format!(
                    "ROOF {}",
                    serde_json::to_value(status).unwrap_or_default().as_str().unwrap_or("?")
                ));
                changed = true;
            }
        }
        if self.publishing && (changed || now >= self.next_publish) {
            self.publish_state().await;
        }
    }

    async fn on_command(&mut self, p: Publish) {
        let props = p.properties.clone().unwrap_or_default();
        let (Some(reply_to), Some(id)) = (props.response_topic, props.correlation_data) else {
            tracing::warn!(
                device = self.name,
                "ignored a command without response topic or correlation data (spec §4)"
            );
            return;
        };
        let shown_id = String::from_utf8_lossy(&id).into_owned();
        if !(self.answering && self.online) {
            say(&format!("IGNORED {} id={shown_id}", self.name));
            return;
        }
        let now = Instant::now();
        let command = wire::parse_command(&p.payload);
        let method = command.as_ref().map(|c| c.method.clone()).unwrap_or_else(|_| "?".into());
        let reply = if let Some(earlier) = self.memory.recall(&id, now) {
            say(&format!("REPLAY {method} id={shown_id}"));
            earlier
        } else {
            let reply = match command {
                Ok(c) if c.expired(Epoch::now().unwrap_or_default()) => {
                    say(&format!("EXPIRED {method} id={shown_id}"));
                    Reply::err(
                        code::EXPIRED,
                        format!("received after it expired at {:?}", c.expires),
                    )
                }
                Ok(c) => self.act(&c.method, now),
                Err(e) => Reply::err(code::BAD_COMMAND, format!("cannot read the command: {e}")),
            };
            if reply.ok {
                let n = self.actions.entry(method.clone()).or_default();
                *n += 1;
                say(&format!("ACTION {method} #{n} id={shown_id}"));
            }
            self.memory.remember(id.clone(), reply.clone(), now);
            if std::mem::take(&mut self.lose_reply) {
                say(&format!("LOST reply to {method} id={shown_id}"));
                self.tick().await;
                return;
            }
            reply
        };
        let props = PublishProperties { correlation_data: Some(id), ..Default::default() };
        let payload = serde_json::to_vec(&reply).unwrap_or_default();
        let sent = self
            .client
            .publish_with_properties(reply_to, QoS::AtLeastOnce, false, payload, props)
            .await;
        if let Err(e) = sent {
            tracing::error!(device = self.name, "cannot reply: {e}");
        }
        self.tick().await;
    }

    fn act(&mut self, method: &str, now: Instant) -> Reply {
        match (&mut self.kind, method) {
            (Kind::Roof(r), "open") => r.open(now),
            (Kind::Roof(r), "close") => r.close(now),
            (Kind::Roof(r), "abort") => r.abort(now),
            (Kind::Roof(_), m) => {
                return Reply::err(
                    code::UNKNOWN_METHOD,
                    format!("a roof knows open, close and abort, not {m:?}"),
                );
            }
            (Kind::Station(_), m) => {
                return Reply::err(
                    code::UNKNOWN_METHOD,
                    format!("a weather station takes no commands ({m:?})"),
                );
            }
        }
        Reply::ok()
    }

    async fn control(&mut self, c: Control) {
        match (c, &mut self.kind) {
            (Control::Reading { name, value }, Kind::Station(s)) => {
                s.set(name, value);
            }
            (Control::Safe(v), Kind::Station(s)) => s.forced = v,
            (Control::LoseReply, Kind::Roof(_)) => {
                self.lose_reply = true;
                return;
            }
            (Control::Travel(t), Kind::Roof(r)) => {
                r.set_travel(Duration::from_secs_f64(t), Instant::now())
            }
            (Control::Publishing(on), _) => self.publishing = on,
            (Control::Answering(on), _) => self.answering = on,
            (Control::Online(on), _) => {
                self.online = on;
                self.publishing = on;
                self.answering = on;
                let payload = if on { wire::ONLINE } else { wire::OFFLINE };
                self.publish(self.topics.availability(), true, payload.into()).await;
            }
            (Control::Garbage, _) => {
                for bad in [
                    &b"{not json"[..],
                    br#"{"time":"2026-12-06T02:00:00Z","shutter_status":"ajar","at_park":false}"#,
                    br#"{"time":"2026-12-06T02:00:00Z","is_safe":true,"humidity":140}"#,
                    br#"{"spec":7,"time":"2026-12-06T02:00:00Z","is_safe":true}"#,
                    b"\xff\xfe\x00",
                ] {
                    self.publish(self.topics.state(), false, bad.to_vec()).await;
                }
                return;
            }
            _ => return, // a control for the other device
        }
        if self.publishing {
            self.publish_state().await;
        }
    }

    async fn quit(&mut self, net: &mut mpsc::Receiver<Net>) {
        self.publish(self.topics.availability(), true, wire::OFFLINE.into()).await;
        let _ = self.client.disconnect().await;
        let wait = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(m) = net.recv().await {
                if matches!(m, Net::Gone) {
                    return;
                }
            }
        });
        let _ = wait.await;
        say(&format!("BYE {}", self.name));
    }
}
