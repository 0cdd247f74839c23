//! The device's memory of command ids (spec §4.3): a command whose correlation data
//! was seen before is answered with the earlier reply and not carried out again.
//! QoS 1 means "at least once": a broker restart, a client's re-send after a
//! reconnect or a lost PUBACK can all deliver one command twice.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::wire::Reply;

/// The spec's minimum: the last 32 ids...
pub const REMEMBER_IDS: usize = 32;
/// ...for at least 10 minutes, longer than any client's command timeout.
pub const REMEMBER_FOR: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub struct Memory {
    seen: VecDeque<(Bytes, Reply, Instant)>,
}

impl Memory {
    /// The earlier reply to `id`, if this id was carried out before.
    pub fn recall(&mut self, id: &[u8], now: Instant) -> Option<Reply> {
        self.seen.retain(|(_, _, at)| now.saturating_duration_since(*at) < REMEMBER_FOR);
        self.seen.iter().find(|(seen, _, _)| seen.as_ref() == id).map(|(_, r, _)| r.clone())
    }

    pub fn remember(&mut self, id: Bytes, reply: Reply, now: Instant) {
        if self.seen.len() >= REMEMBER_IDS {
            self.seen.pop_front();
        }
        self.seen.push_back((id, reply, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn repeats_are_recalled_until_forgotten() {
        let mut m = Memory::default();
        let t0 = Instant::now();
        assert_eq!(m.recall(b"a-1", t0), None);
        m.remember(Bytes::from_static(b"a-1"), Reply::ok(), t0);
        assert_eq!(m.recall(b"a-1", t0 + Duration::from_secs(1)), Some(Reply::ok()));
        assert_eq!(m.recall(b"a-1", t0 + REMEMBER_FOR), None, "forgotten after 10 min");
        for n in 0..=REMEMBER_IDS {
            m.remember(Bytes::from(format!("b-{n}")), Reply::ok(), t0);
        }
        assert_eq!(m.recall(b"b-0", t0), None, "the oldest makes room");
        assert!(m.recall(b"b-1", t0).is_some());
    }
}
