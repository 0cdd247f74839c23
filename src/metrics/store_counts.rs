//! The store's aggregates (requests by state, observations by outcome, handoffs by
//! sink), cached: `/status` is benchmarked at thousands of calls a second and a
//! GROUP BY per call would serialise them on SQLite.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::{HandoffCounts, Store};

#[derive(Debug, Default)]
pub struct StoreCounts {
    pub requests: BTreeMap<String, i64>,
    pub observations: BTreeMap<String, i64>,
    pub handoffs: BTreeMap<String, HandoffCounts>,
    /// Set when the last query failed; the maps are then empty.
    pub error: Option<String>,
}

#[derive(Default)]
pub(super) struct Cache {
    value: Mutex<Option<(Instant, Arc<StoreCounts>)>>,
    /// Held while one caller queries, so a burst of callers makes one query.
    refreshing: tokio::sync::Mutex<()>,
}

impl Cache {
    fn fresh(&self, max_age: Duration) -> Option<Arc<StoreCounts>> {
        let v = self.value.lock().unwrap_or_else(|p| p.into_inner());
        v.as_ref().filter(|(at, _)| at.elapsed() <= max_age).map(|(_, c)| Arc::clone(c))
    }

    pub(super) async fn get(&self, store: &Store, max_age: Duration) -> Arc<StoreCounts> {
        if let Some(c) = self.fresh(max_age) {
            return c;
        }
        let _one = self.refreshing.lock().await;
        if let Some(c) = self.fresh(max_age) {
            return c;
        }
        let counts = Arc::new(query(store).await);
        *self.value.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), Arc::clone(&counts)));
        counts
    }
}

async fn query(store: &Store) -> StoreCounts {
    let result = async {
        let requests = store.request_counts().await?.into_iter().collect();
        let observations = store.observation_counts().await?.into_iter().collect();
        let handoffs = store
            .handoff_counts_all()
            .await?
            .into_iter()
            .map(|(sink, d, p, r)| {
                let c = HandoffCounts {
                    delivered: d.max(0) as u64,
                    pending: p.max(0) as u64,
                    retrying: r.max(0) as u64,
                };
                (sink, c)
            })
            .collect();
        Ok::<_, crate::store::StoreError>(StoreCounts {
            requests,
            observations,
            handoffs,
            error: None,
        })
    }
    .await;
    result.unwrap_or_else(|e| StoreCounts { error: Some(e.to_string()), ..Default::default() })
}
