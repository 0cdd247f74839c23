//! Per-token rate limits: one token bucket per API token, refilled at the role's
//! rate. Real time, whatever the daemon's clock: it protects the machine, which
//! lives in real time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Role, TokenId};
use crate::config::{RateLimit, RateLimits};

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<TokenId, Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter { limits, buckets: Mutex::default() }
    }

    pub fn limit(&self, role: Role) -> RateLimit {
        self.limits.for_role(role)
    }

    /// `Err(wait)`: refused; a call after `wait` would pass.
    pub fn check(&self, token: TokenId, role: Role) -> Result<(), Duration> {
        self.check_at(token, self.limit(role), Instant::now())
    }

    fn check_at(&self, token: TokenId, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        if limit.unlimited() {
            return Ok(());
        }
        let burst = f64::from(limit.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(token).or_insert(Bucket { tokens: burst, last: now });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * limit.per_s).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / limit.per_s))
        }
    }
}

/// `Retry-After` is whole seconds: round up, so a client that waits that long passes.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_the_burst_then_the_rate_and_each_token_has_its_own() {
        let lim = RateLimit { per_s: 2.0, burst: 3 };
        let r = RateLimiter::new(RateLimits::default());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(r.check_at(1, lim, t0).is_ok());
        }
        let wait = r.check_at(1, lim, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Another token is untouched by the first one's use.
        assert!(r.check_at(2, lim, t0).is_ok());
        // Half a second later one more call passes, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(r.check_at(1, lim, t1).is_ok());
        assert!(r.check_at(1, lim, t1).is_err());
        // Unlimited never refuses.
        for _ in 0..10_000 {
            assert!(r.check_at(3, RateLimit::UNLIMITED, t0).is_ok());
        }
    }
}
