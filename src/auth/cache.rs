//! Presented tokens, looked up by hash and remembered for a short while, so an
//! authenticated request costs a hash and a map lookup, not a store query. The
//! short life bounds how long a revoked or expired token keeps working.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hifitime::Epoch;

use super::{Caller, TokenId};
use crate::store::{Store, StoreError};

/// A token revoked with the CLI (which cannot reach the daemon) stops working within this.
pub const TTL: Duration = Duration::from_secs(2);
/// Unknown tokens are remembered too (a client retrying a bad one must not hit the
/// store each time); past this many entries the stale ones go, then all.
const MAX_ENTRIES: usize = 4096;
/// `last_used_at` is written at most this often per token: a write per request would
/// queue every call behind SQLite's single writer.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

struct Entry {
    caller: Option<Caller>,
    expires_at: Option<Epoch>,
    fetched: Instant,
}

pub struct TokenCache {
    store: Store,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    touched: Mutex<HashMap<TokenId, Instant>>,
}

impl TokenCache {
    pub fn new(store: Store) -> Self {
        TokenCache { store, entries: Mutex::default(), touched: Mutex::default() }
    }

    /// The caller a token hash stands for, if the token is live at `now` (real UTC).
    pub async fn get(&self, hash: &[u8; 32], now: Epoch) -> Result<Option<Caller>, StoreError> {
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries
                .get(hash)
                .filter(|e| e.fetched.elapsed() < TTL)
                .map(|e| (e.caller.clone(), e.expires_at))
        };
        let (caller, expires_at) = match cached {
            Some(c) => c,
            None => {
                let rec = self.store.token_by_hash(hash).await?;
                let rec = rec.filter(|r| r.live_at(now));
                let caller = rec.as_ref().map(|r| Caller {
                    token_id: Some(r.id),
                    name: r.name.clone(),
                    role: r.role,
                });
                let expires_at = rec.and_then(|r| r.expires_at);
                self.remember(*hash, caller.clone(), expires_at);
                (caller, expires_at)
            }
        };
        if expires_at.is_some_and(|e| now >= e) {
            return Ok(None);
        }
        if let Some(id) = caller.as_ref().and_then(|c| c.token_id) {
            self.touch(id, now);
        }
        Ok(caller)
    }

    /// Forgets a token at once (revoked over the API, where the daemon knows).
    pub fn forget(&self, id: TokenId) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.caller.as_ref().and_then(|c| c.token_id) != Some(id));
    }

    fn remember(&self, hash: [u8; 32], caller: Option<Caller>, expires_at: Option<Epoch>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.fetched.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(hash, Entry { caller, expires_at, fetched: Instant::now() });
    }

    fn touch(&self, id: TokenId, now: Epoch) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            let due = touched.get(&id).is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
            if !due {
                return;
            }
            touched.insert(id, Instant::now());
        }
        // Off the request's path: the answer never waits for this write.
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.touch_token(id, now).await {
                tracing::warn!(token = id, "could not record the token's last use: {e}");
            }
        });
    }
}
