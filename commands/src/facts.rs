//! What a command must know that no aggregate holds: which blobs a repository has stored and
//! linked, and how many bytes a namespace stores. The bytes live in the blob store and the links
//! in the read models, so whoever builds the [`crate::CommandService`] supplies them; every path
//! that pushes then meets the same rules.

use std::collections::BTreeSet;

use annals_domain::Digest;
use annals_store::StoreResult;
use async_trait::async_trait;
use uuid::Uuid;

#[async_trait]
pub trait Facts: Send + Sync + 'static {
    /// The subset of `digests` stored and linked to the repository.
    async fn linked_blobs(
        &self,
        repository_id: Uuid,
        digests: &[Digest],
    ) -> StoreResult<BTreeSet<Digest>>;

    /// The bytes of the distinct blobs the namespace's repositories link.
    async fn namespace_stored_bytes(&self, namespace_id: Uuid) -> StoreResult<u64>;

    /// What a namespace's quota counts: the bytes of the distinct blobs its manifests
    /// reference, and the subset of `digests` they reference already — read once the read
    /// models reflect the log up to `after` (the last charge of the quota), so a push decided
    /// after another's charge counts that push.
    async fn namespace_referenced(
        &self,
        namespace_id: Uuid,
        digests: &[Digest],
        after: u64,
    ) -> StoreResult<(u64, BTreeSet<Digest>)>;

    /// The repositories of the namespace on which `delegate_id` holds a direct permission.
    async fn granted_repositories(
        &self,
        namespace_id: Uuid,
        delegate_id: Uuid,
    ) -> StoreResult<Vec<Uuid>>;
}

/// Knows of no blob: a service without read models refuses every manifest push.
pub struct NoFacts;

#[async_trait]
impl Facts for NoFacts {
    async fn linked_blobs(&self, _: Uuid, _: &[Digest]) -> StoreResult<BTreeSet<Digest>> {
        Ok(BTreeSet::new())
    }

    async fn namespace_stored_bytes(&self, _: Uuid) -> StoreResult<u64> {
        Ok(0)
    }

    async fn namespace_referenced(
        &self,
        _: Uuid,
        _: &[Digest],
        _: u64,
    ) -> StoreResult<(u64, BTreeSet<Digest>)> {
        Ok((0, BTreeSet::new()))
    }

    async fn granted_repositories(&self, _: Uuid, _: Uuid) -> StoreResult<Vec<Uuid>> {
        Ok(vec![])
    }
}
