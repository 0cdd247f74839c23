//! Telescopes out of service: their work goes elsewhere, nothing new goes to them.

use super::*;

impl Planner {
    /// A telescope went out of service (`available = false`: its drivers are down)
    /// or came back. Its planned work is offered to the other telescopes at once, a
    /// tracklet under way on it is broken; when it is back, the next repair offers
    /// it work again.
    pub async fn set_available(&self, tel: &str, available: bool) -> Result<(), StoreError> {
        let Some(ti) = self.telescopes.iter().position(|t| t.name == tel) else { return Ok(()) };
        {
            let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
            if down[ti] != available {
                return Ok(());
            }
            down[ti] = !available;
        }
        tracing::warn!(
            telescope = tel,
            available,
            "telescope availability changed; repairing the plan"
        );
        let mut guard = self.state.lock().await;
        let Some(n) = guard.as_mut() else { return Ok(()) };
        if available {
            return Ok(());
        }
        let on_it: Vec<usize> = n.plan.timelines[ti].slots.iter().map(|s| s.req as usize).collect();
        let mut moved = Vec::new();
        for r in on_it {
            if n.progress.contains_key(&r) {
                let why = format!("tracklet broken: telescope {tel} is out of service");
                let now_s = (self.ledger.clock.now() - n.start).to_seconds();
                self.break_tracklet(n, r, &why, now_s).await?;
            } else if n.plan.is_planned(r) {
                n.plan.remove_many(&n.problem, &[r]);
            }
            moved.push(r);
        }
        moved.sort_by(|a, b| {
            n.problem.requests[*b].value.total_cmp(&n.problem.requests[*a].value).then(a.cmp(b))
        });
        moved.dedup();
        let down = self.down_mask();
        let frozen = frozen_until(&n.plan, 0.0);
        for r in moved {
            self.insert_masked(n, r, &down, &frozen);
        }
        Ok(())
    }

    pub(super) fn down_mask(&self) -> Vec<bool> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Offers request `r` the plan's free time on telescopes that are up, after each
    /// one's frozen work; its windows are left as they were.
    pub(super) fn insert_masked(
        &self,
        n: &mut Night,
        r: usize,
        down: &[bool],
        frozen: &[f64],
    ) -> bool {
        let open = n.problem.requests[r].windows.clone();
        for (t, from) in frozen.iter().enumerate() {
            if down[t] {
                n.problem.requests[r].windows[t].clear();
            } else {
                cut_telescope(&mut n.problem, r, t, *from);
            }
        }
        let placed = best_over_telescopes(&n.problem, &mut n.plan, r);
        if let Some(pl) = &placed {
            n.plan.commit(&n.problem, r, pl);
        }
        n.problem.requests[r].windows = open;
        placed.is_some()
    }
}
