//! Events waiting for the broker, and the QoS 1 messages it has not acknowledged yet.
//!
//! rumqttc forgets unacknowledged messages when it reconnects with a clean session, so
//! a frame event handed over just before a network cut would silently vanish. The
//! outbox keeps a copy of each event until its PUBACK arrives and puts it back in line
//! if the connection drops first: events are delivered at least once while the
//! backlog lasts. State samples are not kept: the next interval supersedes them.

use std::collections::VecDeque;

use rumqttc::QoS;

/// One MQTT message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    /// Hand over again after a reconnect if not acknowledged. False for the status,
    /// which is republished fresh on every connect anyway.
    pub resend: bool,
}

impl Message {
    pub fn event(topic: String, payload: Vec<u8>) -> Self {
        Message { topic, payload, qos: QoS::AtLeastOnce, retain: false, resend: true }
    }

    pub fn status(topic: String, payload: Vec<u8>) -> Self {
        Message { topic, payload, qos: QoS::AtLeastOnce, retain: true, resend: false }
    }
}

#[derive(Debug)]
pub struct Outbox {
    backlog: VecDeque<Message>,
    capacity: usize,
    /// QoS 1 messages handed to the client, oldest first. MQTT 3.1.1 §4.6 makes the
    /// broker acknowledge QoS 1 publishes in order, so each PUBACK retires the front.
    /// `None` marks one not worth resending.
    unacked: VecDeque<Option<Message>>,
    /// Events dropped from the front of a full backlog since the last report.
    overflowed: u64,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            backlog: VecDeque::new(),
            capacity: capacity.max(1),
            unacked: VecDeque::new(),
            overflowed: 0,
        }
    }

    /// Queues at the back; a full backlog loses its oldest message, because a
    /// subscriber catching up cares more about what is happening now.
    pub fn push(&mut self, m: Message) {
        self.backlog.push_back(m);
        self.trim();
    }

    /// Puts back a message just taken with [`Outbox::pop`] that the client refused.
    pub fn unpop(&mut self, m: Message) {
        self.backlog.push_front(m);
    }

    /// Puts a message at the head of the line without counting it against capacity:
    /// for the note about a gap, which belongs where the gap is.
    pub fn push_front(&mut self, m: Message) {
        self.backlog.push_front(m);
    }

    pub fn pop(&mut self) -> Option<Message> {
        self.backlog.pop_front()
    }

    /// The client accepted `m`; keep it until acknowledged if it is QoS 1.
    pub fn sent(&mut self, m: Message) {
        if m.qos != QoS::AtMostOnce {
            self.unacked.push_back(m.resend.then_some(m));
        }
    }

    /// A PUBACK arrived.
    pub fn acked(&mut self) {
        self.unacked.pop_front();
    }

    /// The connection dropped: unacknowledged events go back to the head of the line in
    /// their original order (they may reach subscribers twice; that is QoS 1).
    pub fn connection_lost(&mut self) {
        for m in self.unacked.drain(..).rev().flatten() {
            self.backlog.push_front(m);
        }
        self.trim();
    }

    /// Takes the count of messages lost to a full backlog since the last call.
    pub fn take_overflowed(&mut self) -> u64 {
        std::mem::take(&mut self.overflowed)
    }

    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// Nothing queued and nothing waiting for an acknowledgement.
    pub fn is_idle(&self) -> bool {
        self.backlog.is_empty() && self.unacked.is_empty()
    }

    fn trim(&mut self) {
        while self.backlog.len() > self.capacity {
            self.backlog.pop_front();
            self.overflowed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: u32) -> Message {
        Message::event(format!("e/{n}"), vec![])
    }

    fn topics(o: &mut Outbox) -> Vec<String> {
        std::iter::from_fn(|| o.pop()).map(|m| m.topic).collect()
    }

    #[test]
    fn a_full_backlog_drops_its_oldest_and_counts() {
        let mut o = Outbox::new(3);
        (1..=5).for_each(|n| o.push(ev(n)));
        assert_eq!(o.take_overflowed(), 2);
        assert_eq!(o.take_overflowed(), 0);
        assert_eq!(topics(&mut o), ["e/3", "e/4", "e/5"]);
    }

    #[test]
    fn acknowledged_events_are_not_resent() {
        let mut o = Outbox::new(10);
        (1..=3).for_each(|n| o.push(ev(n)));
        for _ in 0..3 {
            let m = o.pop().unwrap();
            o.sent(m);
        }
        o.acked();
        o.acked();
        o.connection_lost();
        assert_eq!(topics(&mut o), ["e/3"]);
        assert!(o.is_idle());
    }

    #[test]
    fn unacknowledged_events_go_back_in_order_before_queued_ones() {
        let mut o = Outbox::new(10);
        (1..=4).for_each(|n| o.push(ev(n)));
        for _ in 0..2 {
            let m = o.pop().unwrap();
            o.sent(m);
        }
        o.connection_lost();
        assert_eq!(topics(&mut o), ["e/1", "e/2", "e/3", "e/4"]);
    }

    #[test]
    fn status_and_qos0_are_never_resent() {
        let mut o = Outbox::new(10);
        o.sent(Message::status("status".into(), vec![]));
        o.sent(Message { qos: QoS::AtMostOnce, ..ev(1) });
        o.sent(ev(2));
        assert!(!o.is_idle());
        o.connection_lost();
        // The status held a place in the ack line but is not requeued; QoS 0 took none.
        assert_eq!(topics(&mut o), ["e/2"]);
    }

    #[test]
    fn the_status_ack_retires_the_status_not_the_event_after_it() {
        let mut o = Outbox::new(10);
        o.sent(Message::status("status".into(), vec![]));
        o.sent(ev(1));
        o.acked();
        o.connection_lost();
        assert_eq!(topics(&mut o), ["e/1"]);
    }

    #[test]
    fn requeueing_past_capacity_drops_the_oldest() {
        let mut o = Outbox::new(2);
        o.sent(ev(1));
        o.sent(ev(2));
        o.push(ev(3));
        o.connection_lost();
        assert_eq!(o.take_overflowed(), 1);
        assert_eq!(topics(&mut o), ["e/2", "e/3"]);
    }
}
