//! A bare MQTT 5 client for tests that must put exact bytes on the broker: a
//! command repeated with the same correlation id, a retained state of a dead device.

#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn connect(port: u16, id: &str) -> (AsyncClient, rumqttc::v5::EventLoop) {
    let o = MqttOptions::new(id, "127.0.0.1", port);
    AsyncClient::new(o, 16)
}

/// Publishes `payload` (QoS 1) and waits for the broker's PUBACK.
pub fn publish(port: u16, topic: &str, payload: &[u8], retain: bool) {
    runtime().block_on(async {
        let (client, mut ev) = connect(port, "test-raw-publisher");
        client.publish(topic, QoS::AtLeastOnce, retain, payload.to_vec()).await.unwrap();
        let acked = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Ok(Event::Incoming(Packet::PubAck(_))) = ev.poll().await {
                    return;
                }
            }
        });
        acked.await.expect("PUBACK from the broker");
    });
}

/// Sends `payload` on `topic` `times` times with the same correlation id `id`, and
/// returns every reply's payload.
pub fn command(port: u16, topic: &str, payload: &[u8], id: &str, times: usize) -> Vec<String> {
    runtime().block_on(async {
        let (client, mut ev) = connect(port, "test-raw-commander");
        let reply = "test/replies";
        client.subscribe(reply, QoS::AtLeastOnce).await.unwrap();
        let mut replies = Vec::new();
        let mut sent = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while replies.len() < times {
            let polled = tokio::time::timeout_at(deadline, ev.poll()).await;
            match polled.expect("replies in time").expect("broker connection") {
                Event::Incoming(Packet::SubAck(_)) if !sent => {
                    sent = true;
                    for _ in 0..times {
                        let props = PublishProperties {
                            response_topic: Some(reply.into()),
                            correlation_data: Some(Bytes::from(id.to_string())),
                            ..Default::default()
                        };
                        let c = client.clone();
                        let (topic, payload) = (topic.to_string(), payload.to_vec());
                        tokio::spawn(async move {
                            c.publish_with_properties(
                                topic,
                                QoS::AtLeastOnce,
                                false,
                                payload,
                                props,
                            )
                            .await
                            .unwrap();
                        });
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let cd = p.properties.and_then(|pp| pp.correlation_data);
                    assert_eq!(cd.as_deref(), Some(id.as_bytes()), "the reply carries the id");
                    replies.push(String::from_utf8_lossy(&p.payload).into_owned());
                }
                _ => {}
            }
        }
        replies
    })
}
