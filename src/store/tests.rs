//! Store behaviour against a real SQLite file.

use hifitime::{Duration, Epoch};

use super::*;
use crate::model::{RequestSpec, RequestState, Target};

fn spec(priority: u32) -> RequestSpec {
    RequestSpec {
        observer: Some("neocc".into()),
        target: Target::sidereal("C4X9Z2", 22.5, 20.1),
        count: 3,
        priority,
        ..RequestSpec::example(22.5, 20.1)
    }
}

fn t0() -> Epoch {
    Epoch::from_gregorian_utc(2026, 11, 24, 20, 0, 0, 0)
}

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap()
}

#[tokio::test]
async fn request_survives_reopen_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let s = store(&dir).await;
        let r = s.insert_request(&spec(50), t0()).await.unwrap();
        s.close().await;
        r.id
    };
    let s = store(&dir).await;
    let r = s.request(id).await.unwrap().unwrap();
    assert_eq!(r.state, RequestState::Queued);
    assert_eq!(r.spec, spec(50));
    assert_eq!(r.submitted_at, t0());
    let ev = s.request_events(id).await.unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].state, RequestState::Queued);
}

#[tokio::test]
async fn transition_is_compare_and_set_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let id = s.insert_request(&spec(50), t0()).await.unwrap().id;
    let t1 = t0() + Duration::from_seconds(60.0);
    let prev = s.transition(id, &[RequestState::Queued], RequestState::Scheduled, None, t1).await;
    assert_eq!(prev.unwrap(), Some(RequestState::Queued));
    // Not allowed from `scheduled` to go via a `queued`-only transition again.
    let again = s.transition(id, &[RequestState::Queued], RequestState::Observing, None, t1).await;
    assert_eq!(again.unwrap(), None);
    let ev = s.request_events(id).await.unwrap();
    let states: Vec<_> = ev.iter().map(|e| e.state).collect();
    assert_eq!(states, [RequestState::Queued, RequestState::Scheduled]);
    assert!(matches!(
        s.transition(999, &[RequestState::Queued], RequestState::Scheduled, None, t1).await,
        Err(StoreError::NoSuchRequest(999))
    ));
}

#[tokio::test]
async fn failed_attempts_requeue_then_retire() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let id = s.insert_request(&spec(50), t0()).await.unwrap().id;
    for attempt in 1..=3 {
        s.transition(id, &[RequestState::Queued], RequestState::Observing, None, t0())
            .await
            .unwrap();
        let st = s.record_failed_attempt(id, "camera timeout", 3, t0()).await.unwrap();
        let want = if attempt < 3 { RequestState::Queued } else { RequestState::Failed };
        assert_eq!(st, Some(want));
    }
    let r = s.request(id).await.unwrap().unwrap();
    assert_eq!((r.state, r.attempts), (RequestState::Failed, 3));
    let last = s.request_events(id).await.unwrap().pop().unwrap();
    assert!(last.detail.unwrap().contains("retired after 3 failed attempts"));
}

#[tokio::test]
async fn recovery_requeues_interrupted_work_without_counting_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let a = s.insert_request(&spec(80), t0()).await.unwrap().id;
    let b = s.insert_request(&spec(40), t0()).await.unwrap().id;
    let c = s.insert_request(&spec(10), t0()).await.unwrap().id;
    s.transition(a, &[RequestState::Queued], RequestState::Observing, None, t0()).await.unwrap();
    s.transition(b, &[RequestState::Queued], RequestState::Scheduled, None, t0()).await.unwrap();
    let obs = s.start_observation(a, "t1", t0()).await.unwrap();
    let requeued = s.recover_after_restart(t0()).await.unwrap();
    assert_eq!(requeued, [a, b]);
    let open = s.requests_in(&[RequestState::Queued]).await.unwrap();
    let ids: Vec<_> = open.iter().map(|r| r.id).collect();
    assert_eq!(ids, [a, b, c], "priority order");
    assert_eq!(open[0].attempts, 0);
    let o = s.observations_for(a).await.unwrap();
    assert_eq!((o[0].id, o[0].outcome.as_deref()), (obs, Some("interrupted")));
}

#[tokio::test]
async fn frames_are_listed_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let id = s.insert_request(&spec(50), t0()).await.unwrap().id;
    let obs = s.start_observation(id, "t1", t0()).await.unwrap();
    let f = NewFrame {
        request_id: id,
        observation_id: obs,
        telescope: "t1",
        path: "2026-11-24/t1/r1/a.fits",
        date_obs: t0(),
        exptime_s: 60.0,
        bytes: 2_103_840,
    };
    s.insert_frame(&f, t0()).await.unwrap();
    // The same path twice would mean two rows for one file: refused.
    assert!(s.insert_frame(&f, t0()).await.is_err());
    let frames = s.frames_for(id).await.unwrap();
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].path, "2026-11-24/t1/r1/a.fits");
    assert_eq!(s.frame_count(id).await.unwrap(), 1);
}

#[tokio::test]
async fn the_latest_plan_of_each_night_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Store::default_url(dir.path()).unwrap()).await.unwrap();
    assert!(store.plan_before(None).await.unwrap().is_none());
    let plan = |night: Epoch, v: &str| StoredPlan {
        night_start: night,
        updated_at: night,
        json: v.into(),
        svg: format!("<svg>{v}</svg>"),
    };
    let n1 = t0();
    let n2 = t0() + Duration::from_days(1.0);
    store.save_plan(&plan(n1, "a")).await.unwrap();
    store.save_plan(&plan(n1, "b")).await.unwrap();
    store.save_plan(&plan(n2, "c")).await.unwrap();
    assert_eq!(store.plan_before(None).await.unwrap().unwrap().json, "c");
    let first = store.plan_before(Some(n1 + Duration::from_seconds(60.0))).await.unwrap().unwrap();
    assert_eq!(
        (first.json.as_str(), first.svg.as_str()),
        ("b", "<svg>b</svg>"),
        "replaced, not added"
    );
    assert!(store.plan_before(Some(n1 - Duration::from_seconds(1.0))).await.unwrap().is_none());
}

fn quality(frame_id: i64, pass: Option<bool>) -> FrameQuality {
    FrameQuality {
        frame_id,
        measured_at: t0(),
        sha256: "ab".repeat(32),
        pass,
        reason: pass.filter(|p| !p).map(|_| "defocus".into()),
        detail: "test".into(),
        background: Some(1000.0),
        noise: Some(10.0),
        sources: Some(50),
        fwhm_px: Some(2.0),
        fwhm_arcsec: Some(3.0),
        ellipticity: Some(0.05),
        saturated_fraction: Some(0.0),
        preview: None,
    }
}

#[tokio::test]
async fn quick_look_and_handoffs_are_stored_once_and_failed_frames_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let id = s.insert_request(&spec(50), t0()).await.unwrap().id;
    let obs = s.start_observation(id, "t1", t0()).await.unwrap();
    let mut frames = Vec::new();
    for n in 0..3 {
        let path = format!("2026-11-24/t1/r1/f{n}.fits");
        let f = NewFrame {
            request_id: id,
            observation_id: obs,
            telescope: "t1",
            path: &path,
            date_obs: t0(),
            exptime_s: 60.0,
            bytes: 1,
        };
        frames.push(s.insert_frame(&f, t0()).await.unwrap());
    }
    assert_eq!(s.unassessed_frames(10).await.unwrap().len(), 3);
    let hand = |key: &str| NewHandoff {
        sink: "webhook",
        idempotency_key: key.into(),
        payload: "{}".into(),
    };
    assert!(s.record_quality(&quality(frames[0], Some(true)), &[hand("k0")], None).await.unwrap());
    assert!(s.record_quality(&quality(frames[1], Some(false)), &[hand("k1")], None).await.unwrap());
    // A second assessment of the same frame changes nothing and queues nothing.
    assert!(
        !s.record_quality(&quality(frames[1], Some(true)), &[hand("again")], None).await.unwrap()
    );
    assert_eq!(s.quality(frames[1]).await.unwrap().unwrap().pass, Some(false));
    // Unassessed and passed frames count; the failed one does not.
    assert_eq!(s.frames_that_count(id, true).await.unwrap(), 2);
    // Without retaking failed frames, every frame counts.
    assert_eq!(s.frames_that_count(id, false).await.unwrap(), 3);
    let failed = s.failed_frames(obs).await.unwrap();
    assert_eq!(failed, vec![(frames[1], Some("defocus".into()), "test".into())]);
    assert_eq!(s.unassessed_frames(10).await.unwrap().len(), 1);

    // The outbox: oldest first, retried when due, delivered once.
    let due = s.due_handoffs("webhook", t0(), 10).await.unwrap();
    assert_eq!(due.iter().map(|h| h.idempotency_key.as_str()).collect::<Vec<_>>(), ["k0", "k1"]);
    let later = t0() + Duration::from_seconds(5.0);
    s.handoff_failed(due[0].id, "refused", later).await.unwrap();
    s.handoff_delivered(due[1].id, t0()).await.unwrap();
    assert!(s.due_handoffs("webhook", t0(), 10).await.unwrap().is_empty());
    assert_eq!(s.next_handoff_at("webhook").await.unwrap(), Some(later));
    let retry = s.due_handoffs("webhook", later, 10).await.unwrap();
    assert_eq!((retry.len(), retry[0].attempts), (1, 1));
    assert_eq!(
        s.handoff_counts("webhook").await.unwrap(),
        HandoffCounts { delivered: 1, pending: 1, retrying: 1 }
    );
    assert_eq!(s.handoff_counts("mqtt").await.unwrap(), HandoffCounts::default());
}

#[tokio::test]
async fn tokens_are_kept_as_hashes_found_by_hash_and_revoked_by_name() {
    use crate::auth::{Role, TokenSecret, hash_token};
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let t = TokenSecret::generate().unwrap();
    let id =
        s.insert_token("ops-1", Role::Operator, &t.hash(), &t.hint(), "cli", t0()).await.unwrap();
    // A second live token of the same name is refused, saying what to do.
    let again = TokenSecret::generate().unwrap();
    let e = s.insert_token("ops-1", Role::Admin, &again.hash(), &again.hint(), "cli", t0()).await;
    assert!(matches!(e, Err(StoreError::TokenNameTaken(_))), "{e:?}");
    let found = s.token_by_hash(&hash_token(t.expose())).await.unwrap().unwrap();
    assert_eq!((found.id, found.role, found.name.as_str()), (id, Role::Operator, "ops-1"));
    assert!(s.token_by_hash(&hash_token("teld_not-a-token")).await.unwrap().is_none());
    // Revoked: no longer found, still listed, and the name is free again.
    assert!(s.revoke_token("ops-1", t0()).await.unwrap());
    assert!(!s.revoke_token("ops-1", t0()).await.unwrap());
    assert!(s.token_by_hash(&t.hash()).await.unwrap().is_none());
    s.insert_token("ops-1", Role::Admin, &again.hash(), &again.hint(), "cli", t0()).await.unwrap();
    let all = s.tokens().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].revoked_at.is_some() && all[1].revoked_at.is_none());
    s.close().await;
    // The database file holds no secret.
    let db = std::fs::read(dir.path().join("teld.db")).unwrap();
    let wal = std::fs::read(dir.path().join("teld.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        let needle = t.expose().as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "a secret reached the store");
    }
}
