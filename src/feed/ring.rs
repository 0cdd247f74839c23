//! The replay ring: the last [`RING`] items, with their sequence numbers.

use std::sync::Arc;

use super::{FeedItem, Items};

/// Items kept for clients that reconnect: at a few hundred bytes each, about a
/// megabyte or two, and at one telescope update a second some tens of minutes.
pub const RING: usize = 4096;

pub(super) struct Ring {
    items: Items,
    /// The last sequence number given out (0: none yet).
    last: u64,
}

impl Default for Ring {
    fn default() -> Self {
        Ring { items: Items::with_capacity(RING), last: 0 }
    }
}

impl Ring {
    pub fn next_seq(&mut self) -> u64 {
        self.last += 1;
        self.last
    }

    pub fn push(&mut self, item: Arc<FeedItem>) {
        if self.items.len() == RING {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub fn head(&self) -> u64 {
        self.last
    }

    /// The oldest sequence still kept (the next one when the ring is empty).
    pub fn oldest(&self) -> u64 {
        self.items.front().map_or(self.last + 1, |i| i.seq)
    }

    /// The items after `seq`, or `None` when some of them are gone (or `seq` was
    /// never given out).
    pub fn after(&self, seq: u64) -> Option<Vec<Arc<FeedItem>>> {
        if seq > self.last || seq + 1 < self.oldest() {
            return None;
        }
        let skip = (seq + 1 - self.oldest()) as usize;
        Some(self.items.iter().skip(skip).cloned().collect())
    }
}
