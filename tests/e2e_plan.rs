//! The night plan end to end, with the real teld binary and the real simulator driver:
//! a rapid-response request preempting the running block (and, configured off,
//! waiting for it), a cancellation freeing its slot for work that did not fit, and an
//! hour of rain moving the plan behind the reopening.
//!
//! The simulated observatory is made quick (small frames, a fast dome and mount) so
//! that the test at speed 1, where a simulated second is a real one, stays short.

mod common;

use std::time::Duration;

use common::daemon::{Teld, TestSite, history};
use common::http;
use serde_json::Value;
use teld_driver_protocol::time::parse_utc;

/// A quick observatory: 256² frames read out in 1 s, a dome that opens in 5 s, a mount
/// at 10 °/s, 2 s settle. `replace` and `extra` as for [`TestSite::new`].
fn quick_site(name: &str, replace: &[(&str, &str)], extra: &str) -> TestSite {
    let mut subs = vec![
        (
            "plate_scale_arcsec = 1.5",
            "plate_scale_arcsec = 1.5\nwidth = 256\nheight = 256\nreadout_s = 1.0",
        ),
        ("settle_s = 5.0", "settle_s = 2.0"),
    ];
    subs.extend_from_slice(replace);
    let extra = format!(
        "
[drivers.settings.mount]
slew_rate_deg_s = 10.0
slew_accel_deg_s2 = 10.0

[drivers.settings.dome]
shutter_time_s = 5.0
{extra}"
    );
    TestSite::new(name, &subs, &extra)
}

struct Req<'a> {
    name: &'a str,
    ra: f64,
    dec: f64,
    exposure: f64,
    count: u32,
    priority: u32,
    class: &'a str,
    window: Option<(&'a str, &'a str)>,
}

impl Req<'_> {
    fn json(&self) -> String {
        let window = self
            .window
            .map(|(a, b)| format!(r#", "window": {{"start": "{a}", "end": "{b}"}}"#))
            .unwrap_or_default();
        format!(
            r#"{{"name": "{n}", "target": {{"name": "{n}", "ra_deg": {ra}, "dec_deg": {dec}}},
                "exposure_s": {e}, "count": {c}, "priority": {p}, "class": "{class}"{window}}}"#,
            n = self.name,
            ra = self.ra,
            dec = self.dec,
            e = self.exposure,
            c = self.count,
            p = self.priority,
            class = self.class,
        )
    }
}

fn normal(name: &str, ra: f64, dec: f64, exposure: f64, count: u32, priority: u32) -> Req<'_> {
    Req { name, ra, dec, exposure, count, priority, class: "normal", window: None }
}

/// When the request last entered `state` (simulated UTC).
fn entered(r: &Value, state: &str) -> String {
    r["history"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["state"] == state)
        .unwrap_or_else(|| panic!("request never {state}: {r}"))["at"]
        .as_str()
        .unwrap()
        .to_string()
}

fn seconds_between(a: &str, b: &str) -> f64 {
    (parse_utc(b).unwrap() - parse_utc(a).unwrap()).to_seconds()
}

/// `a` is at or after `b`, to the microsecond the API prints.
fn not_before(a: &str, b: &str) -> bool {
    seconds_between(b, a) >= -1e-5
}

fn plus(t: &str, s: f64) -> String {
    teld_driver_protocol::time::format_utc(
        parse_utc(t).unwrap() + hifitime::Duration::from_seconds(s),
    )
}

/// Planned blocks of t1: (request id, start, end).
fn t1_blocks(plan: &Value) -> Vec<(i64, String, String)> {
    let none = Vec::new();
    plan["telescopes"][0]["blocks"]
        .as_array()
        .unwrap_or(&none)
        .iter()
        .map(|b| {
            (
                b["request_id"].as_i64().unwrap(),
                b["start"].as_str().unwrap().to_string(),
                b["end"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn unplanned(plan: &Value) -> Vec<i64> {
    let none = Vec::new();
    plan["unplanned"].as_array().unwrap_or(&none).iter().map(|v| v.as_i64().unwrap()).collect()
}

fn frame_dates(r: &Value) -> Vec<String> {
    r["frames"].as_array().unwrap().iter().map(|f| f["date_obs"].as_str().unwrap().into()).collect()
}

/// Waits until `id`'s block on t1 is exposing frame `seq` (1-based) with the
/// exposure less than half done.
fn wait_exposing(teld: &Teld, id: i64, seq: u64) {
    teld.wait_for(&format!("request {id} exposing frame {seq}"), Duration::from_secs(180), |t| {
        let s = t.get("/api/v1/status");
        let tel = &s["telescopes"]["t1"];
        let b = &tel["block"];
        let cam = &tel["camera"];
        (b["request_id"] == id
            && b["phase"] == "exposing"
            && b["frames_done"].as_u64() == Some(seq - 1)
            && cam["camera_state"] == "exposing"
            && cam["percent_completed"].as_f64().is_some_and(|p| p < 50.0))
        .then_some(())
    });
}

const LONG: Req<'static> = Req {
    name: "long",
    ra: 22.5,
    dec: 20.1,
    exposure: 20.0,
    count: 6,
    priority: 50,
    class: "normal",
    window: None,
};
const RAPID: Req<'static> = Req {
    name: "neo-now",
    ra: 350.0,
    dec: 10.0,
    exposure: 5.0,
    count: 3,
    priority: 50,
    class: "rapid_response",
    window: None,
};

#[test]
fn rapid_response_preempts_the_running_block_within_a_second() {
    let site = quick_site("rapid", &[], "");
    // Speed 1: a simulated second is a real one, so the latency measured is the real
    // latency of the daemon.
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 1.0);
    let a = teld.submit(&LONG.json());
    wait_exposing(&teld, a, 2);
    let before = teld.get(&format!("/api/v1/requests/{a}"));
    assert_eq!(before["attempts"], 0);
    let frames_before = before["frames"].as_array().unwrap().len();
    assert_eq!(frames_before, 1, "one frame stored, the second exposing: {before}");

    let reply = http::post_json(teld.addr, "/api/v1/requests", &RAPID.json());
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.body));
    let posted = reply.json()["submitted_at"].as_str().unwrap().to_string();
    let r = reply.json()["id"].as_i64().unwrap();

    // The mount slews to the rapid target: the block view names it, slewing.
    let (slew_since, seen_at) =
        teld.wait_for("the rapid request's slew", Duration::from_secs(30), |t| {
            let s = t.get("/api/v1/status");
            let b = &s["telescopes"]["t1"]["block"];
            (b["request_id"] == r && b["phase"] == "slewing").then(|| {
                (
                    b["phase_since"].as_str().unwrap().to_string(),
                    s["clock"]["utc"].as_str().unwrap().to_string(),
                )
            })
        });
    let latency = seconds_between(&posted, &slew_since);
    let seen = seconds_between(&posted, &seen_at);
    eprintln!(
        "POST acknowledged {posted}; slew to the rapid target began {slew_since} ({latency:.3} s later; seen by polling after {seen:.3} s)"
    );
    assert!(latency >= 0.0, "the slew began before the POST? {posted} vs {slew_since}");
    assert!(latency <= 1.0, "the telescope must move within 1 s of the POST, took {latency:.3} s");
    let rr = teld.get(&format!("/api/v1/requests/{r}"));
    let dispatched = seconds_between(&posted, &entered(&rr, "observing"));
    assert!(dispatched <= 1.0, "rapid request observing {dispatched:.3} s after the POST");

    // It is the rapid target the mount went to.
    teld.wait_for("the mount on the rapid target", Duration::from_secs(60), |t| {
        let s = t.get("/api/v1/status");
        let tel = &s["telescopes"]["t1"];
        let (m, b) = (&tel["mount"], &tel["block"]);
        let ra = m["right_ascension"].as_f64()? * 15.0;
        let dec = m["declination"].as_f64()?;
        (b["request_id"] == r && b["phase"] == "exposing" && m["slewing"] == false).then(|| {
            assert!(
                (ra - RAPID.ra).abs() < 0.1 && (dec - RAPID.dec).abs() < 0.1,
                "mount at {ra} {dec}: {tel}"
            );
        })
    });

    // The interrupted block went back to the queue, no attempt counted, its frame kept
    // and the exposure in progress dropped.
    let ra_ = teld.get(&format!("/api/v1/requests/{a}"));
    let h = history(&ra_);
    let preempted = format!("preempted by rapid-response request {r}");
    assert!(
        h.iter().any(|(s, d)| s == "queued" && d.contains(&preempted)),
        "history names the preemption: {h:?}"
    );
    assert_eq!(ra_["attempts"], 0, "preemption is not a failed attempt: {ra_}");
    let obs = &ra_["observations"][0];
    assert_eq!(obs["outcome"], "aborted", "{ra_}");
    assert!(obs["detail"].as_str().unwrap().contains(&preempted), "{obs}");
    assert_eq!(
        ra_["frames"].as_array().unwrap().len(),
        frames_before,
        "the exposure in progress was aborted, the stored frame kept: {ra_}"
    );

    // The plan has the rapid request on t1 and the interrupted one after it.
    let rapid_done = teld.wait_state(r, "completed", Duration::from_secs(120));
    assert_eq!(rapid_done["frames"].as_array().unwrap().len(), 3);
    assert_eq!(rapid_done["attempts"], 0);
    let rapid_from = entered(&rapid_done, "observing");
    let rapid_to = entered(&rapid_done, "completed");

    // Then the interrupted request resumes and completes with every frame, none taken
    // while the rapid request had the telescope.
    let ra_ = teld.wait_state(a, "completed", Duration::from_secs(300));
    let dates = frame_dates(&ra_);
    assert_eq!(dates.len(), LONG.count as usize, "frames before the preemption count: {ra_}");
    assert!(
        dates.iter().all(|d| *d < rapid_from || *d > rapid_to),
        "no frame of the long request between {rapid_from} and {rapid_to}: {dates:?}"
    );
    let outcomes: Vec<&str> = ra_["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["aborted", "completed"], "{ra_}");
    assert_eq!(ra_["attempts"], 0);
    let states: Vec<&str> = h.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(&states[..4], ["queued", "scheduled", "observing", "queued"], "{h:?}");
}

#[test]
fn without_rapid_response_abort_the_rapid_request_starts_right_after_the_block() {
    let site = quick_site(
        "rapid-wait",
        &[("rapid_response_abort = true", "rapid_response_abort = false")],
        "",
    );
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 5.0);
    let a = teld.submit(&LONG.json());
    wait_exposing(&teld, a, 2);
    let r = teld.submit(&RAPID.json());

    // Planned right behind the running block, which stays first on t1.
    let plan = teld.wait_for("the rapid request in the plan", Duration::from_secs(30), |t| {
        let p = t.get("/api/v1/plan");
        t1_blocks(&p).iter().any(|b| b.0 == r).then_some(p)
    });
    let blocks = t1_blocks(&plan);
    assert_eq!(blocks[0].0, a, "the running block comes first: {plan}");
    assert_eq!(blocks[1].0, r, "the rapid request is next: {plan}");
    assert!(blocks[1].1 >= blocks[0].2, "after the running block ends: {plan}");

    let ra_ = teld.wait_state(a, "completed", Duration::from_secs(120));
    let rr = teld.wait_state(r, "completed", Duration::from_secs(120));
    let h: Vec<String> = history(&ra_).into_iter().map(|(s, _)| s).collect();
    assert_eq!(h, ["queued", "scheduled", "observing", "completed"], "not interrupted: {ra_}");
    assert_eq!(ra_["observations"].as_array().unwrap().len(), 1);
    assert_eq!(ra_["frames"].as_array().unwrap().len(), LONG.count as usize);
    let gap = seconds_between(&entered(&ra_, "completed"), &entered(&rr, "observing"));
    assert!(
        (0.0..=5.0).contains(&gap),
        "the rapid request starts right after the block ends, {gap:.2} s later"
    );
}

#[test]
fn cancelling_a_planned_request_gives_its_time_to_one_that_did_not_fit() {
    let site = quick_site("cancel", &[], "");
    let teld = Teld::start(&site, "2026-11-24T20:40:00", 60.0);
    // Four requests of ~10.5 min for a 40-minute window: three fit, the one of least
    // value (submitted last, so nothing can displace it) does not.
    let window = Some(("2026-11-24T21:00:00", "2026-11-24T21:40:00"));
    let targets = [
        ("w1", 10.0, 15.0, 80),
        ("w2", 22.5, 20.1, 70),
        ("w3", 35.0, 10.0, 60),
        ("w4", 5.0, 25.0, 50),
    ];
    let ids: Vec<i64> = targets
        .iter()
        .map(|&(name, ra, dec, priority)| {
            let mut q = normal(name, ra, dec, 120.0, 5, priority);
            q.window = window;
            teld.submit(&q.json())
        })
        .collect();
    let plan = teld.wait_for("three planned, one left out", Duration::from_secs(30), |t| {
        let p = t.get("/api/v1/plan");
        let planned: Vec<i64> = t1_blocks(&p).iter().map(|b| b.0).collect();
        (ids[..3].iter().all(|i| planned.contains(i)) && unplanned(&p).contains(&ids[3]))
            .then_some(p)
    });
    let blocks = t1_blocks(&plan);
    assert_eq!(blocks.len(), 3, "{plan}");
    for (_, start, end) in &blocks {
        assert!(
            start.as_str() >= "2026-11-24T21:00:00" && end.as_str() <= "2026-11-24T21:40:00",
            "{plan}"
        );
    }
    assert_eq!(teld.request_state(ids[3]), "queued");
    // The block of w2 is later in the night than now.
    let (_, w2_start, w2_end) = blocks.iter().find(|b| b.0 == ids[1]).unwrap().clone();
    let now = teld.get("/api/v1/status")["clock"]["utc"].as_str().unwrap().to_string();
    assert!(now < w2_start, "cancelled before its block: now {now}, block at {w2_start}");

    let reply = http::post_json(teld.addr, &format!("/api/v1/requests/{}/cancel", ids[1]), "");
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let plan = teld.wait_for("w4 in the freed time", Duration::from_secs(30), |t| {
        let p = t.get("/api/v1/plan");
        t1_blocks(&p).iter().any(|b| b.0 == ids[3]).then_some(p)
    });
    let blocks = t1_blocks(&plan);
    assert!(blocks.iter().all(|b| b.0 != ids[1]), "the cancelled request left the plan: {plan}");
    assert!(!unplanned(&plan).contains(&ids[3]), "{plan}");
    assert!(!unplanned(&plan).contains(&ids[1]), "a cancelled request is not 'unplanned': {plan}");
    // Something else now uses the cancelled block's time.
    assert!(
        blocks.iter().any(|(_, s, e)| *s < w2_end && *e > w2_start),
        "another block overlaps the freed {w2_start}..{w2_end}: {plan}"
    );
    teld.wait_state(ids[3], "scheduled", Duration::from_secs(10));

    let cancelled = teld.get(&format!("/api/v1/requests/{}", ids[1]));
    let h = history(&cancelled);
    assert_eq!(h.last().unwrap().0, "cancelled", "{h:?}");
    assert!(h.last().unwrap().1.contains("cancelled by an observer"), "{h:?}");

    // The night runs: the three left complete inside the window, the cancelled one is
    // never observed.
    for &i in [ids[0], ids[2], ids[3]].iter() {
        let r = teld.wait_state(i, "completed", Duration::from_secs(180));
        for d in frame_dates(&r) {
            assert!(
                d.as_str() >= "2026-11-24T21:00:00" && d.as_str() < "2026-11-24T21:40:00",
                "{r}"
            );
        }
    }
    let cancelled = teld.get(&format!("/api/v1/requests/{}", ids[1]));
    assert_eq!(cancelled["state"], "cancelled");
    assert!(cancelled["observations"].as_array().unwrap().is_empty(), "{cancelled}");
    assert!(cancelled["frames"].as_array().unwrap().is_empty(), "{cancelled}");
}

#[test]
fn an_hour_of_rain_moves_the_plan_behind_the_reopening_and_nothing_is_lost() {
    let weather = r#"
[drivers.settings.weather]
unsafe = [{ from = "2026-11-24T21:00:00", to = "2026-11-24T22:00:00", reason = "rain" }]
"#;
    let site = quick_site("rainplan", &[], weather);
    let teld = Teld::start(&site, "2026-11-24T20:45:00", 60.0);
    let (rain_from, rain_to) = ("2026-11-24T21:00:00", "2026-11-24T22:00:00");
    let reopen = plus(rain_to, 600.0); // safety.reopen_after_safe_s

    let mut reqs = [
        normal("anytime-a", 10.0, 15.0, 60.0, 8, 80),
        normal("in-rain", 22.5, 20.1, 60.0, 8, 70),
        normal("only-rain", 35.0, 10.0, 60.0, 3, 60),
        normal("anytime-b", 5.0, 25.0, 60.0, 8, 50),
    ];
    // Windows that put blocks inside the rain: "in-rain" fits again after it,
    // "only-rain" (over before the dome could reopen) does not.
    reqs[1].window = Some(("2026-11-24T21:05:00", "2026-11-24T23:00:00"));
    reqs[2].window = Some(("2026-11-24T21:02:00", "2026-11-24T21:09:00"));
    let ids: Vec<i64> = reqs.iter().map(|q| teld.submit(&q.json())).collect();
    let (in_rain, only_rain) = (ids[1], ids[2]);

    // Before the rain the plan has work inside it.
    let plan = teld.wait_for("the windowed requests planned", Duration::from_secs(30), |t| {
        let p = t.get("/api/v1/plan");
        let planned: Vec<i64> = t1_blocks(&p).iter().map(|b| b.0).collect();
        (planned.contains(&in_rain) && planned.contains(&only_rain)).then_some(p)
    });
    let blocks = t1_blocks(&plan);
    let inside =
        |b: &(i64, String, String)| b.1.as_str() < reopen.as_str() && b.2.as_str() > rain_from;
    assert!(
        blocks.iter().any(|b| b.0 == only_rain && inside(b)),
        "a block was planned inside the rain: {plan}"
    );

    // While it rains the plan is repaired: nothing starts before the dome could reopen.
    teld.wait_for("the rain", Duration::from_secs(120), |t| {
        (t.get("/api/v1/status")["telescopes"]["t1"]["safety"]["safe"] == false).then_some(())
    });
    let during = teld.wait_for("a plan repaired in the rain", Duration::from_secs(60), |t| {
        let p = t.get("/api/v1/plan");
        let at = p["updated_at"].as_str().unwrap_or("").to_string();
        (at.as_str() > rain_from && at.as_str() < rain_to).then_some(p)
    });
    let at = during["updated_at"].as_str().unwrap();
    let earliest = plus(at, 600.0);
    for (id, start, _) in t1_blocks(&during) {
        assert!(
            not_before(&start, &earliest),
            "request {id} planned at {start}, before {earliest}: {during}"
        );
    }
    assert!(
        t1_blocks(&during).iter().all(|b| b.0 != only_rain),
        "a request whose window is inside the rain is no longer planned: {during}"
    );
    // Cleared, waiting to reopen: the plan starts at the reopening.
    let waiting =
        teld.wait_for("the plan while waiting to reopen", Duration::from_secs(120), |t| {
            let p = t.get("/api/v1/plan");
            let at = p["updated_at"].as_str().unwrap_or("").to_string();
            (at.as_str() >= rain_to && at < reopen).then_some(p)
        });
    let blocks = t1_blocks(&waiting);
    assert!(!blocks.is_empty(), "{waiting}");
    for (id, start, _) in &blocks {
        assert!(
            not_before(start, &reopen),
            "request {id} planned at {start}, before reopening at {reopen}"
        );
    }
    assert!(blocks.iter().any(|b| b.0 == in_rain), "re-planned after the rain: {waiting}");

    // Everything that fits completes; nothing is observed in the rain or before the
    // reopening; the request that cannot fit any more is retired with a reason.
    for &i in [ids[0], ids[1], ids[3]].iter() {
        let r = teld.wait_state(i, "completed", Duration::from_secs(300));
        let dates = frame_dates(&r);
        assert!(
            dates.iter().all(|d| d.as_str() < rain_from || *d >= reopen),
            "no frame between {rain_from} and {reopen}: {dates:?}"
        );
    }
    let r = teld.get(&format!("/api/v1/requests/{in_rain}"));
    assert!(frame_dates(&r).iter().all(|d| *d >= reopen), "{r}");
    let lost = teld.get(&format!("/api/v1/requests/{only_rain}"));
    let state = lost["state"].as_str().unwrap();
    let h = history(&lost);
    assert!(
        state == "expired" || state == "queued",
        "the request that no longer fits is not lost silently: {lost}"
    );
    assert!(!h.last().unwrap().1.is_empty(), "with a reason: {h:?}");
    assert!(lost["frames"].as_array().unwrap().is_empty(), "{lost}");
}
