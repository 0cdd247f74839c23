//! The planner against a real store with a manual clock: tracklets are pinned once
//! started and broken whole when a visit cannot keep its spacing, and a telescope
//! out of service hands its work to the others.

use hifitime::{Duration, Epoch};
use teld_astro::Site;
use teld_astro::horizon::PointingLimits;

use super::{Next, PlannedTelescope, Planner};
use crate::clock::Clock;
use crate::core::Core;
use crate::ledger::Ledger;
use crate::model::{RequestSpec, RequestState, Tracklet};
use crate::schedule::Limits;
use crate::store::Store;

fn site() -> Site {
    Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 }
}

fn telescope(name: &str) -> PlannedTelescope {
    PlannedTelescope {
        name: name.into(),
        limits: Limits {
            site: site(),
            min_altitude_deg: 30.0,
            sun_avoidance_deg: 30.0,
            pointing: PointingLimits::default(),
        },
        settle_s: 15.0,
        slew_rate_deg_s: 2.0,
        filters: Vec::new(),
        mount: Default::default(),
    }
}

fn spec(ra: f64, dec: f64, tracklet: Option<Tracklet>) -> RequestSpec {
    RequestSpec { exposure_s: 30.0, count: 2, tracklet, ..RequestSpec::example(ra, dec) }
}

fn t0() -> Epoch {
    Epoch::from_gregorian_utc(2026, 11, 24, 20, 0, 0, 0)
}

fn night_end() -> Epoch {
    Epoch::from_gregorian_utc(2026, 11, 25, 6, 0, 0, 0)
}

fn minutes(m: f64) -> Epoch {
    t0() + Duration::from_seconds(m * 60.0)
}

async fn setup(tels: &[&str]) -> (tempfile::TempDir, Ledger, Planner) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
    let ledger = Ledger { store, core: Core::new(Default::default()), clock: Clock::manual(t0()) };
    let planned = tels.iter().map(|t| telescope(t)).collect();
    let (yields, _) = tokio::sync::watch::channel(Vec::new());
    let planner = Planner::new(ledger.clone(), site(), planned, -12.0, 1, true, yields);
    (dir, ledger, planner)
}

async fn history(ledger: &Ledger, id: i64) -> Vec<(RequestState, String)> {
    let events = ledger.store.request_events(id).await.unwrap();
    events.into_iter().map(|e| (e.state, e.detail.unwrap_or_default())).collect()
}

#[tokio::test]
async fn a_tracklet_is_pinned_once_started_and_broken_whole_when_late() {
    let (_dir, ledger, planner) = setup(&["t1"]).await;
    let t = Tracklet { visits: 3, min_spacing_min: 10.0, max_spacing_min: 15.0 };
    let id = ledger.submit(&spec(22.5, 20.1, Some(t))).await.unwrap().id;

    let Next::Block(b) = planner.next("t1", t0(), night_end()).await.unwrap() else {
        panic!("the tracklet's first visit is due at once")
    };
    assert_eq!((b.request.id, b.visit, b.visits), (id, 0, 3));
    // What the executor does around a visit.
    let obs = [RequestState::Queued, RequestState::Scheduled];
    assert!(ledger.transition(id, &obs, RequestState::Observing, None).await.unwrap());
    planner.next("t1", minutes(1.0), night_end()).await.unwrap();
    let view = planner.view();
    assert_eq!(view.telescopes[0].blocks.len(), 3, "visits stay planned while one runs");
    planner.visit_finished(id, 0, true, Some(t0())).await.unwrap();
    let back = [RequestState::Observing];
    assert!(ledger.transition(id, &back, RequestState::Scheduled, None).await.unwrap());

    // The next visit waits for the minimum spacing after the first.
    match planner.next("t1", minutes(3.0), night_end()).await.unwrap() {
        Next::WaitUntil(at) => assert!(at >= minutes(10.0), "visit 2 at {at}"),
        other => panic!("expected a wait, got {other:?}"),
    }
    // Too late for the maximum spacing: the tracklet is broken, requeued with the
    // reason, and planned again from its first visit.
    let next = planner.next("t1", minutes(16.5), night_end()).await.unwrap();
    let h = history(&ledger, id).await;
    assert!(
        h.iter().any(|(s, d)| *s == RequestState::Queued && d.contains("tracklet broken")),
        "{h:?}"
    );
    match next {
        Next::Block(b) => assert_eq!((b.request.id, b.visit), (id, 0)),
        other => panic!("the tracklet starts over at once, got {other:?}"),
    }
}

#[tokio::test]
async fn a_telescope_out_of_service_hands_its_work_over() {
    let (_dir, ledger, planner) = setup(&["t1", "t2"]).await;
    let mut ids = Vec::new();
    for (ra, dec) in [(22.5, 20.1), (30.0, 15.0), (40.0, 25.0), (15.0, 10.0)] {
        let mut s = spec(ra, dec, None);
        s.count = 20; // 12 minutes each, so both telescopes get work
        ids.push(ledger.submit(&s).await.unwrap().id);
    }
    planner.next("t1", t0(), night_end()).await.unwrap();
    let count = |p: &Planner, t: usize| p.view().telescopes[t].blocks.len();
    assert_eq!(count(&planner, 0) + count(&planner, 1), 4);
    assert!(count(&planner, 1) > 0, "both telescopes used: {:?}", planner.view());

    planner.set_available("t2", false).await.unwrap();
    planner.next("t1", minutes(1.0), night_end()).await.unwrap();
    assert_eq!(count(&planner, 1), 0, "nothing on a telescope out of service");
    assert_eq!(count(&planner, 0), 4, "its work moved to t1: {:?}", planner.view());
    assert!(planner.view().unplanned.is_empty());

    planner.set_available("t2", true).await.unwrap();
    let back = planner.next("t2", minutes(2.0), night_end()).await.unwrap();
    assert!(matches!(back, Next::Idle | Next::WaitUntil(_) | Next::Block(_)));
    assert_eq!(count(&planner, 0) + count(&planner, 1), 4, "nothing lost");
}

#[tokio::test]
async fn a_block_that_would_cross_a_limit_is_not_started() {
    let (_dir, ledger, planner) = setup(&["t1"]).await;
    let id = ledger.submit(&spec(22.5, 20.1, None)).await.unwrap().id;
    planner.next("t1", t0(), night_end()).await.unwrap();
    let guard = planner.state.lock().await;
    let n = guard.as_ref().unwrap();
    let r = n.index[&id];
    assert!(planner.fits_now(n, 0, r, t0()), "up in the evening");
    // At 03:30 UTC this target is below the 30° limit at La Palma.
    let late = Epoch::from_gregorian_utc(2026, 11, 25, 3, 30, 0, 0);
    assert!(!planner.fits_now(n, 0, r, late), "it would cross the limit");
}
