//! An upper bound on the value of any plan of a problem, for judging a plan from
//! outside (teld's `/metrics` reports the gap).
//!
//! Fractional knapsack over the telescopes' pooled night time: every request that
//! can be placed somewhere (a window on some telescope, or pinned) is an item of
//! size `visits × duration_s` and its value; items are taken by value per second,
//! the last one in part. Any feasible plan does each request at most once within the
//! summed nights and pays transitions on top, so its value cannot exceed this.
//! O(n log n).

use crate::model::Problem;

pub fn fractional_bound(p: &Problem) -> f64 {
    let mut capacity: f64 = p.telescopes.iter().map(|t| (t.night.1 - t.night.0).max(0.0)).sum();
    let mut items: Vec<(f64, f64)> = p
        .requests
        .iter()
        .filter(|r| r.value > 0.0)
        .filter(|r| r.pinned.is_some() || r.windows.iter().any(|w| !w.is_empty()))
        .map(|r| (r.value, (r.duration_s * f64::from(r.visits.max(1))).max(0.0)))
        .collect();
    // Densest first; a zero-length item is infinitely dense and always fits.
    items.sort_by(|a, b| (b.0 * a.1).total_cmp(&(a.0 * b.1)));
    let mut bound = 0.0;
    for (value, size) in items {
        if size <= capacity {
            bound += value;
            capacity -= size;
        } else {
            if size > 0.0 {
                bound += value * capacity / size;
            }
            break;
        }
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Request, Target, Telescope};

    fn req(id: &str, value: f64, duration_s: f64, visible: bool) -> Request {
        Request {
            id: id.into(),
            value,
            visits: 1,
            duration_s,
            spacing: None,
            target: Target::fixed(0.0, 0.0),
            windows: vec![if visible { vec![(0.0, 1000.0)] } else { vec![] }],
            pinned: None,
            preference: None,
        }
    }

    #[test]
    fn takes_the_densest_whole_then_a_fraction_and_ignores_the_unplaceable() {
        let tel =
            Telescope { id: "t".into(), night: (0.0, 1000.0), settle_s: 0.0, rate_deg_per_s: None };
        let p = Problem::new(
            "b",
            vec![tel],
            vec![
                req("a", 10.0, 500.0, true), // 0.02 /s
                req("b", 30.0, 600.0, true), // 0.05 /s
                req("c", 99.0, 10.0, false), // nowhere visible
            ],
        );
        // b whole (600 s), then 400 of a's 500 s.
        assert!((fractional_bound(&p) - (30.0 + 8.0)).abs() < 1e-9);
    }
}
