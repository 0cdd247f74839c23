//! Tracklets under way: visits finished, and tracklets broken (all or nothing).

use super::*;

impl Planner {
    /// A visit of a tracklet ended. Completed: the next one is due. Not completed:
    /// the tracklet is broken (all or nothing) and is planned afresh.
    pub async fn visit_finished(
        &self,
        id: RequestId,
        visit: u32,
        completed: bool,
        started: Option<Epoch>,
    ) -> Result<(), StoreError> {
        let mut guard = self.state.lock().await;
        let Some(n) = guard.as_mut() else { return Ok(()) };
        let Some(&r) = n.index.get(&id) else { return Ok(()) };
        if completed {
            let start_s = started.map(|t| (t - n.start).to_seconds());
            if let Some(p) = n.progress.get_mut(&r) {
                p.done = p.done.max(visit + 1);
                // The observation's recorded start, not the dispatch: the next visit
                // keeps its spacing from what the store shows.
                if let (Some(s), Some(slot)) = (start_s, p.started.get_mut(visit as usize)) {
                    *slot = s;
                }
            }
            return Ok(());
        }
        let why = format!(
            "tracklet broken: visit {} of {} did not complete",
            visit + 1,
            n.problem.requests[r].visits
        );
        let now_s = (self.ledger.clock.now() - n.start).to_seconds();
        self.break_tracklet(n, r, &why, now_s).await
    }

    /// Unpins a tracklet, takes it out of the plan and puts it back in the queue; the
    /// next repair offers it the rest of the night from its first visit.
    pub(super) async fn break_tracklet(
        &self,
        n: &mut Night,
        r: usize,
        why: &str,
        now_s: f64,
    ) -> Result<(), StoreError> {
        n.progress.remove(&r);
        n.problem.requests[r].pinned = None;
        n.plan.remove_many(&n.problem, &[r]);
        let id = n.ids[r];
        tracing::warn!(request = id, "{why}");
        let from = [RequestState::Scheduled, RequestState::Observing];
        if self.ledger.transition(id, &from, RequestState::Queued, Some(why)).await?
            && let Some(rec) = n.records.get_mut(&id)
        {
            rec.state = RequestState::Queued;
        }
        // All or nothing: offered the rest of the night from its first visit.
        cut_windows(&mut n.problem, r, now_s.max(0.0));
        let frozen = frozen_until(&n.plan, now_s.max(0.0));
        self.insert_masked(n, r, &self.down_mask(), &frozen);
        Ok(())
    }
}
