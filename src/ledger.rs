//! Request state changes: stored first, then announced. Everything that moves a
//! request goes through here so the history row and the event can never disagree.

use crate::auth::TokenId;
use crate::clock::Clock;
use crate::core::{Core, Event};
use crate::model::{RequestId, RequestSpec, RequestState};
use crate::store::{RequestRecord, Store, StoreError};

#[derive(Clone)]
pub struct Ledger {
    pub store: Store,
    pub core: Core,
    pub clock: Clock,
}

impl Ledger {
    /// Stores a new request with no owner (surveys, local callers); returns once it
    /// is durable.
    pub async fn submit(&self, spec: &RequestSpec) -> Result<RequestRecord, StoreError> {
        self.submit_as(spec, None).await
    }

    /// Stores a new request on behalf of the token `owner`.
    pub async fn submit_as(
        &self,
        spec: &RequestSpec,
        owner: Option<TokenId>,
    ) -> Result<RequestRecord, StoreError> {
        let at = self.clock.now();
        let rec = self.store.insert_request_owned(spec, at, owner).await?;
        tracing::info!(request = rec.id, target = %spec.target.name, priority = spec.priority, owner, "request queued");
        self.announce(rec.id, RequestState::Queued, Some("submitted".into()));
        Ok(rec)
    }

    /// Moves `id` from one of `from` to `to`; `false` if it was not in `from`.
    pub async fn transition(
        &self,
        id: RequestId,
        from: &[RequestState],
        to: RequestState,
        detail: Option<&str>,
    ) -> Result<bool, StoreError> {
        let at = self.clock.now();
        let moved = self.store.transition(id, from, to, detail, at).await?.is_some();
        if moved {
            tracing::info!(request = id, state = %to, detail = detail.unwrap_or(""), "request state");
            self.announce(id, to, detail.map(str::to_string));
        }
        Ok(moved)
    }

    /// Counts a failed attempt of an observing request (requeue or retire).
    pub async fn failed_attempt(
        &self,
        id: RequestId,
        detail: &str,
        max_attempts: u32,
    ) -> Result<(), StoreError> {
        let at = self.clock.now();
        if let Some(to) = self.store.record_failed_attempt(id, detail, max_attempts, at).await? {
            tracing::warn!(request = id, state = %to, "observation attempt failed: {detail}");
            self.announce(id, to, Some(detail.to_string()));
        }
        Ok(())
    }

    fn announce(&self, request_id: RequestId, state: RequestState, detail: Option<String>) {
        let at = self.clock.now();
        self.core.publish(Event::RequestState { request_id, state, detail, at });
    }
}
