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

/// Scores `obs` against `p` as `validate_v2.py` does: observations that fail a rule
/// are dropped stage by stage (per observation, then per telescope, then per request),
/// and only what survives every stage earns value. `windows` in the problem are the
/// effective ones (visibility ∩ window ∩ night), so rule 3 is one check here.
pub fn validate(p: &Problem, obs: &[Observation]) -> Report {
    let mut violations = Vec::new();
    let admitted = admit(p, obs, &mut violations);
    let (kept, slew_s) = sequence(p, admitted, &mut violations);
    let value = completed_value(p, &kept, &mut violations);
    Report { violations, value, slew_s }
}

/// The observations that pass the per-observation rules, each checked on its own.
fn admit<'a>(
    p: &Problem,
    obs: &'a [Observation],
    violations: &mut Vec<String>,
) -> Vec<&'a Observation> {
    let mut seen = std::collections::HashSet::new();
    let mut ok = Vec::new();
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
    ok
}

/// Per telescope in start order: an observation that starts too soon after the last
/// one kept is dropped (and the next is compared with that one again). Returns what is
/// kept and the transitions between kept neighbours.
fn sequence<'a>(
    p: &Problem,
    admitted: Vec<&'a Observation>,
    violations: &mut Vec<String>,
) -> (Vec<&'a Observation>, f64) {
    let mut kept = Vec::with_capacity(admitted.len());
    let mut slew_s = 0.0;
    for (t, tel) in p.telescopes.iter().enumerate() {
        let mut mine: Vec<&Observation> =
            admitted.iter().copied().filter(|o| o.telescope == t).collect();
        // The validator's order, ties included.
        mine.sort_by(|a, b| {
            (a.start.total_cmp(&b.start))
                .then(a.end.total_cmp(&b.end))
                .then_with(|| p.requests[a.request].id.cmp(&p.requests[b.request].id))
                .then(a.visit.cmp(&b.visit))
        });
        let mut prev: Option<&Observation> = None;
        for o in mine {
            if let Some(a) = prev {
                let pa = p.requests[a.request].target.unit_at(a.start);
                let pb = p.requests[o.request].target.unit_at(o.start);
                let need = tel.transition(separation_deg(pa, pb));
                if o.start - a.end < need - TOL {
                    violations.push(format!(
                        "{} then {} on {}: transition {:.3} s < {:.3} s",
                        p.requests[a.request].id,
                        p.requests[o.request].id,
                        tel.id,
                        o.start - a.end,
                        need
                    ));
                    continue;
                }
                slew_s += need;
            }
            kept.push(o);
            prev = Some(o);
        }
    }
    (kept, slew_s)
}

/// Σ value of the requests whose visits are all kept and legal together.
fn completed_value(p: &Problem, kept: &[&Observation], violations: &mut Vec<String>) -> f64 {
    let mut per_req: Vec<Vec<&Observation>> = vec![Vec::new(); p.requests.len()];
    for o in kept {
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
            } else if let Some((lo, hi)) = r.spacing
                // Spacing binds consecutive visits only: 0 and 2 without 1 is a partial.
                && w[1].visit == w[0].visit + 1
            {
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
    value
}
