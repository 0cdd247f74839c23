//! A deterministic random-instance builder shared by the integration tests.
#![allow(dead_code)]

use teld_schedule::model::Time;
use teld_schedule::{Problem, Request, Target, Telescope};

pub use teld_schedule::rng::Rng;

/// The crate's generator seeded as these tests always seeded theirs (the seed
/// scrambled by a multiply), so a seed names the same instance forever: the seeds in
/// the tests' comments and failure messages stay meaningful.
pub fn rng(seed: u64) -> Rng {
    Rng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D))
}

/// The draws the instance builders use on top of [`Rng`]'s own.
pub trait Draw {
    /// Uniform in lo..=hi.
    fn int(&mut self, lo: i64, hi: i64) -> i64;
    fn chance(&mut self, p: f64) -> bool;
    /// A multiple of 60 s in [lo, hi] (both multiples of 60).
    fn grid(&mut self, lo: f64, hi: f64) -> f64;
}

impl Draw for Rng {
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    fn grid(&mut self, lo: f64, hi: f64) -> f64 {
        60.0 * self.int((lo / 60.0) as i64, (hi / 60.0) as i64) as f64
    }
}

/// Shares of each kind of request; the rest are tracklets.
#[derive(Clone, Copy)]
pub struct Mix {
    pub fixed: f64,
    pub moving: f64,
}

pub const MIXED: Mix = Mix { fixed: 0.35, moving: 0.30 };
pub const TRACKLETS_ONLY: Mix = Mix { fixed: 0.0, moving: 0.0 };

pub fn telescope(id: &str, night: (Time, Time), settle_s: f64, rate: Option<f64>) -> Telescope {
    Telescope { id: id.into(), night, settle_s, rate_deg_per_s: rate }
}

/// A request under construction: one visit of a fixed target at (0, 0), no window,
/// visible all night from every telescope, until told otherwise.
pub struct Spec {
    id: String,
    value: f64,
    visits: u32,
    duration_s: f64,
    spacing: Option<(f64, f64)>,
    target: Target,
    window: Option<(Time, Time)>,
    vis: Option<Vec<Vec<(Time, Time)>>>,
}

pub fn spec(id: &str, value: f64, duration_s: f64) -> Spec {
    Spec {
        id: id.into(),
        value,
        visits: 1,
        duration_s,
        spacing: None,
        target: Target::fixed(0.0, 0.0),
        window: None,
        vis: None,
    }
}

impl Spec {
    pub fn tracklet(mut self, visits: u32, min_s: f64, max_s: f64) -> Spec {
        self.visits = visits;
        self.spacing = Some((min_s, max_s));
        self
    }

    pub fn at(mut self, target: Target) -> Spec {
        self.target = target;
        self
    }

    pub fn fixed(self, ra: f64, dec: f64) -> Spec {
        self.at(Target::fixed(ra, dec))
    }

    pub fn window(mut self, a: Time, b: Time) -> Spec {
        self.window = Some((a, b));
        self
    }

    /// Visibility intervals per telescope (an empty list: never visible from it).
    pub fn seen(mut self, vis: Vec<Vec<(Time, Time)>>) -> Spec {
        self.vis = Some(vis);
        self
    }

    /// The request, its windows cut as every loader cuts them.
    pub fn on(self, tels: &[Telescope]) -> Request {
        let vis = self.vis.unwrap_or_else(|| tels.iter().map(|t| vec![t.night]).collect());
        assert_eq!(vis.len(), tels.len(), "{}: visibility per telescope", self.id);
        let windows = tels
            .iter()
            .zip(&vis)
            .map(|(t, v)| Problem::effective_windows(v, self.window, t.night, self.duration_s))
            .collect();
        Request {
            id: self.id,
            value: self.value,
            visits: self.visits,
            duration_s: self.duration_s,
            spacing: self.spacing,
            target: self.target,
            windows,
            pinned: None,
            preference: None,
        }
    }
}

/// Rows every 600 s from `t0` to past `t1`, great-circle-ish motion at `deg_per_day`.
pub fn ephemeris(rng: &mut Rng, t0: Time, t1: Time, deg_per_day: f64) -> Target {
    let step = 600.0;
    let (mut ra, mut dec) = (rng.range(0.0, 360.0), rng.range(-60.0, 60.0));
    let pa = rng.range(0.0, std::f64::consts::TAU);
    let d = deg_per_day * step / 86_400.0;
    let n = ((t1 - t0) / step).ceil() as usize + 2;
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        rows.push((ra, dec));
        ra = (ra + d * pa.cos() / dec.to_radians().cos()).rem_euclid(360.0);
        dec = (dec + d * pa.sin()).clamp(-80.0, 80.0);
    }
    Target::ephemeris(t0, step, rows)
}

/// Disjoint visibility intervals on the 60 s grid, some reaching past the night so
/// that the clipping matters.
fn visibility(rng: &mut Rng, night: (Time, Time), min_len: f64) -> Vec<(Time, Time)> {
    let (lo, hi) = (night.0 - 3600.0, night.1 + 3600.0);
    let n = rng.int(1, 3) as usize;
    let mut cuts: Vec<f64> = (0..2 * n).map(|_| rng.grid(lo, hi)).collect();
    cuts.sort_by(f64::total_cmp);
    let mut out: Vec<(Time, Time)> =
        cuts.chunks(2).map(|c| (c[0], c[1])).filter(|(a, b)| b - a >= 120.0).collect();
    // Mostly usable visibility: one interval long enough for a whole request.
    if rng.chance(0.7) {
        let a = rng.grid(night.0, (night.1 - min_len).max(night.0));
        let b = (a + min_len + rng.grid(0.0, 7200.0)).min(hi);
        out.retain(|&(x, y)| y < a || x > b);
        out.push((a, b));
        out.sort_by(|x, y| x.0.total_cmp(&y.0));
    }
    // Touching intervals would be one maximal interval in a real instance.
    out.dedup_by(|b, a| {
        let touch = b.0 <= a.1;
        if touch {
            a.1 = a.1.max(b.1);
        }
        touch
    });
    out
}

/// A random night for 1–3 telescopes and 5–80 requests (as `mix` says) on the 60 s grid.
pub fn random_problem(seed: u64, mix: Mix) -> Problem {
    let mut rng = rng(seed);
    let ntel = rng.int(1, 3) as usize;
    let tels: Vec<Telescope> = (0..ntel)
        .map(|i| {
            let a = rng.grid(0.0, 4.0 * 3600.0);
            let b = a + rng.grid(3.0 * 3600.0, 10.0 * 3600.0);
            let settle = [0.0, 10.0, 15.0, 20.0, 30.0][rng.int(0, 4) as usize];
            let rate = if rng.chance(0.3) {
                None
            } else {
                Some([0.5, 1.0, 1.5, 2.0][rng.int(0, 3) as usize])
            };
            telescope(&format!("T{i}"), (a, b), settle, rate)
        })
        .collect();
    let horizon = tels.iter().map(|t| t.night.1).fold(0.0, f64::max);
    let nreq = rng.int(5, 80) as usize;
    let mut requests = Vec::with_capacity(nreq);
    for i in 0..nreq {
        let kind = rng.f64();
        let (visits, dur, spacing, target) = if kind < mix.fixed {
            let t = Target::fixed(rng.range(0.0, 360.0), rng.range(-70.0, 70.0));
            (1, rng.grid(60.0, 900.0), None, t)
        } else if kind < mix.fixed + mix.moving {
            let rate = rng.range(0.0, 30.0);
            let t = ephemeris(&mut rng, -600.0, horizon + 600.0, rate);
            (1, rng.grid(60.0, 600.0), None, t)
        } else {
            let k = rng.int(3, 5) as u32;
            let dur = rng.grid(60.0, 180.0);
            let lo =
                if rng.chance(0.8) { rng.grid(900.0, 1200.0) } else { dur + rng.grid(0.0, 600.0) };
            let hi =
                lo + if rng.chance(0.9) { rng.grid(600.0, 1800.0) } else { rng.grid(0.0, 120.0) };
            // Mostly survey fields; some tracklets follow a mover.
            let t = if rng.chance(0.8) {
                Target::fixed(rng.range(0.0, 360.0), rng.range(-70.0, 70.0))
            } else {
                let rate = rng.range(0.0, 30.0);
                ephemeris(&mut rng, -600.0, horizon + 600.0, rate)
            };
            (k, dur, Some((lo, hi)), t)
        };
        let need = match spacing {
            Some((lo, _)) => (visits - 1) as f64 * lo + dur,
            None => dur,
        };
        let window = if rng.chance(0.3) {
            let a = rng.grid(0.0, horizon);
            Some((a, a + rng.grid(need.max(1800.0), 6.0 * 3600.0)))
        } else {
            None
        };
        let vis: Vec<Vec<(Time, Time)>> = tels
            .iter()
            .map(
                |t| if rng.chance(0.75) { visibility(&mut rng, t.night, need) } else { Vec::new() },
            )
            .collect();
        let value = rng.int(1, 10) as f64 * if visits > 1 { visits as f64 } else { 1.0 };
        let mut r = spec(&format!("R{i:03}"), value, dur).at(target).seen(vis);
        if let Some((lo, hi)) = spacing {
            r = r.tracklet(visits, lo, hi);
        }
        if let Some((a, b)) = window {
            r = r.window(a, b);
        }
        requests.push(r.on(&tels));
    }
    Problem::new(format!("random-{seed}"), tels, requests)
}
