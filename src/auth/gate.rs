//! Everything the API's access layer needs, in one piece of shared state.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{Role, TokenCache, rate::RateLimiter};
use crate::config::HttpConfig;
use crate::store::Store;

pub struct Auth {
    /// `http.auth`: off means every caller is [`super::Caller::local`].
    pub enabled: bool,
    /// The whole `[http]` section, for the other layers (`request_timeout_s`,
    /// `sse_max_per_token`).
    pub http: HttpConfig,
    pub tokens: TokenCache,
    pub rate: RateLimiter,
    auth_failures: AtomicU64,
    rate_limited: [AtomicU64; 3],
}

impl Auth {
    pub fn new(http: &HttpConfig, store: Store) -> Self {
        Auth {
            enabled: http.auth,
            http: http.clone(),
            tokens: TokenCache::new(store),
            rate: RateLimiter::new(http.rate_limit),
            auth_failures: AtomicU64::new(0),
            rate_limited: Default::default(),
        }
    }

    /// Requests refused with 401 since start (for `/metrics`: `teld_auth_failures_total`).
    pub fn auth_failures_total(&self) -> u64 {
        self.auth_failures.load(Ordering::Relaxed)
    }

    /// Requests refused with 429 since start, by the caller's role (for `/metrics`:
    /// `teld_rate_limited_total{role}`).
    pub fn rate_limited_total(&self, role: Role) -> u64 {
        self.rate_limited[role as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn count_auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_rate_limited(&self, role: Role) {
        self.rate_limited[role as usize].fetch_add(1, Ordering::Relaxed);
    }
}
