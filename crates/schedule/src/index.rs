//! Which requests could go where: per telescope, the requests whose windows touch
//! each stretch of the night, so a repair after ruining [t0, t1] only looks at
//! requests that could use that time.

use crate::model::{Problem, Time};

/// Width of a bucket: a few typical visits, so a query touches a handful of buckets.
const BUCKET_S: f64 = 600.0;

pub struct TimeIndex {
    origin: Vec<Time>,
    buckets: Vec<Vec<Vec<u32>>>,
}

impl TimeIndex {
    pub fn new(p: &Problem) -> TimeIndex {
        let mut origin = Vec::new();
        let mut buckets = Vec::new();
        for (t, tel) in p.telescopes.iter().enumerate() {
            let n = (((tel.night.1 - tel.night.0) / BUCKET_S).ceil() as usize).max(1);
            let mut b: Vec<Vec<u32>> = vec![Vec::new(); n];
            for (r, req) in p.requests.iter().enumerate() {
                let mut last = usize::MAX;
                for &(a, e) in &req.windows[t] {
                    let i0 = (((a - tel.night.0) / BUCKET_S).floor().max(0.0) as usize).min(n - 1);
                    let i1 = (((e - tel.night.0) / BUCKET_S).floor().max(0.0) as usize).min(n - 1);
                    for (i, bucket) in b.iter_mut().enumerate().take(i1 + 1).skip(i0) {
                        if i != last {
                            bucket.push(r as u32);
                            last = i;
                        }
                    }
                }
            }
            origin.push(tel.night.0);
            buckets.push(b);
        }
        TimeIndex { origin, buckets }
    }

    /// Requests whose windows on telescope `t` touch [t0, t1], each once, appended to
    /// `out` (using `seen` as a stamp array: `seen[r] == stamp` means already listed).
    pub fn query(
        &self,
        t: usize,
        t0: Time,
        t1: Time,
        seen: &mut [u32],
        stamp: u32,
        out: &mut Vec<usize>,
    ) {
        let b = &self.buckets[t];
        let i0 = (((t0 - self.origin[t]) / BUCKET_S).floor().max(0.0) as usize).min(b.len() - 1);
        let i1 = (((t1 - self.origin[t]) / BUCKET_S).floor().max(0.0) as usize).min(b.len() - 1);
        for bucket in &b[i0..=i1] {
            for &r in bucket {
                if seen[r as usize] != stamp {
                    seen[r as usize] = stamp;
                    out.push(r as usize);
                }
            }
        }
    }
}
