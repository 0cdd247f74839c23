//! Open event streams, counted per token: one token may not hold more than
//! `http.sse_max_per_token` at once (admins are exempt), so a leaked or buggy client
//! cannot take every connection the daemon has.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::TokenId;

#[derive(Default)]
pub struct Slots {
    /// Per token (`None`: the local caller); entries go when their count drops to 0.
    open: Mutex<HashMap<Option<TokenId>, usize>>,
}

/// Held for as long as one stream is open; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
    token: Option<TokenId>,
}

impl Slots {
    /// A slot for `token`, or `None` if it already holds `max` (`None`: no limit).
    pub fn take(self: &Arc<Self>, token: Option<TokenId>, max: Option<usize>) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(token).or_insert(0);
        if max.is_some_and(|m| *n >= m) {
            return None;
        }
        *n += 1;
        Some(Slot { slots: self.clone(), token })
    }

    /// Streams open now, for `/metrics`.
    pub fn total(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).values().sum()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.token);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gets_at_most_max_streams_and_closing_one_frees_it() {
        let s = Arc::new(Slots::default());
        let a1 = s.take(Some(1), Some(2)).unwrap();
        let _a2 = s.take(Some(1), Some(2)).unwrap();
        assert!(s.take(Some(1), Some(2)).is_none());
        let _b = s.take(Some(2), Some(2)).expect("another token is not affected");
        let _admin: Vec<_> = (0..5).map(|_| s.take(Some(3), None).unwrap()).collect();
        assert_eq!(s.total(), 8);
        drop(a1);
        assert!(s.take(Some(1), Some(2)).is_some());
    }
}
