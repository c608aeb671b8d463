//! The garbage-collection worker: runs the collections the DigitalOcean API requests, one at a
//! time, each step an event on the registry's stream.
//!
//! A collection moves through
//! 1. `waiting for write JWTs to expire`: the registry is read-only from here on (the OCI API
//!    refuses pushes while the collection blocks writes); the worker waits until no registry
//!    write is in flight and the read models reached the head of the log;
//! 2. `scanning manifests`: for the types that delete manifests, a mark and sweep over each
//!    repository of the registry: tagged manifests are live, so are the children of a live index
//!    and the referrers of a live manifest; every other manifest is deleted (a
//!    `ContentCommand::DeleteManifest` by the system actor);
//! 3. `deleting unreferenced blobs`: for the types that delete blobs, every stored blob that no
//!    live manifest of any repository references (blobs are shared by content), that is linked
//!    to no repository outside the registry, and whose file is older than the collection is
//!    deleted, in batches; each batch is recorded after its files are gone
//!    (`GarbageCollectionBlobsDeleted`), and a cancel request is honoured between batches;
//! 4. `GarbageCollectionFinished` with the totals: `succeeded`, `cancelled`, or `failed` with
//!    the error.
//!
//! A crash anywhere is safe: on start the worker resumes every unfinished collection and
//! recomputes its candidates (deleted files are gone; the projection of a recorded batch drops
//! the blobs' links). Uploads in progress live under `uploads/`, which the blob listing never
//! reads.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use annals_commands::{CommandError, CommandService, Done, Envelope, GcStep, RepositoryRef};
use annals_domain::gc::{GcStatus, GcType};
use annals_domain::{Actor, Digest, DomainError};
use annals_projections::ProjectionWatch;
use annals_projections::queries::registries::{self, GcRunView};
use annals_projections::queries::{content, docr};
use annals_store::EventStore;
use annals_store::blobs::BlobStore;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::ReadModels;

/// How many blobs one recorded batch deletes.
pub const BATCH: usize = 100;
/// How long a collection waits for writes that began before the registry went read-only, and
/// for the read models to reach the head of the log.
pub const WAIT: Duration = Duration::from_secs(30);
/// How often the worker looks for unfinished collections without being woken.
const POLL: Duration = Duration::from_secs(5);

/// What the worker works with.
#[derive(Clone)]
pub struct GcWorker {
    pub commands: CommandService,
    pub store: Arc<dyn EventStore>,
    pub models: ReadModels,
    pub watch: ProjectionWatch,
    pub blobs: BlobStore,
    /// Notified when a collection is requested or cancelled.
    pub wake: Arc<Notify>,
}

/// Why a collection stopped before succeeding.
#[derive(Debug)]
enum Halt {
    Cancelled,
    /// The server is stopping: the collection stays unfinished and resumes on the next start.
    Shutdown,
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for Halt {
    fn from(e: E) -> Self {
        Halt::Failed(e.to_string())
    }
}

/// Runs collections until `stop`.
pub async fn run(worker: GcWorker, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(e) = worker.run_unfinished(&stop).await {
            tracing::warn!("garbage collection: {e}");
        }
        tokio::select! {
            _ = worker.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

fn parse_status(s: &str) -> Option<GcStatus> {
    use GcStatus::*;
    [
        Requested,
        WaitingForWrites,
        ScanningManifests,
        DeletingBlobs,
        Cancelling,
        Failed,
        Succeeded,
        Cancelled,
    ]
    .into_iter()
    .find(|st| st.as_str() == s)
}

/// The order of the active steps, so a resumed collection never goes back.
fn step(status: GcStatus) -> u8 {
    match status {
        GcStatus::Requested => 0,
        GcStatus::WaitingForWrites => 1,
        GcStatus::ScanningManifests => 2,
        GcStatus::DeletingBlobs => 3,
        _ => 4,
    }
}

/// One collection being run: where it is and what it freed in this run.
struct Run<'a> {
    worker: &'a GcWorker,
    stop: &'a watch::Receiver<bool>,
    gc: GcRunView,
    status: GcStatus,
    blobs_deleted: u64,
    freed_bytes: u64,
}

impl GcWorker {
    /// Runs every unfinished collection, oldest first.
    pub async fn run_unfinished(&self, stop: &watch::Receiver<bool>) -> anyhow::Result<()> {
        self.catch_up().await?;
        for gc in registries::unfinished_gcs(self.models.db().as_ref()).await? {
            if *stop.borrow() {
                return Ok(());
            }
            self.collect(gc, stop).await?;
        }
        Ok(())
    }

    fn envelope(&self, gc: &GcRunView) -> Envelope {
        let mut envelope = Envelope::new(Actor::system());
        envelope.correlation_id = gc.id;
        envelope
    }

    /// Waits until the read models reflect every event appended so far.
    async fn catch_up(&self) -> anyhow::Result<()> {
        let head = self.store.head().await?;
        if !self.watch.wait_for(head, WAIT).await {
            anyhow::bail!("the read models did not reach position {head} within {WAIT:?}");
        }
        Ok(())
    }

    async fn settle(&self, done: &Done) -> anyhow::Result<()> {
        if done.position > 0 && !self.watch.wait_for(done.position, WAIT).await {
            anyhow::bail!(
                "the read models did not reach position {} within {WAIT:?}",
                done.position
            );
        }
        Ok(())
    }

    async fn collect(&self, gc: GcRunView, stop: &watch::Receiver<bool>) -> anyhow::Result<()> {
        let status = parse_status(&gc.status)
            .ok_or_else(|| anyhow::anyhow!("unknown collection status {:?}", gc.status))?;
        let mut run = Run {
            worker: self,
            stop,
            status,
            gc,
            blobs_deleted: 0,
            freed_bytes: 0,
        };
        tracing::info!(gc = %run.gc.id, registry = run.gc.registry_name, "garbage collection");
        let (status, error) = match run.steps().await {
            Ok(()) => (GcStatus::Succeeded, None),
            Err(Halt::Shutdown) => return Ok(()),
            Err(Halt::Cancelled) => (GcStatus::Cancelled, None),
            Err(Halt::Failed(e)) => {
                tracing::warn!(gc = %run.gc.id, "garbage collection failed: {e}");
                (GcStatus::Failed, Some(e))
            }
        };
        let done = self
            .commands
            .gc_event(
                &self.envelope(&run.gc),
                run.gc.registry_id,
                run.gc.id,
                GcStep::Finished {
                    status,
                    blobs_deleted: run.gc.blobs_deleted + run.blobs_deleted,
                    freed_bytes: run.gc.freed_bytes + run.freed_bytes,
                    error,
                },
            )
            .await?;
        self.settle(&done).await
    }
}

impl Run<'_> {
    fn check(&self) -> Result<(), Halt> {
        if *self.stop.borrow() {
            return Err(Halt::Shutdown);
        }
        Ok(())
    }

    /// Whether a cancel was requested (read from the log through the read model the API settled).
    async fn check_cancelled(&self) -> Result<(), Halt> {
        self.check()?;
        let now = registries::gc_run(self.worker.models.db().as_ref(), self.gc.id).await?;
        match now.and_then(|g| parse_status(&g.status)) {
            Some(GcStatus::Cancelling) => Err(Halt::Cancelled),
            Some(s) if s.is_final() => {
                Err(Halt::Failed(format!("the collection already ended ({s})")))
            }
            _ => Ok(()),
        }
    }

    /// Records the next step (never a step back, for a resumed collection).
    async fn advance(&mut self, status: GcStatus) -> Result<(), Halt> {
        self.check()?;
        if self.status == GcStatus::Cancelling {
            return Err(Halt::Cancelled);
        }
        if step(status) <= step(self.status) {
            return Ok(());
        }
        match self
            .worker
            .commands
            .gc_event(
                &self.worker.envelope(&self.gc),
                self.gc.registry_id,
                self.gc.id,
                GcStep::Status(status),
            )
            .await
        {
            Ok(done) => {
                self.worker.settle(&done).await?;
                self.status = status;
                Ok(())
            }
            Err(CommandError::Domain(DomainError::Forbidden(_))) => Err(Halt::Cancelled),
            Err(e) => Err(e.into()),
        }
    }

    async fn steps(&mut self) -> Result<(), Halt> {
        let gc_type = GcType::parse(&self.gc.gc_type)?;
        // The registry goes read-only (visible to writers once `advance` has settled); wait for
        // the writes, in any namespace, that began before. Later ones to this registry are
        // refused, and later ones elsewhere stamp what they claim (see `BlobStore::sweep`).
        self.advance(GcStatus::WaitingForWrites).await?;
        let mark = self.worker.blobs.write_mark();
        let started = Instant::now();
        while self.worker.blobs.writes_before(mark) {
            self.check()?;
            if started.elapsed() > WAIT {
                return Err(Halt::Failed(format!(
                    "registry writes were still in flight after {WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.worker.catch_up().await?;
        // Counted by the projection of the batches recorded before a restart.
        if let Some(now) = registries::gc_run(self.worker.models.db().as_ref(), self.gc.id).await? {
            self.gc = now;
        }
        let registry =
            registries::by_name(self.worker.models.db().as_ref(), &self.gc.registry_name)
                .await?
                .filter(|r| r.id == self.gc.registry_id)
                .ok_or_else(|| {
                    Halt::Failed(format!("registry {} not found", self.gc.registry_name))
                })?;

        self.advance(GcStatus::ScanningManifests).await?;
        if gc_type.deletes_manifests() {
            self.delete_untagged_manifests(registry.namespace_id)
                .await?;
            self.worker.catch_up().await?;
        }
        if gc_type.deletes_blobs() {
            self.advance(GcStatus::DeletingBlobs).await?;
            self.delete_unreferenced_blobs(registry.namespace_id)
                .await?;
        }
        self.check_cancelled().await
    }

    /// Mark and sweep over the registry's manifests, repository by repository.
    async fn delete_untagged_manifests(&mut self, namespace_id: Uuid) -> Result<(), Halt> {
        let graph = docr::manifest_graph(self.worker.models.db().as_ref(), namespace_id).await?;
        let mut by_repo: BTreeMap<String, Vec<&docr::GraphManifest>> = BTreeMap::new();
        for m in &graph {
            by_repo.entry(m.repository.clone()).or_default().push(m);
        }
        let mut doomed = Vec::new();
        for (repository, manifests) in by_repo {
            let mut live: BTreeSet<&str> = manifests
                .iter()
                .filter(|m| m.tagged)
                .map(|m| m.digest.as_str())
                .collect();
            loop {
                let before = live.len();
                for m in &manifests {
                    if live.contains(m.digest.as_str()) {
                        for child in &m.children {
                            live.insert(child.as_str());
                        }
                    } else if m.subject.as_deref().is_some_and(|s| live.contains(s)) {
                        live.insert(m.digest.as_str());
                    }
                }
                if live.len() == before {
                    break;
                }
            }
            for m in manifests {
                if !live.contains(m.digest.as_str()) {
                    doomed.push((repository.clone(), m.digest.clone()));
                }
            }
        }
        let mut last = None;
        for (i, (repository, digest)) in doomed.into_iter().enumerate() {
            if i % BATCH == 0 {
                self.check_cancelled().await?;
            }
            let target = RepositoryRef::parse(&repository)?;
            let digest = Digest::parse(&digest)
                .map_err(|_| Halt::Failed(format!("bad manifest digest {digest:?}")))?;
            match self
                .worker
                .commands
                .collect_manifest(&self.worker.envelope(&self.gc), &target, self.gc.id, digest)
                .await
            {
                Ok(done) => last = Some(done),
                // Deleted by someone else meanwhile.
                Err(CommandError::Domain(DomainError::NotFound(_))) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(done) = last {
            self.worker.settle(&done).await?;
        }
        Ok(())
    }

    async fn delete_unreferenced_blobs(&mut self, namespace_id: Uuid) -> Result<(), Halt> {
        let db = self.worker.models.db();
        let began = UNIX_EPOCH + Duration::from_micros(self.gc.created_at.max(0) as u64);
        // Files first, then what references them: a file that appears after the listing is not
        // a candidate, and one written or claimed after the collection began is kept by the
        // sweep itself (`BlobStore::sweep`), which checks its age under the claim lock.
        let files = self.worker.blobs.list().await?;
        self.worker.catch_up().await?;
        let referenced = content::referenced_digests(db.as_ref()).await?;
        let mut candidates: Vec<String> = files
            .into_iter()
            .map(|(digest, _)| digest.to_string())
            .filter(|name| !referenced.contains(name))
            .collect();
        let elsewhere = docr::linked_elsewhere(db.as_ref(), namespace_id, &candidates).await?;
        candidates.retain(|d| !elsewhere.contains(d));
        for batch in candidates.chunks(BATCH) {
            self.check_cancelled().await?;
            let mut deleted = Vec::with_capacity(batch.len());
            for name in batch {
                let digest = Digest::parse(name)
                    .map_err(|_| Halt::Failed(format!("bad blob digest {name:?}")))?;
                let freed = self.worker.blobs.sweep(&digest, began).await?;
                if freed > 0 {
                    deleted.push((digest, freed));
                }
            }
            if deleted.is_empty() {
                continue;
            }
            let (count, bytes) = (
                deleted.len() as u64,
                deleted.iter().map(|(_, s)| s).sum::<u64>(),
            );
            let done = self
                .worker
                .commands
                .gc_event(
                    &self.worker.envelope(&self.gc),
                    self.gc.registry_id,
                    self.gc.id,
                    GcStep::BlobsDeleted(deleted),
                )
                .await?;
            self.blobs_deleted += count;
            self.freed_bytes += bytes;
            self.worker.settle(&done).await?;
        }
        Ok(())
    }
}
