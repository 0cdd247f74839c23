use std::sync::Arc;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::*;

fn feed() -> Arc<Feed> {
    Feed::new(Core::new(Default::default()), Clock::system(), CancellationToken::new())
}

fn push(f: &Feed, n: usize) {
    for _ in 0..n {
        f.push("alert", false, None, Map::new());
    }
}

fn seqs(items: &[Arc<FeedItem>]) -> Vec<u64> {
    items.iter().map(|i| i.seq).collect()
}

#[test]
fn replay_gives_exactly_the_items_after_the_id() {
    let f = feed();
    push(&f, 5);
    let (start, head, _rx) = f.connect(Some(&f.id(2)));
    assert_eq!(head, 5);
    let Start::Replay(items) = start else { panic!("{start:?}") };
    assert_eq!(seqs(&items), [3, 4, 5]);
    let (start, ..) = f.connect(Some(&f.id(5)));
    assert!(matches!(start, Start::Replay(ref v) if v.is_empty()), "{start:?}");
    let v: Value = serde_json::from_str(&items[0].json).unwrap();
    assert_eq!(v["id"], f.id(3));
    assert_eq!((v["schema"].as_u64(), v["type"].as_str()), (Some(1), Some("alert")));
}

#[test]
fn an_id_older_than_the_ring_or_of_another_boot_resets() {
    let f = feed();
    push(&f, RING + 10);
    assert!(matches!(f.connect(Some(&f.id(5))).0, Start::Reset { reason: "gap" }));
    // the oldest kept item's predecessor is still a valid place to resume from
    let oldest = 11;
    let Start::Replay(items) = f.connect(Some(&f.id(oldest - 1))).0 else { panic!() };
    assert_eq!(items.len(), RING);
    assert!(matches!(f.connect(Some("0badf00d-3")).0, Start::Reset { reason: "restarted" }));
    assert!(matches!(f.connect(Some("junk")).0, Start::Reset { .. }));
    // an id from the future (a client confused about boots) is no place to resume
    assert!(matches!(f.connect(Some(&f.id(RING as u64 + 99))).0, Start::Reset { .. }));
    assert!(matches!(f.connect(None).0, Start::Hello));
}

#[test]
fn live_items_follow_the_replay_without_overlap() {
    let f = feed();
    push(&f, 3);
    let (start, _, mut rx) = f.connect(Some(&f.id(1)));
    push(&f, 2);
    let Start::Replay(items) = start else { panic!() };
    let mut got = seqs(&items);
    while let Ok(i) = rx.try_recv() {
        got.push(i.seq);
    }
    assert_eq!(got, [2, 3, 4, 5]);
}
