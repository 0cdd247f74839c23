//! Frame messages on `<topic_prefix>/<site>/frames`, QoS 1: delivered once the broker
//! acknowledged the PUBLISH (PUBACK), so the outbox row is marked only then.
//!
//! Its own MQTT connection, separate from telemetry's: telemetry's last will and its
//! fire-and-forget state samples must not share a session with messages whose
//! acknowledgement we wait for. One message is in flight at a time, so the first
//! PUBACK after our PUBLISH is its acknowledgement.

use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};

use crate::config::TelemetryConfig;
use crate::telemetry::{Topics, describe_mqtt_error, parse_broker};

const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// A connection idle longer than this is replaced before use: nobody polled it, so
/// its keep-alive may have lapsed on the broker's side.
const IDLE_RECONNECT: Duration = Duration::from_secs(10);
/// The message (JSON without the source list) is a few kB; the margin covers headers.
const MAX_PACKET: usize = 256 * 1024;

pub struct MqttSink {
    options: MqttOptions,
    broker: String,
    topic: String,
    timeout: Duration,
    conn: Option<(AsyncClient, EventLoop, Instant)>,
}

impl MqttSink {
    pub fn new(
        cfg: &TelemetryConfig,
        site: &str,
        timeout: Duration,
    ) -> Result<Self, crate::telemetry::TelemetryError> {
        let (host, port) = parse_broker(&cfg.broker)?;
        let topic = format!("{}/frames", Topics::new(&cfg.topic_prefix, site)?.base());
        let base = cfg.client_id.clone().unwrap_or_else(|| format!("teld-{site}"));
        let mut o = MqttOptions::new(format!("{base}-frames"), host, port);
        o.set_keep_alive(KEEP_ALIVE);
        o.set_clean_session(true);
        o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
        if let Some(user) = &cfg.username {
            o.set_credentials(user, cfg.password.clone().unwrap_or_default());
        }
        o.set_transport(crate::telemetry::tls::transport(cfg)?);
        Ok(MqttSink { options: o, broker: cfg.broker.clone(), topic, timeout, conn: None })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub async fn deliver(&mut self, payload: &str) -> Result<(), String> {
        let result = tokio::time::timeout(self.timeout, self.publish(payload)).await;
        let result = result.unwrap_or_else(|_| {
            Err(format!(
                "MQTT broker {} did not acknowledge within {:.0} s",
                self.broker,
                self.timeout.as_secs_f64()
            ))
        });
        match &result {
            // Fresh state for the next message: nothing stale in flight.
            Err(_) => self.conn = None,
            Ok(()) => {
                if let Some((_, _, used)) = &mut self.conn {
                    *used = Instant::now();
                }
            }
        }
        result
    }

    async fn publish(&mut self, payload: &str) -> Result<(), String> {
        if self.conn.as_ref().is_some_and(|(_, _, used)| used.elapsed() > IDLE_RECONNECT) {
            self.conn = None;
        }
        let fresh = self.conn.is_none();
        let (client, events, _) = self.conn.get_or_insert_with(|| {
            let (c, e) = AsyncClient::new(self.options.clone(), 4);
            (c, e, Instant::now())
        });
        client
            .try_publish(&self.topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec())
            .map_err(|e| format!("cannot queue the MQTT message: {e}"))?;
        let mut ours = None;
        loop {
            match events.poll().await {
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) if ours.is_none() => ours = Some(pkid),
                Ok(Event::Incoming(Packet::PubAck(ack))) if Some(ack.pkid) == ours => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(describe_mqtt_error(&e, &self.broker, !fresh)),
            }
        }
    }
}
