//! MQTT telemetry: what dashboards, the operations centre and the image pipeline see of
//! a site. Topics live under `<topic_prefix>/<site>/` (see [`Topics`] and
//! `docs/mqtt-telemetry.md`):
//!
//! - `status`: retained online/offline, with the offline one also set as the last will
//!   so the broker marks the site offline when teld dies without a word;
//! - `telescopes/<name>/<part>` and `drivers/<name>`: retained state on change and every interval;
//! - `events/<kind>`: every core [`Event`](crate::core::Event), QoS 1, as it happens.
//!
//! Two halves run inside one future: [`connection`] polls rumqttc and reconnects with
//! backoff, [`publisher`] turns state into messages. Keeping them in one future (not two
//! tasks) means aborting the task drops the socket without DISCONNECT, exactly like
//! `kill -9`, and the broker publishes the will.
//!
//! Nothing here can slow the daemon down: the core's state is a `watch` and its events a
//! `broadcast`, neither ever waits for us, and we only ever `try_publish`.

mod connection;
mod outbox;
mod payload;
mod publisher;
pub(crate) mod tls;
mod topics;

use std::time::Duration;

use rumqttc::AsyncClient;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::TelemetryConfig;
use crate::core::{Core, Event, TelemetryView};

pub use connection::{describe as describe_mqtt_error, parse_broker};
pub use payload::{REASON_CONNECTION_LOST, REASON_SHUTDOWN};
pub use topics::{TELESCOPE_PARTS, Topics};

/// Messages rumqttc holds before the socket takes them: a few state samples of a large
/// site plus a burst of events. When full, samples wait for the next interval and
/// events wait in the outbox.
const CLIENT_QUEUE: usize = 256;

/// Events kept while the broker is unreachable or slow: more than the core's broadcast
/// buffer, so a burst the core delivered is not lost here; at a few hundred bytes each
/// about a megabyte at most. Beyond it the oldest go, and an `events/alert` says so.
const EVENT_BACKLOG: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry.broker `{broker}` must be host:port, e.g. 127.0.0.1:1883")]
    BadBroker { broker: String },
    #[error(
        "MQTT topic base `{topic}` is not usable: telemetry.topic_prefix and site.name must be non-empty and free of `+`, `#` (and `/` in the site name)"
    )]
    BadTopic { topic: String },
    #[error(
        "MQTT TLS: cannot use the CA certificates in {}: {reason}; set telemetry.ca_file to a PEM file of the CA that signed the broker's certificate",
        file.display()
    )]
    Tls { file: std::path::PathBuf, reason: String },
}

/// Starts telemetry on the current runtime. Subscribes to events before returning, so
/// nothing published after this call is missed.
pub fn spawn(
    cfg: TelemetryConfig,
    site: String,
    core: Core,
    clock: Clock,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    spawn_watched(cfg, site, core, clock, shutdown, &crate::liveness::Liveness::default())
}

/// [`spawn`] as the watched task `telemetry`: the publisher's every interval shows life.
pub fn spawn_watched(
    cfg: TelemetryConfig,
    site: String,
    core: Core,
    clock: Clock,
    shutdown: CancellationToken,
    liveness: &crate::liveness::Liveness,
) -> JoinHandle<()> {
    let events = core.subscribe();
    let interval = Duration::from_secs_f64(cfg.interval_s.clamp(0.1, 3600.0));
    let allowed = crate::liveness::allowance(interval);
    tokio::spawn(liveness.watch(
        "telemetry",
        allowed,
        run_with(events, cfg, site, core, clock, shutdown),
    ))
}

/// Publishes until `shutdown`, then says goodbye (bounded by a few seconds) and returns.
/// Broker trouble never ends it: it is reported in `core.snapshot().telemetry` and
/// retried. With `enabled = false` it records that and returns at once.
pub async fn run(
    cfg: TelemetryConfig,
    site: String,
    core: Core,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let events = core.subscribe();
    run_with(events, cfg, site, core, clock, shutdown).await
}

async fn run_with(
    events: broadcast::Receiver<Event>,
    cfg: TelemetryConfig,
    site: String,
    core: Core,
    clock: Clock,
    shutdown: CancellationToken,
) {
    core.update(|s| {
        s.telemetry = TelemetryView {
            enabled: cfg.enabled,
            broker: cfg.broker.clone(),
            connected: false,
            last_error: None,
        }
    });
    if !cfg.enabled {
        tracing::info!("MQTT telemetry disabled");
        return;
    }
    let setup = Topics::new(&cfg.topic_prefix, &site)
        .and_then(|topics| Ok((connection::options(&cfg, &site, &topics)?, topics)));
    let (options, topics) = match setup {
        Ok(ok) => ok,
        Err(e) => {
            // Config validation should have caught this; say it where operators look.
            tracing::error!("MQTT telemetry not started: {e}");
            core.update(|s| s.telemetry.last_error = Some(format!("not started: {e}")));
            return;
        }
    };
    tracing::info!(broker = %cfg.broker, topics = %topics.base(), client_id = %options.client_id(), "MQTT telemetry starting");

    let (client, eventloop) = AsyncClient::new(options, CLIENT_QUEUE);
    // Unbounded but small by construction: one message per connect, drop or
    // acknowledgement, and acknowledgements never outnumber what we handed over.
    let (link_tx, link_rx) = mpsc::unbounded_channel();
    let stop_connection = CancellationToken::new();
    // Validation requires >= 0.1 s; guard anyway, as a NaN or infinity would panic here.
    let secs = match cfg.interval_s {
        s if s.is_nan() => TelemetryConfig::default().interval_s,
        s => s.clamp(0.1, 3600.0),
    };
    let interval = Duration::from_secs_f64(secs);
    let publisher = publisher::Publisher::new(
        client,
        topics,
        core.clone(),
        clock,
        site,
        interval,
        EVENT_BACKLOG,
    );
    let publishing = async {
        publisher.run(events, link_rx, shutdown).await;
        stop_connection.cancel();
    };
    let connecting = connection::drive(
        eventloop,
        cfg.broker.clone(),
        core.clone(),
        link_tx,
        stop_connection.clone(),
    );
    tokio::join!(connecting, publishing);
    core.update(|s| s.telemetry.connected = false);
}
