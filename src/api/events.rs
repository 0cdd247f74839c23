//! `GET /api/v1/events`: the live feed as server-sent events, resumable with
//! `Last-Event-ID` (or `?last_event_id=` on a first connection).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{ApiError, ApiState};
use crate::auth::{Caller, Role};
use crate::feed::{Feed, FeedItem, Start};

/// Proxies drop idle connections after a minute or so; a comment every 15 s keeps
/// the stream open and lets the client notice a dead server.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// What a browser's EventSource waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

#[utoipa::path(get, path = "/api/v1/events", operation_id = "events", tag = "events",
    params(
        ("last_event_id" = Option<String>, Query, description = "Resume after this event id on a first connection"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (EventSource sends it on reconnect)"),
    ),
    responses(
        (status = 200, description = "Server-sent events without end: `hello`, `reset` and feed items, each `data` a JSON object", content_type = "text/event-stream", body = String),
        (status = 429, description = "This token already holds `http.sse_max_per_token` streams (admins are exempt)", body = super::schemas::ErrorBody),
    ))]
pub async fn stream(
    State(st): State<ApiState>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let caller = caller.map(|Extension(c)| c).unwrap_or_else(Caller::local);
    let max = (caller.role < Role::Admin).then_some(st.auth.http.sse_max_per_token as usize);
    let Some(slot) = st.feed.slots.take(caller.token_id, max) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            format!(
                "this token already has {} event streams open (http.sse_max_per_token); close one, or share one stream per client",
                max.unwrap_or_default()
            ),
        ));
    };
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("last_event_id").cloned());
    let feed = st.feed.clone();
    let (start, head, rx) = feed.connect(last.as_deref());
    let client = Client::new(feed.clone(), caller, start, head, rx);
    let shutdown = feed.shutdown().cancelled_owned();
    // The slot lives in the stream's state, so it is freed when the client goes.
    let s = stream::unfold((client, true, slot), |(mut c, first, slot)| async move {
        let out = c.next().await?;
        let ev = c.render(out);
        // The first message tells EventSource how soon to reconnect.
        let ev = if first { ev.retry(RETRY) } else { ev };
        Some((Ok(ev), (c, false, slot)))
    })
    .take_until(shutdown);
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// What a client is sent next, before it becomes SSE text.
#[derive(Debug)]
enum Out {
    Hello(u64),
    Reset(&'static str),
    Item(Arc<FeedItem>),
}

struct Client {
    feed: Arc<Feed>,
    caller: Caller,
    rx: broadcast::Receiver<Arc<FeedItem>>,
    /// The last sequence number this client has been given (or skipped as not its
    /// business): live items at or below it are duplicates of the replay.
    last: u64,
    queue: VecDeque<Out>,
}

impl Client {
    fn new(
        feed: Arc<Feed>,
        caller: Caller,
        start: Start,
        head: u64,
        rx: broadcast::Receiver<Arc<FeedItem>>,
    ) -> Client {
        let mut c = Client { feed, caller, rx, last: head, queue: VecDeque::new() };
        match start {
            Start::Hello => c.hello(head),
            Start::Reset { reason } => {
                c.queue.push_back(Out::Reset(reason));
                c.hello(head);
            }
            Start::Replay(items) => {
                // Replay starts after the client's id, not at the head.
                c.last = items.first().map_or(head, |i| i.seq - 1);
                c.enqueue(items);
            }
        }
        c
    }

    fn hello(&mut self, head: u64) {
        self.queue.push_back(Out::Hello(head));
        self.last = head;
    }

    fn render(&self, out: Out) -> SseEvent {
        match out {
            Out::Hello(head) => SseEvent::default()
                .id(self.feed.id(head))
                .event("hello")
                .data(self.feed.hello(head)),
            Out::Reset(reason) => SseEvent::default().event("reset").data(self.feed.reset(reason)),
            Out::Item(item) => {
                SseEvent::default().id(self.feed.id(item.seq)).event(item.kind).data(&*item.json)
            }
        }
    }

    fn enqueue(&mut self, items: Vec<Arc<FeedItem>>) {
        for item in items {
            if item.seq <= self.last {
                continue;
            }
            self.last = item.seq;
            if item.visible_to(&self.caller) {
                self.queue.push_back(Out::Item(item));
            }
        }
    }

    async fn next(&mut self) -> Option<Out> {
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
                        self.queue.push_back(Out::Reset("gap"));
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

#[cfg(test)]
mod tests {
    use serde_json::Map;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::auth::Role;
    use crate::clock::Clock;
    use crate::core::Core;

    fn feed() -> Arc<Feed> {
        Feed::new(Core::new(Default::default()), Clock::system(), CancellationToken::new())
    }

    fn client(feed: &Arc<Feed>, caller: Caller) -> Client {
        let (start, head, rx) = feed.connect(None);
        Client::new(feed.clone(), caller, start, head, rx)
    }

    async fn seqs(c: &mut Client, n: usize) -> Vec<String> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(match c.next().await.unwrap() {
                Out::Hello(h) => format!("hello {h}"),
                Out::Reset(r) => format!("reset {r}"),
                Out::Item(i) => i.seq.to_string(),
            });
        }
        v
    }

    #[tokio::test]
    async fn a_lagging_client_catches_up_from_the_ring_without_a_gap() {
        let f = feed();
        let mut c = client(&f, Caller::local());
        // More than the broadcast holds (1024), fewer than the ring (4096).
        for _ in 0..1500 {
            f.push("alert", false, None, Map::new());
        }
        let got = seqs(&mut c, 1501).await;
        let want: Vec<String> = std::iter::once("hello 0".to_string())
            .chain((1..=1500).map(|s| s.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn a_client_the_ring_left_behind_is_reset_and_starts_over() {
        let f = feed();
        let mut c = client(&f, Caller::local());
        for _ in 0..crate::feed::RING + 100 {
            f.push("alert", false, None, Map::new());
        }
        let head = (crate::feed::RING + 100).to_string();
        assert_eq!(seqs(&mut c, 3).await, ["hello 0", "reset gap", &format!("hello {head}")]);
        f.push("alert", false, None, Map::new());
        let next = (crate::feed::RING + 101).to_string();
        assert_eq!(seqs(&mut c, 1).await, [next]);
    }

    #[tokio::test]
    async fn observers_see_only_their_own_requests_items() {
        let f = feed();
        let ann = Caller { token_id: Some(7), name: "ann".into(), role: Role::Observer };
        let mut c = client(&f, ann);
        f.push("request", true, Some(8), Map::new()); // someone else's
        f.push("request", true, None, Map::new()); // a survey's
        f.push("request", true, Some(7), Map::new()); // hers
        f.push("telescope", false, None, Map::new()); // public
        assert_eq!(seqs(&mut c, 3).await, ["hello 0", "3", "4"]);
    }
}
