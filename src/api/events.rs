//! `GET /api/v1/events`: the live feed as server-sent events, resumable with
//! `Last-Event-ID` (or `?last_event_id=` on a first connection).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use crate::auth::Caller;
use crate::feed::{Feed, FeedItem, Start};

/// Proxies drop idle connections after a minute or so; a comment every 15 s keeps
/// the stream open and lets the client notice a dead server.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// What a browser's EventSource waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

pub async fn stream(
    State(st): State<ApiState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let caller = caller.map(|Extension(c)| c).unwrap_or_else(Caller::local);
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("last_event_id").cloned());
    let feed = st.feed.clone();
    let (start, head, rx) = feed.connect(last.as_deref());
    let mut client = Client { feed: feed.clone(), caller, rx, last: head, queue: VecDeque::new() };
    match start {
        Start::Hello => client.hello(head),
        Start::Reset { reason } => {
            client.queue.push_back(SseEvent::default().event("reset").data(feed.reset(reason)));
            client.hello(head);
        }
        Start::Replay(items) => {
            // Replay starts after the client's id, not at the head.
            client.last = items.first().map_or(head, |i| i.seq - 1);
            client.enqueue(items);
        }
    }
    if let Some(first) = client.queue.pop_front() {
        client.queue.push_front(first.retry(RETRY));
    }
    let shutdown = feed.shutdown().cancelled_owned();
    let s = stream::unfold(client, |mut c| async move {
        let ev = c.next().await?;
        Some((Ok(ev), c))
    })
    .take_until(shutdown);
    Sse::new(s).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

struct Client {
    feed: Arc<Feed>,
    caller: Caller,
    rx: broadcast::Receiver<Arc<FeedItem>>,
    /// The last sequence number this client has been given (or skipped as not its
    /// business): live items at or below it are duplicates of the replay.
    last: u64,
    queue: VecDeque<SseEvent>,
}

impl Client {
    fn hello(&mut self, head: u64) {
        let ev =
            SseEvent::default().id(self.feed.id(head)).event("hello").data(self.feed.hello(head));
        self.queue.push_back(ev);
        self.last = head;
    }

    fn enqueue(&mut self, items: Vec<Arc<FeedItem>>) {
        for item in items {
            if item.seq <= self.last {
                continue;
            }
            self.last = item.seq;
            if item.visible_to(&self.caller) {
                self.queue.push_back(event(&self.feed, &item));
            }
        }
    }

    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(ev) = self.queue.pop_front() {
                return Some(ev);
            }
            match self.rx.recv().await {
                Ok(item) => self.enqueue(vec![item]),
                // Too slow for the broadcast: catch up from the ring, or start over
                // if even the ring has moved past us.
                Err(RecvError::Lagged(_)) => match self.feed.since(self.last) {
                    Some(items) => self.enqueue(items),
                    None => {
                        let reset = self.feed.reset("gap");
                        self.queue.push_back(SseEvent::default().event("reset").data(reset));
                        let (_, head, rx) = self.feed.connect(None);
                        self.rx = rx;
                        self.hello(head);
                    }
                },
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

fn event(feed: &Feed, item: &FeedItem) -> SseEvent {
    SseEvent::default().id(feed.id(item.seq)).event(item.kind).data(&*item.json)
}
