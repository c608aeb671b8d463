//! The facts commands need from the read models (see `annals_commands::Facts`): blob links and
//! namespace storage, read from the generation that serves.

use std::collections::BTreeSet;

use annals_commands::Facts;
use annals_domain::Digest;
use annals_projections::queries::{access, content};
use annals_store::{StoreError, StoreResult};
use async_trait::async_trait;
use uuid::Uuid;

use crate::ReadModels;

pub struct ReadModelFacts(pub ReadModels);

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
        content::linked_blobs(self.0.db().as_ref(), repository_id, digests)
            .await
            .map_err(unavailable)
    }

    async fn namespace_stored_bytes(&self, namespace_id: Uuid) -> StoreResult<u64> {
        content::namespace_usage(self.0.db().as_ref(), namespace_id)
            .await
            .map(|(_, bytes)| bytes)
            .map_err(unavailable)
    }

    async fn namespace_referenced(
        &self,
        namespace_id: Uuid,
        digests: &[Digest],
    ) -> StoreResult<(u64, BTreeSet<Digest>)> {
        content::namespace_referenced(self.0.db().as_ref(), namespace_id, digests)
            .await
            .map_err(unavailable)
    }

    async fn granted_repositories(
        &self,
        namespace_id: Uuid,
        delegate_id: Uuid,
    ) -> StoreResult<Vec<Uuid>> {
        access::granted_repositories(self.0.db().as_ref(), namespace_id, delegate_id)
            .await
            .map_err(unavailable)
    }
}
