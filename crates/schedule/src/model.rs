//! What is to be planned.

use crate::geometry::unit;

/// Seconds from the problem's time origin.
pub type Time = f64;

#[derive(Debug, Clone)]
pub struct Telescope {
    pub id: String,
    /// The schedulable interval.
    pub night: (Time, Time),
    /// Every transition costs `settle_s` plus separation / `rate_deg_per_s`
    /// (no per-degree term when `None`).
    pub settle_s: f64,
    pub rate_deg_per_s: Option<f64>,
}

impl Telescope {
    /// Time needed between the end of one observation and the start of the next.
    #[inline]
    pub fn transition(&self, sep_deg: f64) -> f64 {
        match self.rate_deg_per_s {
            Some(r) => self.settle_s + sep_deg / r,
            None => self.settle_s,
        }
    }
}

/// Where a target is.
#[derive(Debug, Clone)]
pub enum Target {
    Fixed {
        ra_deg: f64,
        dec_deg: f64,
        unit: [f64; 3],
    },
    /// Rows `(t, ra, dec)` every `step` seconds from `t0`, linear between (RA the
    /// short way round), as the benchmark format defines.
    Ephemeris {
        t0: Time,
        step: f64,
        rows: Vec<(f64, f64)>,
        units: Vec<[f64; 3]>,
    },
}

impl Target {
    pub fn fixed(ra_deg: f64, dec_deg: f64) -> Target {
        Target::Fixed { ra_deg, dec_deg, unit: unit(ra_deg, dec_deg) }
    }

    pub fn ephemeris(t0: Time, step: f64, rows: Vec<(f64, f64)>) -> Target {
        let units = rows.iter().map(|&(ra, dec)| unit(ra, dec)).collect();
        Target::Ephemeris { t0, step, rows, units }
    }

    /// (ra, dec) in degrees at `t`.
    pub fn radec(&self, t: Time) -> (f64, f64) {
        match self {
            Target::Fixed { ra_deg, dec_deg, .. } => (*ra_deg, *dec_deg),
            Target::Ephemeris { t0, step, rows, .. } => {
                let i = (((t - t0) / step).floor() as i64).clamp(0, rows.len() as i64 - 2) as usize;
                let ta = t0 + i as f64 * step;
                let (ra_a, dec_a) = rows[i];
                let (ra_b, dec_b) = rows[i + 1];
                let f = (t - ta) / step;
                let dra = (ra_b - ra_a + 180.0).rem_euclid(360.0) - 180.0;
                ((ra_a + f * dra).rem_euclid(360.0), dec_a + f * (dec_b - dec_a))
            }
        }
    }

    /// Unit vector at `t`.
    #[inline]
    pub fn unit_at(&self, t: Time) -> [f64; 3] {
        match self {
            Target::Fixed { unit, .. } => *unit,
            Target::Ephemeris { .. } => {
                let (ra, dec) = self.radec(t);
                unit(ra, dec)
            }
        }
    }

    /// Unit vector at `t` for planning: the rows' unit vectors interpolated linearly
    /// and normalised, within a few milliarcseconds of [`Target::unit_at`] for rows
    /// ten minutes apart and rates up to degrees per hour, at a fraction of the cost.
    #[inline]
    pub fn unit_plan(&self, t: Time) -> [f64; 3] {
        match self {
            Target::Fixed { unit, .. } => *unit,
            Target::Ephemeris { t0, step, units, .. } => {
                let x = (t - t0) / step;
                let i = (x.floor() as i64).clamp(0, units.len() as i64 - 2) as usize;
                let f = x - i as f64;
                let (a, b) = (units[i], units[i + 1]);
                let v =
                    [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
                let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
                [v[0] / n, v[1] / n, v[2] / n]
            }
        }
    }

    pub fn is_fixed(&self) -> bool {
        matches!(self, Target::Fixed { .. })
    }
}

/// Where and when a frozen request's visits are.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinned {
    pub telescope: usize,
    /// Start of each visit, in order.
    pub starts: Vec<Time>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    /// Earned only when every visit is done.
    pub value: f64,
    pub visits: u32,
    /// Length of each visit.
    pub duration_s: f64,
    /// Start-to-start spacing between consecutive visits.
    pub spacing: Option<(f64, f64)>,
    pub target: Target,
    /// Per telescope (index into `Problem::telescopes`): the intervals in which a
    /// visit may lie, already cut to the request's window and the telescope's night,
    /// sorted, without intervals too short for one visit.
    pub windows: Vec<Vec<(Time, Time)>>,
    /// Cannot be moved or removed: a block running or about to start.
    pub pinned: Option<Pinned>,
    /// Soft preferences (airmass, Moon): where among its legal places a visit is
    /// best put. Never vetoes and never changes the value earned.
    pub preference: Option<Preference>,
}

/// A penalty per telescope over time, in seconds of telescope time it is worth
/// avoiding, added to the slew cost when choosing among the places a visit can take
/// in the sequence (which neighbours, which order). It never makes a telescope wait
/// idle for a better place: a visit still floats to the earliest start its place
/// allows, because for follow-up of moving, fading targets under changing weather,
/// sooner is worth more than a lower airmass.
#[derive(Debug, Clone, PartialEq)]
pub struct Preference {
    pub t0: Time,
    pub step: f64,
    /// Per telescope (index into `Problem::telescopes`), the penalty at
    /// `t0 + k·step`; empty = no preference on that telescope.
    pub penalty_s: Vec<Vec<f32>>,
}

impl Preference {
    pub fn new(t0: Time, step: f64, penalty_s: Vec<Vec<f32>>) -> Preference {
        Preference { t0, step, penalty_s }
    }

    /// The penalty of starting at `t` on telescope `tel` (nearest sample; 0 outside).
    pub fn at(&self, tel: usize, t: Time) -> f64 {
        let Some(row) = self.penalty_s.get(tel) else { return 0.0 };
        let k = ((t - self.t0) / self.step).round();
        if k < 0.0 {
            return 0.0;
        }
        row.get(k as usize).map_or(0.0, |&v| v as f64)
    }
}

impl Request {
    /// Telescope-time one completion needs, counting a settle per visit: the
    /// denominator of "value density".
    pub fn footprint(&self, settle_s: f64) -> f64 {
        self.visits as f64 * (self.duration_s + settle_s)
    }

    /// The soft-preference penalty of a visit starting at `t` on `tel`.
    #[inline]
    pub fn penalty(&self, tel: usize, t: Time) -> f64 {
        self.preference.as_ref().map_or(0.0, |p| p.at(tel, t))
    }

    pub fn visible_on(&self, t: usize) -> bool {
        !self.windows[t].is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub name: String,
    pub telescopes: Vec<Telescope>,
    pub requests: Vec<Request>,
    /// Fixed targets' unit vectors (`None` for moving ones), packed for the planner's
    /// inner loop.
    pub(crate) fixed_units: Vec<Option<[f64; 3]>>,
}

impl Problem {
    /// Adds a request (new work for a live plan, see [`crate::Plan::add_request`]);
    /// returns its index.
    pub fn push_request(&mut self, r: Request) -> usize {
        self.fixed_units.push(match r.target {
            Target::Fixed { unit, .. } => Some(unit),
            Target::Ephemeris { .. } => None,
        });
        self.requests.push(r);
        self.requests.len() - 1
    }

    pub fn new(
        name: impl Into<String>,
        telescopes: Vec<Telescope>,
        requests: Vec<Request>,
    ) -> Problem {
        let fixed_units = requests
            .iter()
            .map(|r| match r.target {
                Target::Fixed { unit, .. } => Some(unit),
                Target::Ephemeris { .. } => None,
            })
            .collect();
        Problem { name: name.into(), telescopes, requests, fixed_units }
    }

    /// Intersects visibility with window and night and drops unusable pieces; used by
    /// every loader so the solver sees only where a visit can really lie.
    pub fn effective_windows(
        vis: &[(Time, Time)],
        window: Option<(Time, Time)>,
        night: (Time, Time),
        duration_s: f64,
    ) -> Vec<(Time, Time)> {
        let (wa, wb) = window.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        let mut out: Vec<(Time, Time)> = vis
            .iter()
            .map(|&(a, b)| (a.max(wa).max(night.0), b.min(wb).min(night.1)))
            .filter(|&(a, b)| b - a >= duration_s - 1e-9)
            .collect();
        out.sort_by(|x, y| x.0.total_cmp(&y.0));
        out
    }
}
