//! MQTT telemetry against a real Mosquitto: what a subscriber of the site sees.
//!
//! Every test has its own topic prefix and client ids, so they run in parallel on one
//! broker, and clears the retained messages it leaves behind. No fixed sleeps: each
//! step waits for a message or a state change, with a deadline.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hifitime::Epoch;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};
use serde_json::Value;
use teld::clock::Clock;
use teld::config::TelemetryConfig;
use teld::core::{
    BlockView, Core, DriverStatus, DriverView, Event, SafetyView, Snapshot, TelemetryView,
    TelescopeView,
};
use teld::telemetry::{self, TELESCOPE_PARTS, Topics};
use teld_driver_protocol::time::format_utc;
use teld_driver_protocol::{EquatorialSystem, MountState, PierSide, WeatherState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use common::peers::{mqtt_broker, require};

/// Generous: a loaded CI machine, and a reconnect may sit in a 2 s backoff.
const WAIT: Duration = Duration::from_secs(20);
const SITE: &str = "s1";

fn t0() -> Epoch {
    Epoch::from_gregorian_utc(2026, 11, 24, 22, 0, 0, 0)
}

fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("teldtest-{}-{nanos}-{what}", std::process::id())
}

fn broker(what: &str) -> Option<SocketAddr> {
    require(mqtt_broker(), "MQTT broker (TELD_TEST_MQTT or 127.0.0.1:1883)", what)
}

fn mount() -> MountState {
    MountState {
        connected: true,
        right_ascension: 5.5,
        declination: -5.4,
        altitude: 45.0,
        azimuth: 180.0,
        tracking: true,
        slewing: false,
        at_park: false,
        side_of_pier: PierSide::West,
        equatorial_system: EquatorialSystem::J2000,
    }
}

/// A telescope observing M42 with a mount and weather station (no camera or dome
/// report yet), and one driver.
fn site_snapshot() -> Snapshot {
    let mut s = Snapshot::default();
    let scope = TelescopeView {
        mount: Some(mount()),
        camera: None,
        dome: None,
        weather: Some(WeatherState {
            connected: true,
            is_safe: true,
            cloud_cover: Some(10.0),
            humidity: Some(40.0),
            rain_rate: None,
            wind_speed: None,
            temperature: Some(8.5),
            pressure: None,
            sky_quality: None,
        }),
        filter_wheel: None,
        focuser: None,
        safety: SafetyView {
            safe: true,
            level: teld::safety::SafetyLevel::Safe,
            reason: None,
            since: Some(format_utc(t0())),
            ..SafetyView::default()
        },
        activity: "observing".into(),
        block: Some(BlockView {
            request_id: 7,
            observation_id: 9,
            target: "M42".into(),
            ra_deg: 83.82,
            dec_deg: -5.39,
            started_at: format_utc(t0()),
            frames_done: 1,
            frames_total: 3,
            phase: "exposing".into(),
            phase_since: format_utc(t0()),
        }),
        control: Default::default(),
    };
    s.telescopes.insert("t1".into(), scope);
    s.drivers.insert(
        "sim".into(),
        DriverView {
            kind: "sim".into(),
            status: DriverStatus::Up,
            pid: Some(4242),
            version: Some("0.1.0".into()),
            restarts: 0,
            last_error: None,
            faulted: Default::default(),
        },
    );
    s
}

/// teld's telemetry, running against `broker` on a manual clock stopped at [`t0`].
struct Teld {
    core: Core,
    clock: Clock,
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
    prefix: String,
}

impl Teld {
    fn start(broker: SocketAddr, name: &str, interval_s: f64) -> Self {
        let prefix = unique(name);
        let cfg = TelemetryConfig {
            enabled: true,
            broker: broker.to_string(),
            client_id: Some(unique(&format!("{name}-teld"))),
            topic_prefix: prefix.clone(),
            interval_s,
            ..TelemetryConfig::default()
        };
        let core = Core::new(site_snapshot());
        let clock = Clock::manual(t0());
        let shutdown = CancellationToken::new();
        let handle =
            telemetry::spawn(cfg, SITE.into(), core.clone(), clock.clone(), shutdown.clone());
        Teld { core, clock, shutdown, handle, prefix }
    }

    fn topics(&self) -> Topics {
        Topics::new(&self.prefix, SITE).unwrap()
    }

    fn all(&self) -> String {
        format!("{}/#", self.topics().base())
    }

    /// Waits until the snapshot's telemetry view satisfies `pred`.
    async fn view_until(&self, what: &str, pred: impl Fn(&TelemetryView) -> bool) -> TelemetryView {
        let mut rx = self.core.watch();
        let found = tokio::time::timeout(WAIT, rx.wait_for(|s| pred(&s.telemetry)))
            .await
            .unwrap_or_else(|_| {
                panic!("telemetry view never became {what}: {:?}", self.core.snapshot().telemetry)
            })
            .expect("core dropped");
        found.telemetry.clone()
    }

    /// Graceful stop, bounded.
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("telemetry did not stop after shutdown")
            .expect("telemetry task failed");
    }

    /// The retained topics this site can leave on a broker.
    fn retained_topics(&self) -> Vec<String> {
        let t = self.topics();
        let mut v = vec![t.status(), t.driver("sim")];
        v.extend(TELESCOPE_PARTS.iter().map(|p| t.telescope("t1", p)));
        v
    }
}

#[derive(Debug)]
struct Msg {
    topic: String,
    json: Value,
    retain: bool,
    qos: QoS,
}

/// A subscriber in its own task, forwarding every message to the test.
struct Subscriber {
    rx: mpsc::UnboundedReceiver<Msg>,
    task: JoinHandle<()>,
}

impl Subscriber {
    async fn connect(addr: SocketAddr, filter: &str) -> Self {
        Self::connect_with(addr, filter, unique("sub"), true).await
    }

    /// `clean = false` keeps the session (and QoS 1 messages for it) on the broker while
    /// this subscriber is away; the subscriber reconnects by itself.
    async fn connect_with(addr: SocketAddr, filter: &str, id: String, clean: bool) -> Self {
        let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        o.set_clean_session(clean);
        o.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(o, 16);
        client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let _client = client; // dropping it would end the event loop
            let mut ready = Some(ready_tx);
            loop {
                match eventloop.poll().await {
                    Ok(MqttEvent::Incoming(Packet::SubAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                    }
                    Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                        let json = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                        let m = Msg { topic: p.topic, json, retain: p.retain, qos: p.qos };
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // Only the private broker goes away on purpose; wait for it to return.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(WAIT, ready_rx)
            .await
            .expect("no SUBACK from the broker")
            .expect("subscriber task ended");
        Subscriber { rx, task }
    }

    /// The next message satisfying `pred`, skipping others.
    async fn next_where(&mut self, what: &str, mut pred: impl FnMut(&Msg) -> bool) -> Msg {
        let deadline = Instant::now() + WAIT;
        loop {
            let m = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {WAIT:?}"))
                .expect("subscriber stopped");
            if pred(&m) {
                return m;
            }
        }
    }

    async fn status(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Msg {
        self.next_where(what, |m| m.topic.ends_with("/status") && pred(&m.json)).await
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Deletes retained messages (an empty retained publish) so the shared broker's
/// persistent store does not fill up with test sites.
async fn clear_retained(addr: SocketAddr, topics: &[String]) {
    let o = MqttOptions::new(unique("clean"), addr.ip().to_string(), addr.port());
    let (client, mut eventloop) = AsyncClient::new(o, topics.len() + 1);
    for t in topics {
        client.publish(t, QoS::AtLeastOnce, true, Vec::new()).await.unwrap();
    }
    let mut acked = 0;
    let _ = tokio::time::timeout(WAIT, async {
        while acked < topics.len() {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(_) => return,
            }
        }
    })
    .await;
}

fn is_online(v: &Value) -> bool {
    v["online"] == true
}

fn offline_because(reason: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["online"] == false && v["reason"] == reason
}

#[tokio::test]
async fn status_is_retained_online_and_reaches_late_subscribers() {
    let Some(addr) = broker("retained status") else { return };
    let teld = Teld::start(addr, "status", 2.0);
    let mut early = Subscriber::connect(addr, &teld.all()).await;

    let m = early.status("online status", is_online).await;
    assert_eq!(m.json["software"], teld::SOFTWARE);
    assert_eq!(m.json["site"], SITE);
    assert_eq!(m.json["clock"]["utc"], format_utc(t0()));
    assert_eq!(m.json["clock"]["mode"], "manual");
    assert_eq!(m.json["clock"]["speed"], 0.0);
    assert_eq!(m.json["since"], format_utc(t0()));

    let mut late = Subscriber::connect(addr, &teld.topics().status()).await;
    let m = late.status("retained online status", is_online).await;
    assert!(m.retain, "a late subscriber gets the status as a retained message");

    let view = teld.core.snapshot().telemetry.clone();
    assert!(view.enabled && view.connected, "{view:?}");
    assert_eq!(view.broker, addr.to_string());
    assert_eq!(view.last_error, None);

    let topics = teld.retained_topics();
    teld.stop().await;
    clear_retained(addr, &topics).await;
}

#[tokio::test]
async fn device_state_arrives_every_interval_with_the_snapshot_content() {
    let Some(addr) = broker("periodic device state") else { return };
    let teld = Teld::start(addr, "state", 0.2);
    let mut sub = Subscriber::connect(addr, &teld.all()).await;
    let t = teld.topics();

    // At 0.2 s, 5 samples take about a second; the deadline only guards against a hang.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..5 {
        let m = sub
            .next_where("a mount sample", |m| {
                seen.insert(m.topic.clone());
                m.topic == t.telescope("t1", "mount")
            })
            .await;
        assert_eq!(m.json["right_ascension"], 5.5);
        assert_eq!(m.json["side_of_pier"], "west");
        assert_eq!(m.json["utc"], format_utc(t0()));
    }
    for part in ["weather", "safety", "block", "activity"] {
        assert!(seen.contains(&t.telescope("t1", part)), "no {part} among {seen:?}");
    }
    assert!(seen.contains(&t.driver("sim")), "no driver among {seen:?}");
    for silent in ["camera", "dome"] {
        assert!(!seen.contains(&t.telescope("t1", silent)), "{silent} never reported: {seen:?}");
    }

    let m = sub.next_where("block", |m| m.topic == t.telescope("t1", "block")).await;
    assert_eq!(m.json["active"], true);
    assert_eq!(m.json["target"], "M42");
    let m = sub.next_where("weather", |m| m.topic == t.telescope("t1", "weather")).await;
    assert_eq!(m.json["cloud_cover"], 10.0);
    assert!(m.json.get("rain_rate").is_none(), "unmeasured values are absent: {}", m.json);
    let m = sub.next_where("activity", |m| m.topic == t.telescope("t1", "activity")).await;
    assert_eq!(m.json["activity"], "observing");
    let m = sub.next_where("driver", |m| m.topic == t.driver("sim")).await;
    assert_eq!(m.json["status"], "up");
    assert_eq!(m.json["pid"], 4242);

    // Samples follow the live snapshot and its clock.
    teld.clock.advance(hifitime::Duration::from_seconds(60.0));
    teld.core.update(|s| {
        let scope = s.telescopes.get_mut("t1").unwrap();
        scope.mount.as_mut().unwrap().slewing = true;
        scope.block = None;
    });
    let later = format_utc(t0() + hifitime::Duration::from_seconds(60.0));
    let m = sub
        .next_where("a mount sample showing the slew", |m| {
            m.topic == t.telescope("t1", "mount") && m.json["slewing"] == true
        })
        .await;
    assert_eq!(m.json["utc"], later);
    sub.next_where("an idle block", |m| {
        m.topic == t.telescope("t1", "block") && m.json["active"] == false
    })
    .await;

    let mut late = Subscriber::connect(addr, &t.telescope("t1", "mount")).await;
    let m = late.next_where("retained mount state", |m| m.retain).await;
    assert_eq!(m.json["slewing"], true);

    let topics = teld.retained_topics();
    teld.stop().await;
    clear_retained(addr, &topics).await;
}

#[tokio::test]
async fn core_events_reach_events_kind_as_qos1() {
    let Some(addr) = broker("events") else { return };
    let teld = Teld::start(addr, "events", 2.0);
    let mut sub = Subscriber::connect(addr, &teld.all()).await;
    sub.status("online status", is_online).await;

    teld.core.publish(Event::Frame {
        telescope: "t1".into(),
        request_id: Some(7),
        observation_id: Some(9),
        frame_id: 11,
        path: "2026-11-24/t1/r7/f11.fits".into(),
        source: teld::core::FrameSource::Teld,
        at: t0(),
    });
    let m = sub.next_where("frame event", |m| m.topic.ends_with("/events/frame")).await;
    assert_eq!(m.topic, teld.topics().event("frame"));
    assert_eq!(m.json["type"], "frame");
    assert_eq!(m.json["telescope"], "t1");
    assert_eq!(m.json["frame_id"], 11);
    assert_eq!(m.json["request_id"], 7);
    assert_eq!(m.json["source"], "teld");
    assert_eq!(m.json["path"], "2026-11-24/t1/r7/f11.fits");
    assert_eq!(m.json["at"], format_utc(t0()));
    assert_eq!(m.qos, QoS::AtLeastOnce);
    assert!(!m.retain);

    teld.core.publish(Event::Safety {
        telescope: "t1".into(),
        safe: false,
        level: teld::safety::SafetyLevel::Emergency,
        reason: Some("rain".into()),
        at: t0(),
    });
    let m = sub.next_where("safety event", |m| m.topic.ends_with("/events/safety")).await;
    assert_eq!(m.json["safe"], false);
    assert_eq!(m.json["level"], "emergency");
    assert_eq!(m.json["reason"], "rain");

    let topics = teld.retained_topics();
    teld.stop().await;
    clear_retained(addr, &topics).await;
}

/// The test publishes without yielding on a single-threaded runtime, so telemetry
/// cannot keep up and the core's broadcast channel overwrites events it has not read.
#[tokio::test(flavor = "current_thread")]
async fn a_lagging_event_stream_is_reported_and_publishing_goes_on() {
    let Some(addr) = broker("event lag note") else { return };
    let teld = Teld::start(addr, "lag", 2.0);
    let mut sub = Subscriber::connect(addr, &teld.topics().event("alert")).await;
    let mut status = Subscriber::connect(addr, &teld.topics().status()).await;
    status.status("online status", is_online).await;

    const BURST: u64 = 3000;
    for i in 0..BURST {
        teld.core.publish(Event::Driver {
            driver: "sim".into(),
            status: "up".into(),
            detail: Some(format!("burst {i}")),
            at: t0(),
        });
    }
    teld.core.publish(Event::Alert { source: "test".into(), message: "after".into(), at: t0() });

    let note = sub.next_where("drop note", |m| m.json["source"] == "telemetry").await;
    let dropped = note.json["dropped"].as_u64().expect("a dropped count");
    assert!((1..=BURST).contains(&dropped), "{}", note.json);
    assert!(note.json["message"].as_str().unwrap().contains("faster than telemetry"));
    sub.next_where("the event after the burst", |m| m.json["message"] == "after").await;

    let topics = teld.retained_topics();
    teld.stop().await;
    clear_retained(addr, &topics).await;
}

#[tokio::test]
async fn an_aborted_teld_is_marked_offline_by_its_last_will() {
    let Some(addr) = broker("last will") else { return };
    let teld = Teld::start(addr, "will", 2.0);
    let mut sub = Subscriber::connect(addr, &teld.topics().status()).await;
    sub.status("online status", is_online).await;

    // Like kill -9: the future is dropped mid-flight, the socket closes, no DISCONNECT.
    let topics = teld.retained_topics();
    teld.handle.abort();
    let err = tokio::time::timeout(WAIT, teld.handle).await.expect("abort hangs").unwrap_err();
    assert!(err.is_cancelled());

    let m = sub.status("will", offline_because("connection lost")).await;
    assert_eq!(m.json["site"], SITE);
    let mut late = Subscriber::connect(addr, &topics[0]).await;
    let m = late.status("retained will", |v| v["online"] == false).await;
    assert!(m.retain);
    assert_eq!(m.json["reason"], "connection lost");

    clear_retained(addr, &topics).await;
}

#[tokio::test]
async fn a_graceful_shutdown_says_shutdown_and_not_the_will() {
    let Some(addr) = broker("graceful shutdown") else { return };
    let teld = Teld::start(addr, "bye", 2.0);
    let mut sub = Subscriber::connect(addr, &teld.topics().status()).await;
    sub.status("online status", is_online).await;

    let core = teld.core.clone();
    let topics = teld.retained_topics();
    teld.stop().await;
    assert!(!core.snapshot().telemetry.connected);

    let m = sub.status("offline status", |v| v["online"] == false).await;
    assert_eq!(m.json["reason"], "shutdown");
    assert_eq!(m.json["utc"], format_utc(t0()));
    let mut late = Subscriber::connect(addr, &topics[0]).await;
    let m = late.status("retained offline status", |v| v["online"] == false).await;
    assert_eq!(m.json["reason"], "shutdown", "the will must not follow a clean DISCONNECT");

    clear_retained(addr, &topics).await;
}

#[tokio::test]
async fn disabled_telemetry_only_says_so() {
    let core = Core::new(Snapshot::default());
    let cfg = TelemetryConfig { enabled: false, ..TelemetryConfig::default() };
    let run = telemetry::run(
        cfg,
        SITE.into(),
        core.clone(),
        Clock::manual(t0()),
        CancellationToken::new(),
    );
    tokio::time::timeout(WAIT, run).await.expect("disabled telemetry returns at once");
    let view = core.snapshot().telemetry.clone();
    assert!(!view.enabled && !view.connected && view.last_error.is_none(), "{view:?}");
}

fn mosquitto() -> Option<PathBuf> {
    let on_path = Command::new("mosquitto")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if on_path {
        return Some("mosquitto".into());
    }
    let sbin = PathBuf::from("/usr/sbin/mosquitto");
    sbin.exists().then_some(sbin)
}

/// A Mosquitto of our own on a loopback port, so the test can take it away. Persistent,
/// so a subscriber's session (and the QoS 1 messages queued for it) survives a restart.
struct PrivateBroker {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl PrivateBroker {
    fn new(bin: PathBuf) -> Self {
        Self::with_extra(bin, "")
    }

    /// With `extra` appended to its configuration (another listener, say).
    fn with_extra(bin: PathBuf, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Mosquitto started as root drops to its own user, which must write the store.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n{extra}",
            dir.path().display()
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        PrivateBroker { bin, dir, port, child: None }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("mosquitto.log"))
            .unwrap();
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(self.addr()).await.is_err() {
            assert!(Instant::now() < deadline, "private mosquitto did not start: {}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, so Mosquitto saves its store (sessions, queued messages) and exits.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn teld_keeps_running_without_a_broker_and_connects_when_one_appears() {
    let Some(bin) = require(mosquitto(), "mosquitto binary", "broker-down / reconnect behaviour")
    else {
        return;
    };
    let mut broker = PrivateBroker::new(bin);
    let teld = Teld::start(broker.addr(), "down", 2.0);

    let view = teld.view_until("an error", |v| v.last_error.is_some()).await;
    assert!(!view.connected);
    let error = view.last_error.unwrap();
    assert_eq!(
        error,
        format!(
            "cannot reach MQTT broker {}: connection refused; teld keeps running and retries",
            broker.addr()
        )
    );
    assert!(!teld.handle.is_finished(), "telemetry must keep running without a broker");

    broker.start().await;
    let view = teld.view_until("connected", |v| v.connected).await;
    assert_eq!(view.last_error, None);
    let mut sub =
        Subscriber::connect_with(broker.addr(), &teld.all(), unique("persistent"), false).await;
    let m = sub.status("online status", is_online).await;
    assert_eq!(m.json["clock"]["utc"], format_utc(t0()));

    // The broker goes away; an event happens meanwhile; the broker comes back.
    broker.stop();
    let view = teld.view_until("disconnected", |v| !v.connected).await;
    assert!(view.last_error.is_some());
    let later = t0() + hifitime::Duration::from_seconds(3600.0);
    teld.clock.advance(hifitime::Duration::from_seconds(3600.0));
    teld.core.publish(Event::Alert {
        source: "test".into(),
        message: "while the broker was away".into(),
        at: later,
    });
    assert!(!teld.handle.is_finished());

    broker.start().await;
    teld.view_until("reconnected", |v| v.connected && v.last_error.is_none()).await;
    // Status is republished on reconnect (the clock has moved on), and the event kept
    // in the outbox is delivered.
    let (mut republished, mut kept) = (false, false);
    let event_topic = teld.topics().event("alert");
    sub.next_where("republished status and the kept event", |m| {
        if m.topic.ends_with("/status") && is_online(&m.json) {
            republished |= m.json["clock"]["utc"] == format_utc(later);
        }
        if m.json["message"] == "while the broker was away" {
            assert_eq!(m.topic, event_topic);
            assert_eq!(m.json["at"], format_utc(later));
            kept = true;
        }
        republished && kept
    })
    .await;

    teld.stop().await;
    broker.stop();
}

/// A TCP relay between teld and the broker that the test can make swallow teld's bytes
/// (a link that died without either side noticing yet) and then cut.
struct Proxy {
    addr: SocketAddr,
    blackhole: watch::Sender<bool>,
    /// Everything swallowed so far, to see what teld believed it had sent.
    swallowed: watch::Sender<Vec<u8>>,
    /// Bumped to close every open connection.
    cut: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let blackhole = watch::Sender::new(false);
        let swallowed = watch::Sender::new(Vec::new());
        let cut = watch::Sender::new(0u64);
        let (bh, sw, ct) = (blackhole.clone(), swallowed.clone(), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else { continue };
                tokio::spawn(relay(client, server, bh.subscribe(), sw.clone(), ct.subscribe()));
            }
        });
        Proxy { addr, blackhole, swallowed, cut, task }
    }

    async fn wait_swallowed(&self, needle: &str) {
        let mut rx = self.swallowed.subscribe();
        let found = rx.wait_for(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()));
        tokio::time::timeout(WAIT, found).await.expect("teld never sent it").unwrap();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut.send_modify(|n| *n += 1);
    }
}

async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    blackhole: watch::Receiver<bool>,
    swallowed: watch::Sender<Vec<u8>>,
    mut cut: watch::Receiver<u64>,
) {
    let (mut client_rd, mut client_wr) = client.split();
    let (mut server_rd, mut server_wr) = server.split();
    let upward = async {
        let mut buf = [0u8; 4096];
        loop {
            let n = match client_rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if *blackhole.borrow() {
                swallowed.send_modify(|b| b.extend_from_slice(&buf[..n]));
            } else if server_wr.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downward = tokio::io::copy(&mut server_rd, &mut client_wr);
    tokio::select! {
        _ = upward => {}
        _ = downward => {}
        _ = cut.changed() => {}
    }
}

#[tokio::test]
async fn an_event_lost_with_the_connection_is_sent_again_after_reconnecting() {
    let Some(addr) = broker("event redelivery after a dropped connection") else { return };
    let proxy = Proxy::start(addr).await;
    let teld = Teld::start(proxy.addr, "resend", 2.0);
    let mut sub = Subscriber::connect(addr, &teld.all()).await;
    sub.status("online status", is_online).await;

    // The link goes dead silently: teld hands the event over and it vanishes.
    proxy.blackhole.send_replace(true);
    teld.core.publish(Event::Alert {
        source: "test".into(),
        message: "lost in transit".into(),
        at: t0(),
    });
    proxy.wait_swallowed("lost in transit").await;
    assert!(teld.core.snapshot().telemetry.connected, "teld cannot know yet");

    // Then the connection breaks; teld reconnects and sends the event again.
    proxy.blackhole.send_replace(false);
    proxy.cut.send_modify(|n| *n += 1);
    sub.status("will", offline_because("connection lost")).await;
    sub.status("online again", is_online).await;
    let m = sub.next_where("the lost event", |m| m.json["message"] == "lost in transit").await;
    assert_eq!(m.topic, teld.topics().event("alert"));

    let topics = teld.retained_topics();
    teld.stop().await;
    clear_retained(addr, &topics).await;
}

/// State is published when it changes, not only at the interval: with a one-hour
/// interval every change must still arrive, stamped with `schema` and the real `ts`.
/// Latency is measured from the change in the core to the subscriber's receipt
/// (p99 target 50 ms). A burst of changes is rate-limited and ends on the latest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_are_published_at_once_and_reach_late_subscribers_retained() {
    let Some(addr) = broker("on-change state") else { return };
    let teld = Teld::start(addr, "onchange", 3600.0);
    let t = teld.topics();
    let mount_topic = t.telescope("t1", "mount");
    let mut sub = Subscriber::connect(addr, &mount_topic).await;
    sub.next_where("the first mount state", |m| m.topic == mount_topic).await;

    const CHANGES: usize = 60;
    // Changes are paced past the per-topic minimum gap (100 ms) since the previous
    // publish (the first one included), so what is measured is delivery, not the
    // deliberate rate limit.
    let pace = Duration::from_millis(120);
    tokio::time::sleep(pace).await;
    let mut latencies = Vec::with_capacity(CHANGES);
    for i in 0..CHANGES {
        let ra = 6.0 + i as f64 / 100.0;
        let changed = std::time::Instant::now();
        teld.core.update(|s| {
            s.telescopes.get_mut("t1").unwrap().mount.as_mut().unwrap().right_ascension = ra;
        });
        let m = sub
            .next_where("the changed mount state", |m| {
                m.topic == mount_topic && m.json["right_ascension"] == ra
            })
            .await;
        latencies.push(changed.elapsed());
        assert_eq!(m.json["schema"], 1);
        assert!(m.json["ts"].as_str().is_some_and(|ts| ts.len() == 26), "{}", m.json);
        assert_eq!(m.json["utc"], format_utc(t0()), "utc is the daemon clock");
        tokio::time::sleep_until(Instant::from_std(changed) + pace).await;
    }
    let slowest = (0..CHANGES).max_by_key(|&i| latencies[i]).unwrap_or(0);
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize - 1).min(CHANGES - 1)];
    let (p50, p99) = (p(0.50), p(0.99));
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "MQTT state change -> subscriber over {CHANGES} changes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (change #{slowest})",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        latencies[CHANGES - 1].as_secs_f64() * 1e3
    );
    // The target; measured p99 is 1-2 ms in a debug build on 2 loaded cores.
    assert!(p99 < Duration::from_millis(50), "p99 {p99:?}");

    // A burst: 50 changes at once give a few messages, the last one the final state.
    for i in 0..50 {
        teld.core.update(|s| {
            s.telescopes.get_mut("t1").unwrap().mount.as_mut().unwrap().declination =
                -10.0 - i as f64;
        });
    }
    let mut burst = 0;
    sub.next_where("the burst's final state", |m| {
        burst += 1;
        m.topic == mount_topic && m.json["declination"] == -59.0
    })
    .await;
    assert!(burst <= 5, "{burst} messages for a burst of 50 changes: the rate limit did not hold");

    // A late subscriber gets the latest state, retained, stamped.
    let mut late = Subscriber::connect(addr, &mount_topic).await;
    let m = late.next_where("retained mount state", |m| m.retain).await;
    assert_eq!(m.json["declination"], -59.0);
    assert_eq!(m.json["schema"], 1);

    let topics = teld.retained_topics();
    teld.stop().await;
    clear_retained(addr, &topics).await;
}

/// A CA and a broker certificate it signed for 127.0.0.1, made by openssl (a peer).
fn ca_and_server_cert(dir: &std::path::Path) -> Option<()> {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    let ok = run(&[
        &["req", "-x509"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem"],
        &["-days", "2", "-subj", "/CN=teld test CA"],
    ]
    .concat())
        && run(&[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
        ]
        .concat())
        && run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
    #[cfg(unix)]
    {
        // Mosquitto started as root drops to its own user, which must read the key.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(
            dir.join("server.key"),
            std::fs::Permissions::from_mode(0o644),
        );
    }
    ok.then_some(())
}

#[tokio::test]
async fn telemetry_over_tls_checks_the_brokers_certificate() {
    let Some(bin) = require(mosquitto(), "mosquitto binary", "MQTT telemetry over TLS") else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(certs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    if require(ca_and_server_cert(certs.path()), "openssl", "MQTT telemetry over TLS").is_none() {
        return;
    }
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = |f: &str| certs.path().join(f).display().to_string();
    let mut broker = PrivateBroker::with_extra(
        bin,
        &format!(
            "listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
            p("ca.pem"),
            p("server.pem"),
            p("server.key")
        ),
    );
    broker.start().await;
    let tls_addr = SocketAddr::from(([127, 0, 0, 1], tls_port));

    // teld publishes through the TLS listener; the test listens on the plain one.
    let start = |name: &str, ca_file: PathBuf| {
        let prefix = unique(name);
        let cfg = TelemetryConfig {
            broker: tls_addr.to_string(),
            client_id: Some(unique(&format!("{name}-teld"))),
            topic_prefix: prefix.clone(),
            interval_s: 0.5,
            tls: true,
            ca_file: Some(ca_file),
            ..TelemetryConfig::default()
        };
        let core = Core::new(site_snapshot());
        let shutdown = CancellationToken::new();
        let handle =
            telemetry::spawn(cfg, SITE.into(), core.clone(), Clock::manual(t0()), shutdown.clone());
        Teld { core, clock: Clock::manual(t0()), shutdown, handle, prefix }
    };
    let good = start("tls", certs.path().join("ca.pem"));
    let mut sub = Subscriber::connect(broker.addr(), &good.all()).await;
    sub.status("online over TLS", is_online).await;
    let view = good.view_until("connected", |v| v.connected).await;
    assert!(view.last_error.is_none(), "{view:?}");
    good.stop().await;

    // A broker whose certificate the configured CA did not sign is refused, and said so.
    let other = tempfile::tempdir().unwrap();
    if ca_and_server_cert(other.path()).is_none() {
        panic!("openssl made one set of certificates but not a second");
    }
    let wrong = start("tls-wrong", other.path().join("ca.pem"));
    let view = wrong.view_until("a certificate error", |v| v.last_error.is_some()).await;
    assert!(!view.connected);
    let error = view.last_error.unwrap();
    assert!(error.contains("ertificate") || error.contains("TLS"), "{error}");
    wrong.stop().await;
}
