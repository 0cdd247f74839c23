//! The hub task: turns the core's events and state changes into feed items.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::Feed;
use crate::auth::TokenId;
use crate::core::{Core, Event};
use crate::store::Store;

/// Runs until `shutdown`. A telescope or driver whose serialised view changed
/// since the last snapshot becomes one item; each event becomes one item.
pub async fn run(feed: Arc<Feed>, core: Core, store: Store, shutdown: CancellationToken) {
    let mut events = core.subscribe();
    let mut state = core.watch();
    let mut owners = Owners { store, cache: HashMap::new() };
    let first = state.borrow_and_update().clone();
    let mut telescopes = serialised(&first.telescopes);
    let mut drivers = serialised(&first.drivers);
    loop {
        tokio::select! {
            e = events.recv() => match e {
                Ok(event) => push_event(&feed, &mut owners, event).await,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the live feed fell behind the event stream; clients miss {n} events");
                }
                Err(RecvError::Closed) => break,
            },
            r = state.changed() => {
                if r.is_err() {
                    break;
                }
                let snap = state.borrow_and_update().clone();
                diff(&feed, "telescope", &mut telescopes, serialised(&snap.telescopes));
                diff(&feed, "driver", &mut drivers, serialised(&snap.drivers));
            }
            _ = shutdown.cancelled() => break,
        }
    }
}

fn serialised<T: Serialize>(m: &BTreeMap<String, T>) -> BTreeMap<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null))).collect()
}

/// One item per entry whose view differs from the last one sent.
fn diff(
    feed: &Feed,
    kind: &'static str,
    last: &mut BTreeMap<String, Value>,
    now: BTreeMap<String, Value>,
) {
    for (name, view) in &now {
        if last.get(name) == Some(view) {
            continue;
        }
        let mut p = Map::new();
        p.insert("name".into(), name.clone().into());
        p.insert("view".into(), view.clone());
        feed.push(kind, false, None, p);
    }
    *last = now;
}

async fn push_event(feed: &Feed, owners: &mut Owners, event: Event) {
    let kind = event.kind();
    let request = match &event {
        Event::RequestState { request_id, .. } | Event::Observation { request_id, .. } => {
            Some(Some(*request_id))
        }
        Event::Frame { request_id, .. } => Some(*request_id),
        _ => None,
    };
    let Ok(Value::Object(mut p)) = serde_json::to_value(&event) else { return };
    // The event's own tag (`request_state`) gives way to the feed's kind (`request`).
    if let Some(t) = p.remove("type") {
        p.insert("event".into(), t);
    }
    let (scoped, owner) = match request {
        Some(Some(id)) => (true, owners.get(id).await),
        // A frame from the inbox matched to no request: nobody's, so operators only.
        Some(None) => (true, None),
        None => (false, None),
    };
    feed.push(kind, scoped, owner, p);
}

/// Who owns each request, cached: requests never change owner.
struct Owners {
    store: Store,
    cache: HashMap<i64, Option<TokenId>>,
}

impl Owners {
    async fn get(&mut self, request: i64) -> Option<TokenId> {
        if let Some(o) = self.cache.get(&request) {
            return *o;
        }
        // A request is stored before it is acknowledged, so it is there by the time
        // it has events. A store failure is not cached: the next item asks again, and
        // meanwhile the item goes to operators only (never to the wrong observer).
        let owner = match self.store.request(request).await {
            Ok(Some(r)) => r.owner,
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(
                    "live feed: owner of request {request} unknown ({e}); shown to operators only"
                );
                return None;
            }
        };
        if self.cache.len() > 10_000 {
            self.cache.clear();
        }
        self.cache.insert(request, owner);
        owner
    }
}

/// How often the plan is looked at for a change: a repair is at most a few per
/// minute, and a client redraws a chart, so a second of delay costs nothing.
const PLAN_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// A `plan` item whenever the planner publishes a new plan (its `updated_at`
/// changes), so clients re-fetch `/api/v1/plan` instead of polling it themselves.
pub async fn watch_plan(
    feed: Arc<Feed>,
    planner: Arc<crate::schedule::Planner>,
    shutdown: CancellationToken,
) {
    let mut last = planner.view().updated_at;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PLAN_POLL) => {}
            _ = shutdown.cancelled() => return,
        }
        let view = planner.view();
        if view.updated_at == last {
            continue;
        }
        last = view.updated_at.clone();
        let mut p = Map::new();
        p.insert("updated_at".into(), last.clone().into());
        p.insert("night_start".into(), view.night_start.into());
        p.insert("night_end".into(), view.night_end.into());
        p.insert("value".into(), view.value.into());
        p.insert("unplanned".into(), view.unplanned.len().into());
        feed.push("plan", false, None, p);
    }
}
