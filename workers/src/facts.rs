//! The facts commands need from the read models (see `annals_commands::Facts`): blob links and
//! namespace storage, read from the generation that serves.

use std::collections::BTreeSet;
use std::time::Duration;

use annals_commands::Facts;
use annals_domain::Digest;
use annals_projections::ProjectionWatch;
use annals_projections::queries::{access, content};
use annals_store::{StoreError, StoreResult};
use async_trait::async_trait;
use uuid::Uuid;

use crate::ReadModels;

pub struct ReadModelFacts {
    pub models: ReadModels,
    /// How far the read models have projected, for reads that must reflect a position.
    pub watch: ProjectionWatch,
}

/// How long a quota check waits for the read models to reflect the quota's last charge; past
/// it the push is refused as unavailable rather than decided on a stale usage.
const CONSISTENT_READ_WAIT: Duration = Duration::from_secs(10);

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("reading the read models: {e}"))
}

#[async_trait]
impl Facts for ReadModelFacts {
    async fn linked_blobs(
        &self,
        repository_id: Uuid,
        digests: &[Digest],
    ) -> StoreResult<BTreeSet<Digest>> {
        content::linked_blobs(self.models.db().as_ref(), repository_id, digests)
            .await
            .map_err(unavailable)
    }

    async fn namespace_stored_bytes(&self, namespace_id: Uuid) -> StoreResult<u64> {
        content::namespace_usage(self.models.db().as_ref(), namespace_id)
            .await
            .map(|(_, bytes)| bytes)
            .map_err(unavailable)
    }

    async fn namespace_referenced(
        &self,
        namespace_id: Uuid,
        digests: &[Digest],
        after: u64,
    ) -> StoreResult<(u64, BTreeSet<Digest>)> {
        if after > 0 && !self.watch.wait_for(after, CONSISTENT_READ_WAIT).await {
            return Err(unavailable(format!(
                "the read models did not reach position {after} within {} s",
                CONSISTENT_READ_WAIT.as_secs()
            )));
        }
        content::namespace_referenced(self.models.db().as_ref(), namespace_id, digests)
            .await
            .map_err(unavailable)
    }

    async fn granted_repositories(
        &self,
        namespace_id: Uuid,
        delegate_id: Uuid,
    ) -> StoreResult<Vec<Uuid>> {
        access::granted_repositories(self.models.db().as_ref(), namespace_id, delegate_id)
            .await
            .map_err(unavailable)
    }
}
