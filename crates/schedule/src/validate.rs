//! The benchmark's scoring rules (`validate_v2.py`, section 4 of FORMAT-v2.md), so
//! tests can check every plan the solver makes without Python. Times are compared
//! with the validator's 1e-3 s tolerance.

use crate::geometry::separation_deg;
use crate::instance::Observation;
use crate::model::Problem;

const TOL: f64 = 1e-3;

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub violations: Vec<String>,
    /// Σ value over completed requests.
    pub value: f64,
    /// Σ required transitions between consecutive observations.
    pub slew_s: f64,
}

/// Scores `obs` against `p`. `windows` in the problem are the effective ones
/// (visibility ∩ window ∩ night), so rule 3 is one check here.
pub fn validate(p: &Problem, obs: &[Observation]) -> Report {
    let mut violations = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut ok: Vec<&Observation> = Vec::new();
    for o in obs {
        let r = &p.requests[o.request];
        let name = format!("{} visit {} on {}", r.id, o.visit, p.telescopes[o.telescope].id);
        if o.visit >= r.visits {
            violations.push(format!("{name}: bad_visit"));
        } else if !seen.insert((o.request, o.visit)) {
            violations.push(format!("{name}: duplicate"));
        } else if o.end - o.start < r.duration_s - TOL {
            violations.push(format!("{name}: too_short"));
        } else if !r.windows[o.telescope]
            .iter()
            .any(|&(a, b)| o.start >= a - TOL && o.end <= b + TOL)
        {
            violations.push(format!(
                "{name}: not_visible (or outside window/night) at [{}, {}]",
                o.start, o.end
            ));
        } else {
            ok.push(o);
        }
    }
    let mut slew_s = 0.0;
    for (t, tel) in p.telescopes.iter().enumerate() {
        let mut mine: Vec<&&Observation> = ok.iter().filter(|o| o.telescope == t).collect();
        mine.sort_by(|a, b| a.start.total_cmp(&b.start));
        for w in mine.windows(2) {
            let (a, b) = (w[0], w[1]);
            let pa = p.requests[a.request].target.unit_at(a.start);
            let pb = p.requests[b.request].target.unit_at(b.start);
            let need = tel.transition(separation_deg(pa, pb));
            slew_s += need;
            if b.start - a.end < need - TOL {
                violations.push(format!(
                    "{} then {} on {}: transition {:.3} s < {:.3} s",
                    p.requests[a.request].id,
                    p.requests[b.request].id,
                    tel.id,
                    b.start - a.end,
                    need
                ));
            }
        }
    }
    let mut per_req: Vec<Vec<&Observation>> = vec![Vec::new(); p.requests.len()];
    for o in &ok {
        per_req[o.request].push(o);
    }
    let mut value = 0.0;
    for (ri, vs) in per_req.iter_mut().enumerate() {
        let r = &p.requests[ri];
        if vs.is_empty() {
            continue;
        }
        vs.sort_by_key(|o| o.visit);
        let mut bad = false;
        if vs.iter().any(|o| o.telescope != vs[0].telescope) {
            violations.push(format!("{}: tracklet_split", r.id));
            bad = true;
        }
        for w in vs.windows(2) {
            let d = w[1].start - w[0].start;
            if d <= 0.0 {
                violations.push(format!("{}: visit_order", r.id));
                bad = true;
            } else if let Some((lo, hi)) = r.spacing {
                if d < lo - TOL {
                    violations.push(format!("{}: spacing_short ({d} s < {lo} s)", r.id));
                    bad = true;
                } else if d > hi + TOL {
                    violations.push(format!("{}: spacing_long ({d} s > {hi} s)", r.id));
                    bad = true;
                }
            }
        }
        if !bad && vs.len() == r.visits as usize {
            value += r.value;
        }
    }
    Report { violations, value, slew_s }
}
