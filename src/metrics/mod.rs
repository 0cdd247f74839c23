//! Prometheus metrics (`GET /metrics`): counters and histograms the daemon updates
//! as it works, plus values read at scrape time from the snapshot and the store.

mod collect;
mod exposition;
mod histogram;
mod store_counts;
mod update;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use collect::render;
pub use exposition::{CONTENT_TYPE, Exposition};
pub use histogram::{BUCKETS, Histogram, HistogramSnapshot};
pub use store_counts::StoreCounts;
pub use update::{TrialOutcome, UpdateCounters};

/// `(method, route template, status code)`. The route is axum's `MatchedPath` or
/// `unmatched`, and the method one of a fixed set, so a scanner probing random paths
/// cannot grow the label set without bound.
type HttpKey = (&'static str, String, u16);

#[derive(Default)]
pub struct Metrics {
    http: Mutex<HashMap<HttpKey, Arc<Histogram>>>,
    store: store_counts::Cache,
}

/// Frame ingest (spool file read to archive file placed), real time. Process-wide
/// because the archive is called from blocking tasks that carry no API state.
static INGEST: Histogram = Histogram::new();

pub fn ingest_seconds() -> &'static Histogram {
    &INGEST
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Metrics::default())
    }

    pub fn observe_http(&self, method: &axum::http::Method, route: &str, code: u16, seconds: f64) {
        let method = bounded_method(method);
        let h = {
            let mut map = self.http.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(h) = map.get(&(method, route.to_string(), code)) {
                Arc::clone(h)
            } else {
                let h = Arc::new(Histogram::new());
                map.insert((method, route.to_string(), code), Arc::clone(&h));
                h
            }
        };
        h.observe(seconds);
    }

    /// Every HTTP series, sorted so the exposition is stable between scrapes.
    pub fn http_series(&self) -> Vec<(HttpKey, HistogramSnapshot)> {
        let map = self.http.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, h)| (k.clone(), h.snapshot())).collect();
        drop(map);
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The store's aggregates, at most `max_age` old; concurrent callers share one query.
    pub async fn store_counts(
        &self,
        store: &crate::store::Store,
        max_age: std::time::Duration,
    ) -> Arc<StoreCounts> {
        self.store.get(store, max_age).await
    }
}

fn bounded_method(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
