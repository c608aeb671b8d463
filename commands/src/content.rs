//! Registry content commands: blobs recorded, manifests pushed and deleted, tags set, moved,
//! deleted, restored and expired, labels added and removed — all on the repository's stream —
//! and pulls, recorded on the repository's `pulls-` stream without reading anything.
//!
//! A push may name a repository that does not exist yet. Its blobs are recorded on the stream
//! of the repository its first manifest will create (`repository::next_id`), and that manifest
//! push creates the repository in the same batch — so a push whose manifest is refused leaves
//! no repository behind, and counts against no tier.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use annals_domain::content::{self, ContentCommand};
use annals_domain::manifest::ManifestSummary;
use annals_domain::registry::RegistryCommand;
use annals_domain::repository;
use annals_domain::{Actor, Digest, DomainEvent, TagName};
use annals_store::ExpectedVersion;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::metadata::Scope;
use crate::namespaces::Namespace;
use crate::repositories::{NewRepositoryFields, RepositoryRef, Slot, repository_scope};
use crate::service::{CommandService, Done, Plan};

/// A manifest to push; the blobs it references must be linked to the repository already.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestPush {
    pub digest: Digest,
    pub size: u64,
    pub summary: ManifestSummary,
    /// The tag it is pushed under, which then points at it.
    pub tag: Option<TagName>,
}

/// Where a push would go, as [`CommandService::check_push`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushTarget {
    /// The repository's id, or the id the push's first manifest will give it.
    pub repository_id: Uuid,
    /// Whether the repository exists already.
    pub exists: bool,
}

impl CommandService {
    /// Applies a content command to the live repository at `target`.
    pub async fn change_content(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: ContentCommand,
    ) -> Result<Done, CommandError> {
        self.apply_content(envelope, target, command, None).await
    }

    /// Deletes a manifest on behalf of garbage collection `gc_id`, which may change content
    /// while it holds the registry read-only.
    pub async fn collect_manifest(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        gc_id: Uuid,
        digest: Digest,
    ) -> Result<Done, CommandError> {
        self.apply_content(
            envelope,
            target,
            ContentCommand::DeleteManifest { digest },
            Some(gc_id),
        )
        .await
    }

    async fn apply_content(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: ContentCommand,
        collection: Option<Uuid>,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            ns.check_writable(collection)?;
            // A mirroring repository's content is its mirror's (a collection still collects).
            if collection.is_none() {
                annals_domain::mirror::check_content_change(&repo.state, envelope.actor.id)?;
            }
            let repository_id = repo.state.id.unwrap_or_default();
            let events = content::decide(repository_id, &repo.state.content, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            ns.guard(&mut plan);
            plan.push(&repo.stream, repo.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Whether a push into `target` by `actor` may begin: the namespace exists, its registry
    /// (if any) takes writes, it is no proxy cache (unless `actor` is the cache), and a repository the push would create fits in its tier. Appends nothing;
    /// the push's own commands decide again.
    pub async fn check_push(
        &self,
        target: &RepositoryRef,
        actor: &Actor,
    ) -> Result<PushTarget, CommandError> {
        let ns = self.resolve_namespace(&target.namespace).await?;
        ns.check_writable(None)?;
        ns.check_proxy_cache(actor)?;
        let slot = self.repository_slot(&ns, &target.name).await?;
        let exists = slot.existing().is_some();
        if !exists {
            ns.decide_registry(&RegistryCommand::AddRepository {
                repository_id: slot.id,
            })?;
        }
        Ok(PushTarget {
            repository_id: slot.id,
            exists,
        })
    }

    /// What the repository at `target` (which need not exist yet) already holds of a copy's
    /// content: which of `manifests` it stores and which of `blobs` it links, so a copy from an
    /// upstream appends nothing for content it has.
    pub async fn held_content(
        &self,
        target: &RepositoryRef,
        manifests: &[Digest],
        blobs: &[Digest],
    ) -> Result<(BTreeSet<Digest>, BTreeSet<Digest>), CommandError> {
        let ns = self.resolve_namespace(&target.namespace).await?;
        let slot = self.repository_slot(&ns, &target.name).await?;
        let stored = manifests
            .iter()
            .filter(|d| slot.repo.state.content.manifests.contains_key(*d))
            .cloned()
            .collect();
        let linked = if blobs.is_empty() {
            BTreeSet::new()
        } else {
            self.facts().linked_blobs(slot.id, blobs).await?
        };
        Ok((stored, linked))
    }

    /// Records a blob uploaded (or mounted) into the repository at `target`, which need not
    /// exist yet; refused while the registry is read-only or when the bytes would pass a hard
    /// storage limit of its tier. `persist` makes the bytes visible in the blob store; it runs
    /// only once the record is decided, so a refused blob is never stored.
    pub async fn record_blob<P, PFut>(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        digest: Digest,
        size: u64,
        mounted_from: Option<String>,
        persist: P,
    ) -> Result<Done, CommandError>
    where
        P: Fn() -> PFut,
        PFut: Future<Output = std::io::Result<()>>,
    {
        let command = ContentCommand::RecordBlob {
            digest: digest.clone(),
            size,
            mounted_from,
        };
        let persisted = AtomicBool::new(false);
        self.run(envelope, || async {
            let ns = self.resolve_namespace(&target.namespace).await?;
            ns.check_writable(None)?;
            let slot = self.repository_slot(&ns, &target.name).await?;
            // A mirroring repository takes pushes from its mirror's robot alone, a proxy-cache
            // organization from the cache alone.
            annals_domain::mirror::check_push(&slot.repo.state, envelope.actor.id)?;
            ns.check_proxy_cache(&envelope.actor)?;
            if let Some(reg) = &ns.registry
                && reg.state.limits_storage()
            {
                let (linked, stored) = tokio::try_join!(
                    self.facts()
                        .linked_blobs(slot.id, std::slice::from_ref(&digest)),
                    self.facts().namespace_stored_bytes(ns.id),
                )?;
                let new_bytes = if linked.contains(&digest) { 0 } else { size };
                reg.state.check_storage(stored, new_bytes)?;
            }
            // Namespace quota: a blob that would pass a `Reject` limit is never stored.
            let quota = self
                .check_quota(&ns, slot.id, &target.name, &[(digest.clone(), size)])
                .await?
                .refusal_only();
            let events = content::decide(slot.id, &slot.repo.state.content, &command)?;
            let mut plan = Plan::new(slot.scope(&ns));
            guard_slot(&ns, &slot, &mut plan);
            quota.plan(&mut plan);
            // Recording a blob depends on nothing else in the repository's stream (the guards
            // carry what it depends on), so parallel uploads into one repository — every
            // client pushes its layers at once — never conflict with each other.
            plan.push(&slot.repo.stream, ExpectedVersion::Any, events);
            persist_once(&persisted, &persist).await?;
            Ok(plan)
        })
        .await
    }

    /// Drops the reference of the repository at `target` (which need not have a manifest yet)
    /// to a blob: OCI's blob DELETE. Refused while a manifest of the repository names the blob;
    /// the bytes stay until a garbage collection finds them unreferenced.
    pub async fn unlink_blob(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        digest: Digest,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let ns = self.resolve_namespace(&target.namespace).await?;
            ns.check_writable(None)?;
            let slot = self.repository_slot(&ns, &target.name).await?;
            let linked = self
                .facts()
                .linked_blobs(slot.id, std::slice::from_ref(&digest))
                .await?
                .contains(&digest);
            let events = content::decide(
                slot.id,
                &slot.repo.state.content,
                &ContentCommand::UnlinkBlob {
                    digest: digest.clone(),
                    linked,
                },
            )?;
            let mut plan = Plan::new(slot.scope(&ns));
            guard_slot(&ns, &slot, &mut plan);
            // At the version read: a manifest pushed meanwhile that names the blob conflicts,
            // and the re-plan sees it.
            plan.push(&slot.repo.stream, slot.repo.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Pushes a manifest into the repository at `target`, creating the repository (private, as
    /// a Quay push does) when this is its first manifest. The blobs it references must be
    /// linked to the repository. `persist` stores the manifest's bytes; it runs only once the
    /// push has been decided, so a refused manifest leaves nothing on disk.
    pub async fn push_manifest<P, PFut>(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        push: ManifestPush,
        persist: P,
    ) -> Result<Done, CommandError>
    where
        P: Fn() -> PFut,
        PFut: Future<Output = std::io::Result<()>>,
    {
        let wanted: Vec<Digest> = push.summary.blobs().map(|b| b.digest.clone()).collect();
        let persisted = AtomicBool::new(false);
        self.run(envelope, || async {
            let ns = self.resolve_namespace(&target.namespace).await?;
            ns.check_writable(None)?;
            let slot = self.repository_slot(&ns, &target.name).await?;
            // A mirroring repository takes pushes from its mirror's robot alone, a proxy-cache
            // organization from the cache alone.
            annals_domain::mirror::check_push(&slot.repo.state, envelope.actor.id)?;
            ns.check_proxy_cache(&envelope.actor)?;
            let present_blobs = self.facts().linked_blobs(slot.id, &wanted).await?;
            let pushed = content::decide(
                slot.id,
                &slot.repo.state.content,
                &ContentCommand::PushManifest {
                    digest: push.digest.clone(),
                    size: push.size,
                    summary: push.summary.clone(),
                    tag: push.tag.clone(),
                    present_blobs,
                },
            )?;
            // Namespace quota: decided before the bytes are stored; a `Warning` crossed is
            // recorded in this batch.
            let blobs: Vec<(Digest, u64)> = push
                .summary
                .blobs()
                .map(|b| (b.digest.clone(), b.size))
                .collect();
            let quota = self.check_quota(&ns, slot.id, &target.name, &blobs).await?;
            let mut plan = Plan::new(slot.scope(&ns));
            if slot.existing().is_some() {
                ns.guard(&mut plan);
                plan.push(&slot.repo.stream, slot.repo.expected(), pushed);
            } else {
                slot.plan_creation(
                    &ns,
                    &NewRepositoryFields::pushed(),
                    envelope.delegate(),
                    pushed,
                    &mut plan,
                )?;
            }
            quota.plan(&mut plan);
            persist_once(&persisted, &persist).await?;
            Ok(plan)
        })
        .await
    }

    /// Records that a manifest of the repository was pulled. `scope` names the repository (the
    /// caller has just read it to serve the pull), so nothing is loaded.
    pub async fn record_pull(
        &self,
        envelope: &Envelope,
        scope: Scope,
        repository_id: Uuid,
        digest: Digest,
        tag: Option<TagName>,
    ) -> Result<Done, CommandError> {
        let stream = repository::pulls_stream(repository_id);
        self.run(envelope, || {
            let mut plan = Plan::new(scope.clone());
            plan.push(
                &stream,
                ExpectedVersion::Any,
                vec![DomainEvent::RepositoryPulled {
                    repository_id,
                    digest: digest.clone(),
                    tag: tag.clone(),
                }],
            );
            async { Ok(plan) }
        })
        .await
    }
}

/// Runs a command's `persist` step once, however often a conflict makes the command decide
/// again: the bytes it stored stay valid (content-addressed), and the step may not be
/// repeatable (a completed upload session is gone). A failure to store the bytes of a decided
/// push is the store's, not the client's.
async fn persist_once<F: Future<Output = std::io::Result<()>>>(
    done: &AtomicBool,
    persist: impl FnOnce() -> F,
) -> Result<(), CommandError> {
    if done.load(Ordering::Acquire) {
        return Ok(());
    }
    persist()
        .await
        .map_err(|e| CommandError::Store(annals_store::StoreError::backend(&e)))?;
    done.store(true, Ordering::Release);
    Ok(())
}

/// The guards of a change to a repository that may not exist yet: its namespace, and — for a
/// repository still to be created — its name's reservation, so a repository created and
/// deleted under the name meanwhile (which moves the id the name gives) conflicts.
fn guard_slot(ns: &Namespace, slot: &Slot, plan: &mut Plan) {
    ns.guard(plan);
    if slot.existing().is_none() {
        plan.push(&slot.names.stream, slot.names.expected(), vec![]);
    }
}
