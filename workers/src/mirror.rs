//! The repository mirror worker: syncs every mirror when it is due (`domain/src/mirror/sync.rs`)
//! by copying the upstream tags its rule matches through the push commands, as its robot.
//!
//! Each sync is a run of events on the repository's stream: `repository.mirror_sync_started.v1`
//! (the worker's claim, refused to a second worker), one `mirror_tag_synced` or
//! `mirror_tag_sync_failed` per tag it copied or could not, the pushes and tag deletions
//! themselves, and `repository.mirror_sync_finished.v1` — Quay's `repo_mirror_sync_*` kinds.
//!
//! As in Quay: every matching tag is recorded each sync, but one unchanged upstream is not
//! copied again; a local tag that matches the rule
//! but is gone upstream is deleted; a cancel (`sync-cancel`) stops the sync before its next tag
//! and deletes nothing; an unreachable upstream is a failed sync, retried as the schedule says.
//!
//! Every command id derives from the sync's id, so after a kill -9 the worker resumes the sync
//! it held (`queries::mirrors::syncing`) and the store answers what was already appended
//! instead of appending it again.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use annals_commands::{CommandError, CommandService, ContentCommand, Envelope, RepositoryRef};
use annals_domain::mirror::{MirrorConfig, SyncCommand, rule_matches};
use annals_domain::{Actor, ActorKind, DomainError, TagName};
use annals_projections::ProjectionWatch;
use annals_projections::queries::{mirrors, tags};
use annals_store::blobs::BlobStore;
use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::ReadModels;
use crate::delivery::DeliveryDb;
use crate::upstream::{self, Destination, Endpoint, Upstream, UpstreamError, UpstreamSettings};

/// Mirrors looked at per poll.
const BATCH: u32 = 16;
/// Syncs run at once, so one long sync does not hold every other mirror up.
pub const CONCURRENT_SYNCS: usize = 4;
/// Local tags compared with the upstream's at most.
const MAX_LOCAL_TAGS: u64 = 10_000;

pub struct MirrorWorker {
    pub commands: CommandService,
    pub watch: ProjectionWatch,
    pub blobs: BlobStore,
    pub models: ReadModels,
    /// Where the upstream passwords are kept.
    pub db: DeliveryDb,
    pub settings: UpstreamSettings,
    /// How often due mirrors are looked for.
    pub poll: Duration,
}

/// The worker's own envelope: the claims and outcomes of sync `sync_id`.
fn worker_envelope(sync_id: Uuid, purpose: &str) -> Envelope {
    let actor = Actor {
        kind: ActorKind::System,
        name: "repomirror worker".into(),
        id: None,
    };
    let mut envelope = Envelope::new(actor);
    envelope.command_id = Uuid::new_v5(&sync_id, purpose.as_bytes());
    envelope.correlation_id = sync_id;
    envelope
}

/// The envelope of what the sync pushes and deletes: the mirror's robot.
fn robot_envelope(sync_id: Uuid, config: &MirrorConfig) -> Envelope {
    let actor = Actor {
        kind: ActorKind::Robot,
        name: config.robot.name.clone(),
        id: Some(config.robot.id),
    };
    let mut envelope = Envelope::new(actor);
    envelope.command_id = Uuid::new_v5(&sync_id, b"robot");
    envelope.correlation_id = sync_id;
    envelope
}

/// What a sync came to, for its end.
#[derive(Default)]
struct Tally {
    synced: u32,
    failed: u32,
    deleted: u32,
    failure: Option<String>,
}

impl MirrorWorker {
    /// Syncs due mirrors, [`CONCURRENT_SYNCS`] at a time, until `stop` turns true; first
    /// resumes the syncs it held.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        let mut running: JoinSet<Uuid> = JoinSet::new();
        let mut busy: HashSet<Uuid> = HashSet::new();
        let mut resumed = false;
        loop {
            while let Some(done) = running.try_join_next() {
                if let Ok(repository_id) = done {
                    busy.remove(&repository_id);
                }
            }
            if *stop.borrow() {
                break;
            }
            let db = worker.models.db();
            let found = if resumed {
                mirrors::due(db.as_ref(), Utc::now().timestamp_micros(), BATCH).await
            } else {
                mirrors::syncing(db.as_ref()).await
            };
            match found {
                Ok(list) => {
                    resumed = true;
                    for mirror in list {
                        if busy.len() >= CONCURRENT_SYNCS {
                            break;
                        }
                        if !busy.insert(mirror.repository_id) {
                            continue;
                        }
                        let sync_id = mirror.sync_id.unwrap_or_else(Uuid::now_v7);
                        let (worker, stop) = (worker.clone(), stop.clone());
                        running.spawn(async move {
                            worker.sync(&mirror, sync_id, &stop).await;
                            mirror.repository_id
                        });
                    }
                }
                Err(e) => tracing::warn!("mirror worker: looking for due mirrors: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(worker.poll) => {}
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok(repository_id) = done {
                        busy.remove(&repository_id);
                    }
                }
                _ = stop.changed() => {}
            }
        }
        // Each sync stops before its next tag; the next start resumes it.
        while running.join_next().await.is_some() {}
    }

    /// Runs sync `sync_id` of `mirror` to its end (or until the process stops).
    async fn sync(
        &self,
        mirror: &mirrors::MirrorToSync,
        sync_id: Uuid,
        stop: &watch::Receiver<bool>,
    ) {
        let target = RepositoryRef {
            namespace: mirror.namespace.clone(),
            name: mirror.name.clone(),
        };
        let start = SyncCommand::Start {
            sync_id,
            now: Utc::now(),
        };
        match self
            .commands
            .mirror_sync(&worker_envelope(sync_id, "start"), &target, start)
            .await
        {
            Ok(_) => {}
            // Not due after all, or another worker holds it.
            Err(CommandError::Domain(e)) => {
                tracing::debug!("mirror {target}: not syncing: {e}");
                return;
            }
            Err(e) => {
                tracing::warn!("mirror {target}: claiming a sync: {e}");
                return;
            }
        }
        let config = &mirror.config;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(config.timeout_s);
        let mut tally = Tally::default();
        let work = self.copy_tags(mirror, &target, sync_id, &mut tally, stop);
        if tokio::time::timeout_at(deadline, work).await.is_err() {
            tally.failure = Some(format!("the sync took longer than {} s", config.timeout_s));
        }
        if *stop.borrow() && tally.failure.is_none() {
            // Shutting down: the next start resumes this sync.
            return;
        }
        let finish = SyncCommand::Finish {
            sync_id,
            now: Utc::now(),
            failure: tally.failure.take(),
            tags_synced: tally.synced,
            tags_failed: tally.failed,
            tags_deleted: tally.deleted,
        };
        if let Err(e) = self
            .commands
            .mirror_sync(&worker_envelope(sync_id, "finish"), &target, finish)
            .await
        {
            tracing::warn!("mirror {target}: ending sync {sync_id}: {e}");
        }
    }

    /// The body of a sync: list, copy what changed, delete what went.
    async fn copy_tags(
        &self,
        mirror: &mirrors::MirrorToSync,
        target: &RepositoryRef,
        sync_id: Uuid,
        tally: &mut Tally,
        stop: &watch::Receiver<bool>,
    ) {
        let config = &mirror.config;
        let (upstream, path) = match self.connect(config).await {
            Ok(found) => found,
            Err(e) => {
                tally.failure = Some(e.to_string());
                return;
            }
        };
        let upstream_tags = match upstream.tags(&path).await {
            Ok(tags) => tags,
            Err(e) => {
                tally.failure = Some(format!(
                    "listing the tags of {}: {e}",
                    config.external_reference
                ));
                return;
            }
        };
        let wanted: BTreeSet<String> = upstream_tags
            .into_iter()
            .filter(|t| rule_matches(&config.tag_globs, t))
            .collect();
        let db = self.models.db();
        let local = match tags::live(db.as_ref(), mirror.repository_id, MAX_LOCAL_TAGS).await {
            Ok(rows) => rows,
            Err(e) => {
                tally.failure = Some(format!("reading the local tags: {e}"));
                return;
            }
        };
        let robot = robot_envelope(sync_id, config);
        let blobs = &self.blobs;
        for tag in &wanted {
            if *stop.borrow() || self.cancelled(mirror.repository_id).await {
                return;
            }
            let Ok(tag_name) = TagName::parse(tag) else {
                continue;
            };
            let result = match upstream.digest(&path, tag).await {
                // Unchanged upstream: nothing to copy, but the sync still vouches for it.
                Ok(digest) if local.iter().any(|l| &l.name == tag && l.digest == digest) => {
                    Ok(digest)
                }
                Ok(_) => {
                    let envelope = robot.follow_up(&format!("tag {tag}"));
                    let into = Destination {
                        commands: &self.commands,
                        watch: &self.watch,
                        blobs,
                        envelope: &envelope,
                        target,
                    };
                    upstream::copy_image(&upstream, &path, tag, Some(tag_name.clone()), &into)
                        .await
                        .map(|copied| copied.digest)
                }
                Err(e) => Err(e),
            };
            let outcome = match &result {
                Ok(digest) => format!("tag {tag} {digest}"),
                Err(_) => format!("tag {tag} failed"),
            };
            match &result {
                Ok(_) => tally.synced += 1,
                Err(e) => {
                    tracing::info!("mirror {target}: tag {tag}: {e}");
                    tally.failed += 1;
                }
            }
            let record = SyncCommand::Tag {
                sync_id,
                tag: tag_name,
                result: result.map_err(|e| e.to_string()),
            };
            match self
                .commands
                .mirror_sync(&worker_envelope(sync_id, &outcome), target, record)
                .await
            {
                Ok(_) => {}
                // Taken over meanwhile (the worker was presumed dead).
                Err(CommandError::Domain(DomainError::Conflict(_))) => return,
                Err(e) => tracing::warn!("mirror {target}: recording tag {tag}: {e}"),
            }
        }
        if tally.failed > 0 {
            tally.failure = Some(format!(
                "{} of {} tags failed to sync",
                tally.failed,
                wanted.len()
            ));
        }
        if *stop.borrow() || self.cancelled(mirror.repository_id).await {
            return;
        }
        // Tags of the rule gone upstream go here too (Quay's `delete_obsolete_tags`).
        for gone in local
            .iter()
            .filter(|l| rule_matches(&config.tag_globs, &l.name) && !wanted.contains(&l.name))
        {
            let Ok(tag) = TagName::parse(&gone.name) else {
                continue;
            };
            match self
                .commands
                .change_content(
                    &robot.follow_up(&format!("delete {tag} {}", gone.digest)),
                    target,
                    ContentCommand::DeleteTag { tag },
                )
                .await
            {
                Ok(_) => tally.deleted += 1,
                Err(e) => tracing::warn!("mirror {target}: deleting tag {}: {e}", gone.name),
            }
        }
    }

    /// A client for the mirror's upstream and the repository path on it.
    async fn connect(&self, config: &MirrorConfig) -> Result<(Upstream, String), UpstreamError> {
        let (registry, path) = config
            .external_reference
            .split_once('/')
            .ok_or_else(|| UpstreamError::Invalid(config.external_reference.clone()))?;
        let password = match config.credential_id {
            Some(id) => self
                .db
                .mirror_password(id)
                .await
                .map_err(|e| UpstreamError::Invalid(format!("reading the credentials: {e}")))?,
            None => None,
        };
        let endpoint = Endpoint {
            registry: registry.to_owned(),
            insecure: !config.verify_tls,
            username: config.username.clone(),
            password,
            http_proxy: config.http_proxy.clone(),
            https_proxy: config.https_proxy.clone(),
            no_proxy: config.no_proxy.clone(),
        };
        let upstream = Upstream::connect(&endpoint, &self.settings).await?;
        Ok((upstream, path.to_owned()))
    }

    /// Whether someone cancelled the sync (the read model is enough: the domain refuses the
    /// next tag record anyway).
    async fn cancelled(&self, repository_id: Uuid) -> bool {
        matches!(
            mirrors::get(self.models.db().as_ref(), repository_id).await,
            Ok(Some(m)) if m.sync_status == "CANCEL"
        )
    }
}
