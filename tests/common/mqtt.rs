//! An MQTT subscriber on the real broker, collecting everything under a topic filter.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub retained: bool,
    pub payload: Value,
}

pub struct Subscriber {
    rx: Receiver<Message>,
    seen: Arc<Mutex<Vec<Message>>>,
    _client: Client,
}

impl Subscriber {
    /// Subscribes to `filter` and returns once the broker has acknowledged it.
    pub fn start(broker: SocketAddr, filter: &str) -> Subscriber {
        let id = format!("teld-test-sub-{}-{}", std::process::id(), filter.len());
        let mut opts = MqttOptions::new(id, broker.ip().to_string(), broker.port());
        opts.set_keep_alive(Duration::from_secs(10));
        let (client, mut conn) = Client::new(opts, 64);
        client.subscribe(filter, QoS::AtLeastOnce).unwrap();
        let (tx, rx) = mpsc::channel();
        let (ack_tx, ack_rx) = mpsc::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        std::thread::spawn(move || {
            for ev in conn.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ack_tx.send(());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let payload = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                        let m = Message { topic: p.topic.clone(), retained: p.retain, payload };
                        seen2.lock().unwrap().push(m.clone());
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
        });
        ack_rx.recv_timeout(Duration::from_secs(10)).expect("broker acknowledged the subscription");
        Subscriber { rx, seen, _client: client }
    }

    /// Waits for a message matching `pred`, checking those already received first.
    pub fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&Message) -> bool) -> Message {
        if let Some(m) = self.seen.lock().unwrap().iter().find(|m| pred(m)) {
            return m.clone();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) if pred(&m) => return m,
                Ok(_) => {}
                Err(_) => panic!(
                    "no MQTT message for {what} within {timeout:?}; got topics {:?}",
                    self.topics()
                ),
            }
        }
    }

    pub fn all(&self) -> Vec<Message> {
        while self.rx.try_recv().is_ok() {}
        self.seen.lock().unwrap().clone()
    }

    fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> =
            self.seen.lock().unwrap().iter().map(|m| m.topic.clone()).collect();
        t.dedup();
        t
    }
}
