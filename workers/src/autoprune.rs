//! The auto-prune worker: applies every auto-prune policy (`domain/src/autoprune.rs`) on a
//! schedule (`ANNALS_AUTOPRUNE_INTERVAL_S`) and soon after each push.
//!
//! It follows the event log from its own checkpoint (`autoprune` in the delivery database,
//! outside the read-model generations): a pushed, created, moved or restored tag names its
//! repository, and a created or changed policy its namespace or repository; once the read
//! models reflect the page it applies the policies to those repositories, then saves the
//! checkpoint. Every interval it also applies every policy to every repository it covers, so
//! `creation_date` policies catch tags that aged since.
//!
//! Each deletion is a command (`CommandService::autoprune_tag`) whose event names the policy.
//! Its command id is derived from the policy, the repository, the tag and the tag's version
//! (the position of the event that made the tag point where it points), so after a kill -9 the
//! same plan re-derives the same ids and the store answers the first result instead of
//! appending again; and a tag that moved since is left for the next pass to decide.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use annals_commands::{CommandService, Envelope, RepositoryRef};
use annals_domain::autoprune::{PolicyConfig, PolicyScope, PrunedBy, plan_prunes};
use annals_domain::{Actor, ActorKind, Digest, NamespaceName, RepositoryName, TagName};
use annals_projections::ProjectionWatch;
use annals_projections::queries::autoprune::{self, PolicyView, PrunedRepository};
use annals_store::{EventFilter, EventStore, RecordedEvent};
use tokio::sync::watch;
use uuid::Uuid;

use crate::ReadModels;
use crate::delivery::DeliveryDb;

/// The worker's checkpoint.
pub const CHECKPOINT: &str = "autoprune";
/// Events read per page.
const PAGE: usize = 500;
/// How long a pass waits for the read models to reflect what it read or did.
const SETTLE: Duration = Duration::from_secs(30);
/// Ids of prune commands are UUID v5 in this namespace.
const PRUNE_IDS: Uuid = Uuid::from_u128(0x6175_746f_7072_756e_6520_7461_6773_0001);

/// The events after which a repository's tags are looked at again.
const TRIGGERS: [&str; 6] = [
    "repository.manifest_pushed.v1",
    "repository.tag_created.v1",
    "repository.tag_moved.v1",
    "repository.tag_restored.v1",
    "autoprune.policy_created.v1",
    "autoprune.policy_updated.v1",
];

pub struct AutopruneWorker {
    pub commands: CommandService,
    pub store: Arc<dyn EventStore>,
    pub models: ReadModels,
    pub watch: ProjectionWatch,
    /// Where the checkpoint is kept.
    pub db: DeliveryDb,
    /// How often every policy is applied to everything it covers.
    pub interval: Duration,
}

/// The actor of every prune: the system, named as Quay's log names it.
fn actor() -> Actor {
    Actor {
        kind: ActorKind::System,
        name: "autoprune worker".into(),
        id: None,
    }
}

/// The command id of pruning `tag` (at `version`) of `repository_id` by `policy_uuid`.
pub fn prune_command_id(policy_uuid: Uuid, repository_id: Uuid, tag: &str, version: u64) -> Uuid {
    Uuid::new_v5(
        &PRUNE_IDS,
        format!("{policy_uuid}/{repository_id}/{tag}/{version}").as_bytes(),
    )
}

/// What a page of the log asks to look at again.
#[derive(Debug, Default)]
struct Touched {
    repositories: BTreeSet<Uuid>,
    namespaces: BTreeSet<Uuid>,
}

impl Touched {
    fn add(&mut self, event: &RecordedEvent) {
        let uuid = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
        };
        if event.event_type.starts_with("autoprune.") {
            let scope = event.data.get("scope");
            match uuid(scope.and_then(|s| s.get("repository_id"))) {
                Some(repo) => {
                    self.repositories.insert(repo);
                }
                None => {
                    if let Some(ns) = uuid(scope.and_then(|s| s.get("namespace_id"))) {
                        self.namespaces.insert(ns);
                    }
                }
            }
        } else if let Some(repo) = uuid(event.data.get("repository_id")) {
            self.repositories.insert(repo);
        }
    }
}

impl AutopruneWorker {
    /// Follows the log and sweeps on schedule until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let filter = EventFilter {
            stream_prefixes: Vec::new(),
            event_types: TRIGGERS.iter().map(|t| t.to_string()).collect(),
        };
        let mut after = loop {
            match self.db.checkpoint(CHECKPOINT).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::warn!("autoprune: reading the checkpoint: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        };
        // A sweep at start, then one every interval.
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            if *stop.borrow() {
                return;
            }
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.sweep(&stop).await {
                    tracing::warn!("autoprune: sweep: {e}");
                }
                next_sweep = tokio::time::Instant::now() + self.interval;
            }
            let page = match self.store.read_all(after, PAGE, &filter).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("autoprune: reading the log: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
            };
            let Some(last) = page.last().map(|e| e.position) else {
                let wait = next_sweep.saturating_duration_since(tokio::time::Instant::now());
                tokio::select! {
                    _ = tokio::time::timeout(wait, self.store.wait_for_new(after)) => {}
                    _ = stop.changed() => return,
                }
                // `wait_for_new` wakes on any event; the filtered read decides.
                continue;
            };
            let mut touched = Touched::default();
            page.iter().for_each(|e| touched.add(e));
            match self.apply(&touched, last, &stop).await {
                Ok(()) => {
                    if let Err(e) = self.db.set_checkpoint(CHECKPOINT, last).await {
                        tracing::warn!("autoprune: saving the checkpoint: {e}");
                    }
                    after = last;
                }
                Err(e) => {
                    tracing::warn!("autoprune: applying the policies: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }

    /// Applies the policies to what `touched` names, once the read models reached `position`.
    async fn apply(
        &self,
        touched: &Touched,
        position: u64,
        stop: &watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        if !self.watch.wait_for(position, SETTLE).await {
            anyhow::bail!("the read models did not reach position {position} within {SETTLE:?}");
        }
        let db = self.models.db();
        let mut repositories: BTreeSet<Uuid> = touched.repositories.clone();
        for ns in &touched.namespaces {
            for repo in autoprune::repositories_of(db.as_ref(), *ns).await? {
                repositories.insert(repo.id);
            }
        }
        for id in repositories {
            if *stop.borrow() {
                break;
            }
            if let Some(repo) = autoprune::repository_by_id(db.as_ref(), id).await? {
                self.prune_repository(&repo).await?;
            }
        }
        Ok(())
    }

    /// Applies every policy to every repository it covers.
    async fn sweep(&self, stop: &watch::Receiver<bool>) -> anyhow::Result<()> {
        let head = self.store.head().await?;
        let mut touched = Touched::default();
        for policy in autoprune::all(self.models.db().as_ref()).await? {
            match policy.repository_id {
                Some(repo) => touched.repositories.insert(repo),
                None => touched.namespaces.insert(policy.namespace_id),
            };
        }
        self.apply(&touched, head, stop).await
    }

    /// Prunes one repository by its namespace's policies and its own.
    async fn prune_repository(&self, repo: &PrunedRepository) -> anyhow::Result<()> {
        let db = self.models.db();
        let mut views = autoprune::of_namespace(db.as_ref(), repo.namespace_id).await?;
        views.extend(autoprune::of_repository(db.as_ref(), repo.id).await?);
        if views.is_empty() {
            return Ok(());
        }
        let policies: Vec<(Uuid, PolicyConfig)> =
            views.iter().map(|v| (v.uuid, v.policy.clone())).collect();
        let tags = autoprune::live_tags(db.as_ref(), repo.id).await?;
        let now = chrono::Utc::now().timestamp_micros();
        let target = RepositoryRef {
            namespace: NamespaceName::parse(&repo.namespace)?,
            name: RepositoryName::parse(&repo.name)?,
        };
        let mut last = 0;
        for (tag, policy_uuid, _) in plan_prunes(&policies, &tags, now) {
            let Some(view) = views.iter().find(|v| v.uuid == *policy_uuid) else {
                continue;
            };
            let by = pruned_by(view)?;
            let name = TagName::parse(&tag.name)?;
            let digest = Digest::parse(&tag.digest)
                .map_err(|e| anyhow::anyhow!("tag {} of {target}: {e}", tag.name))?;
            let mut envelope = Envelope::new(actor()).with_command_id(prune_command_id(
                view.uuid,
                repo.id,
                &tag.name,
                tag.version,
            ));
            envelope.correlation_id = view.uuid;
            match self
                .commands
                .autoprune_tag(&envelope, &target, repo.id, &name, &digest, &by)
                .await
            {
                Ok(done) => last = last.max(done.position),
                Err(e) => tracing::warn!("autoprune: pruning {target}:{}: {e}", tag.name),
            }
        }
        // The next pass plans from the tags as they are after these deletions.
        if last > 0 && !self.watch.wait_for(last, SETTLE).await {
            anyhow::bail!("the read models did not reach position {last} within {SETTLE:?}");
        }
        Ok(())
    }
}

/// The policy as a deletion records it.
fn pruned_by(view: &PolicyView) -> anyhow::Result<PrunedBy> {
    Ok(PrunedBy {
        policy_uuid: view.uuid,
        scope: PolicyScope {
            namespace_id: view.namespace_id,
            namespace: NamespaceName::parse(&view.namespace)?,
            repository_id: view.repository_id,
            repository: view
                .repository
                .as_deref()
                .map(RepositoryName::parse)
                .transpose()?,
        },
        policy: view.policy.clone(),
    })
}
