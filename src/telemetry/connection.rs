//! The link to the broker: MQTT options (identity, credentials, last will), and the
//! loop that keeps polling rumqttc's event loop, reconnects with backoff and tells the
//! rest of the daemon (the snapshot's `telemetry` view) and the publisher how it goes.

use std::time::Duration;

use rumqttc::{
    ConnectReturnCode, ConnectionError, Event as MqttEvent, EventLoop, LastWill, MqttOptions,
    Outgoing, Packet, QoS, StateError,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::TelemetryConfig;
use crate::core::Core;

use super::TelemetryError;
use super::payload::{self, REASON_CONNECTION_LOST};
use super::topics::Topics;

/// First retry comes quickly (a broker restarting takes about a second)...
const BACKOFF_MIN: Duration = Duration::from_millis(500);
/// ...and a broker that stays away is asked twice a minute, which costs nothing and
/// brings telemetry back within 30 s of it returning.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// The broker declares teld dead (and publishes the will) after 1.5 × this without a
/// packet: ~22 s after a power cut instead of the 90 s rumqttc's default would give.
/// Pings are two bytes, so a metered link does not notice.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Status and device states are a few hundred bytes; this leaves room for long event
/// details while refusing anything absurd.
pub const MAX_PACKET: usize = 256 * 1024;

/// What the publisher needs to know about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    /// Connected (again): republish status and state, resume events.
    Up,
    /// The connection dropped; rumqttc forgot whatever it had not sent.
    Down,
    /// The broker acknowledged the oldest unacknowledged QoS 1 publish.
    Acked,
    /// Our DISCONNECT went out: the graceful end.
    Closed,
}

/// `host:port` (IPv6 in brackets) into rumqttc's host and port.
pub fn parse_broker(broker: &str) -> Result<(String, u16), TelemetryError> {
    let bad = || TelemetryError::BadBroker { broker: broker.to_string() };
    let (host, port) = broker.rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Connection options. Never log these with `{:?}`: rumqttc's Debug prints the password.
pub fn options(
    cfg: &TelemetryConfig,
    site: &str,
    topics: &Topics,
) -> Result<MqttOptions, TelemetryError> {
    let (host, port) = parse_broker(&cfg.broker)?;
    let client_id = cfg.client_id.clone().unwrap_or_else(|| format!("teld-{site}"));
    let mut o = MqttOptions::new(client_id, host, port);
    o.set_keep_alive(KEEP_ALIVE);
    // A clean session: a telemetry publisher subscribes to nothing, and the outbox
    // (not the broker) is what keeps unacknowledged events across reconnects.
    o.set_clean_session(true);
    o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    o.set_last_will(LastWill::new(
        topics.status(),
        payload::status_offline(site, REASON_CONNECTION_LOST, None),
        QoS::AtLeastOnce,
        true,
    ));
    match (&cfg.username, &cfg.password) {
        (Some(user), password) => {
            o.set_credentials(user, password.clone().unwrap_or_default());
        }
        (None, Some(_)) => tracing::warn!(
            "telemetry.password is set but telemetry.username is not; MQTT sends no password without a user name, so it is ignored"
        ),
        (None, None) => {}
    }
    o.set_transport(super::tls::transport(cfg)?);
    Ok(o)
}

/// Exponential backoff between connection attempts.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub fn new() -> Self {
        Backoff { next: BACKOFF_MIN }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        d
    }

    pub fn reset(&mut self) {
        self.next = BACKOFF_MIN;
    }
}

/// An operator-facing sentence for the status page: what failed, and that teld carries on.
pub fn describe(err: &ConnectionError, broker: &str, was_connected: bool) -> String {
    let what = match err {
        ConnectionError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ConnectionError::Io(e) => e.to_string(),
        ConnectionError::NetworkTimeout => "no answer (connection timed out)".to_string(),
        ConnectionError::FlushTimeout => "the broker stopped reading (write timed out)".into(),
        ConnectionError::MqttState(StateError::ConnectionAborted) => {
            "the broker closed the connection".to_string()
        }
        ConnectionError::MqttState(StateError::AwaitPingResp) => {
            "the broker stopped answering keep-alive pings".to_string()
        }
        ConnectionError::ConnectionRefused(code) => {
            return format!(
                "MQTT broker {broker} refused teld: {}; teld keeps running and retries",
                refusal(*code)
            );
        }
        other => other.to_string(),
    };
    if was_connected {
        format!(
            "lost connection to MQTT broker {broker}: {what}; teld keeps running and reconnects"
        )
    } else {
        format!("cannot reach MQTT broker {broker}: {what}; teld keeps running and retries")
    }
}

fn refusal(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::BadUserNamePassword => {
            "bad user name or password (check telemetry.username and TELD__TELEMETRY__PASSWORD)"
        }
        ConnectReturnCode::NotAuthorized => {
            "not authorised (the broker's ACL or allow_anonymous; set telemetry.username?)"
        }
        ConnectReturnCode::BadClientId => "client id rejected (check telemetry.client_id)",
        ConnectReturnCode::ServiceUnavailable => "service unavailable",
        ConnectReturnCode::RefusedProtocolVersion => "it does not speak MQTT 3.1.1",
        ConnectReturnCode::Success => "no reason given",
    }
}

/// Polls the event loop until `stop` or until our DISCONNECT has gone out. Never
/// returns on a network error: teld keeps running and retries.
pub async fn drive(
    mut eventloop: EventLoop,
    broker: String,
    core: Core,
    link: mpsc::UnboundedSender<LinkEvent>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::new();
    let mut connected = false;
    let mut last_warned: Option<String> = None;
    loop {
        // Cancelling `poll` mid-way is only safe because the event loop is dropped
        // right after: that is also what makes an aborted teld look dead to the broker.
        let polled = tokio::select! {
            biased;
            _ = stop.cancelled() => return,
            polled = eventloop.poll() => polled,
        };
        // Nothing below awaits before `link` is told: the publisher must learn of a
        // drop before it hands rumqttc anything else.
        match polled {
            Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                connected = true;
                backoff.reset();
                last_warned = None;
                tracing::info!(%broker, "connected to MQTT broker");
                set_view(&core, true, None);
                let _ = link.send(LinkEvent::Up);
            }
            Ok(MqttEvent::Incoming(Packet::PubAck(_))) => {
                let _ = link.send(LinkEvent::Acked);
            }
            Ok(MqttEvent::Outgoing(Outgoing::Disconnect)) => {
                tracing::info!(%broker, "disconnected from MQTT broker");
                set_view(&core, false, None);
                let _ = link.send(LinkEvent::Closed);
                return;
            }
            Ok(_) => {}
            // Every client handle is gone: nobody is left to publish.
            Err(ConnectionError::RequestsDone) => return,
            Err(e) => {
                let message = describe(&e, &broker, connected);
                if connected {
                    connected = false;
                    let _ = link.send(LinkEvent::Down);
                }
                // Warn once per distinct failure, not on every retry of a long outage.
                if last_warned.as_deref() != Some(message.as_str()) {
                    tracing::warn!("{message}");
                    last_warned = Some(message.clone());
                } else {
                    tracing::debug!("{message}");
                }
                set_view(&core, false, Some(message));
                let wait = backoff.next_delay();
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

fn set_view(core: &Core, connected: bool, last_error: Option<String>) {
    // Retries during a long outage repeat the same view; do not wake every watcher.
    let now = &core.snapshot().telemetry;
    if now.connected == connected && now.last_error == last_error {
        return;
    }
    core.update(|s| {
        s.telemetry.connected = connected;
        s.telemetry.last_error = last_error;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses_parse() {
        assert_eq!(parse_broker("127.0.0.1:1883").unwrap(), ("127.0.0.1".into(), 1883));
        assert_eq!(parse_broker("mqtt.example:8883").unwrap(), ("mqtt.example".into(), 8883));
        assert_eq!(parse_broker("[::1]:1883").unwrap(), ("::1".into(), 1883));
        for bad in ["127.0.0.1", ":1883", "host:0", "host:port", "host:70000"] {
            assert!(parse_broker(bad).is_err(), "{bad}");
        }
    }

    fn cfg() -> TelemetryConfig {
        TelemetryConfig::default()
    }

    #[test]
    fn client_id_defaults_to_teld_site() {
        let topics = Topics::new("teld", "s1").unwrap();
        let o = options(&cfg(), "s1", &topics).unwrap();
        assert_eq!(o.client_id(), "teld-s1");
        let c = TelemetryConfig { client_id: Some("mine".into()), ..cfg() };
        assert_eq!(options(&c, "s1", &topics).unwrap().client_id(), "mine");
    }

    #[test]
    fn the_will_is_a_retained_offline_status() {
        let topics = Topics::new("teld", "s1").unwrap();
        let will = options(&cfg(), "s1", &topics).unwrap().last_will().unwrap();
        assert_eq!(will.topic, "teld/s1/status");
        assert!(will.retain);
        assert_eq!(will.qos, QoS::AtLeastOnce);
        let v: serde_json::Value = serde_json::from_slice(&will.message).unwrap();
        assert_eq!(v["online"], false);
        assert_eq!(v["reason"], "connection lost");
    }

    #[test]
    fn credentials_come_from_config() {
        let topics = Topics::new("teld", "s1").unwrap();
        assert!(options(&cfg(), "s1", &topics).unwrap().credentials().is_none());
        let c = TelemetryConfig { username: Some("u".into()), password: Some("p".into()), ..cfg() };
        let login = options(&c, "s1", &topics).unwrap().credentials().unwrap();
        assert_eq!((login.username.as_str(), login.password.as_str()), ("u", "p"));
    }

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets() {
        let mut b = Backoff::new();
        let secs: Vec<f64> = (0..9).map(|_| b.next_delay().as_secs_f64()).collect();
        assert_eq!(secs, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]);
        b.reset();
        assert_eq!(b.next_delay(), BACKOFF_MIN);
    }

    #[test]
    fn errors_read_as_sentences_for_operators() {
        let refused =
            ConnectionError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            describe(&refused, "127.0.0.1:1883", false),
            "cannot reach MQTT broker 127.0.0.1:1883: connection refused; teld keeps running and retries"
        );
        let aborted = ConnectionError::MqttState(StateError::ConnectionAborted);
        assert_eq!(
            describe(&aborted, "b:1", true),
            "lost connection to MQTT broker b:1: the broker closed the connection; teld keeps running and reconnects"
        );
        let auth = ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword);
        assert!(describe(&auth, "b:1", false).contains("bad user name or password"));
    }
}
