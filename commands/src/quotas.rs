//! Namespace quotas: their commands on the quota stream, and what a push must meet — the
//! quota's `Reject` limit refuses it before anything is stored, and a `Warning` limit it
//! crosses is recorded in the push's own batch. The registry size's recalculation is queued
//! here too.

use annals_domain::quota::{self, Owner, PushUsage, Quota, QuotaCommand};
use annals_domain::{Digest, DomainEvent, NamespaceName, RepositoryName};
use annals_store::ExpectedVersion;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::namespaces::Namespace;
use crate::service::{CommandService, Done, Plan};

/// The stream of the registry size's recalculations.
pub const REGISTRY_SIZE_STREAM: &str = "registrysize";

/// A namespace's quota as a push read it, with what the push would add.
pub(crate) struct QuotaCheck {
    quota: Loaded<Quota>,
    events: Vec<DomainEvent>,
}

impl QuotaCheck {
    /// For a blob: it may be refused, but usage only changes when a manifest references it,
    /// so no warning is recorded yet.
    pub fn refusal_only(mut self) -> Self {
        self.events.clear();
        self
    }

    /// Guards the quota at the version read (a quota changed meanwhile conflicts) and appends
    /// the warning the push crossed, if any.
    pub fn plan(self, plan: &mut Plan) {
        if self.quota.version.is_some() {
            plan.push(&self.quota.stream, self.quota.expected(), self.events);
        }
    }
}

impl CommandService {
    /// Applies a quota command to the namespace `namespace` (an organization or a user).
    pub async fn quota_command(
        &self,
        envelope: &Envelope,
        namespace: &NamespaceName,
        command: QuotaCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let ns = self.resolve_namespace(namespace).await?;
            let state: Loaded<Quota> = self.load(quota::stream(ns.id)).await?;
            let owner = Owner {
                namespace_id: ns.id,
                namespace: ns.name.clone(),
            };
            let events = quota::decide(&state.state, &owner, &command)?;
            let mut plan = Plan::new(ns.scope());
            ns.guard_owner(&mut plan);
            plan.push(&state.stream, state.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Queues a recalculation of the registry's size.
    pub async fn queue_registry_size(&self, envelope: &Envelope) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let mut plan = Plan::new(Scope::default());
            plan.push(
                REGISTRY_SIZE_STREAM,
                ExpectedVersion::Any,
                vec![DomainEvent::RegistrySizeQueued {}],
            );
            Ok(plan)
        })
        .await
    }

    /// What the quota of `ns` says of a push into `repository` that references `blobs`
    /// (digest and size): refused past its `Reject` limit, or the `Warning` it crosses. A
    /// namespace without limits costs one cached stream read.
    pub(crate) async fn check_quota(
        &self,
        ns: &Namespace,
        repository_id: Uuid,
        repository: &RepositoryName,
        blobs: &[(Digest, u64)],
    ) -> Result<QuotaCheck, CommandError> {
        let state: Loaded<Quota> = self.load(quota::stream(ns.id)).await?;
        let limited = state
            .state
            .current
            .as_ref()
            .is_some_and(|q| !q.limits.is_empty());
        let mut events = vec![];
        if limited {
            let digests: Vec<Digest> = blobs.iter().map(|(d, _)| d.clone()).collect();
            // The usage must count every push charged before the version read: the position
            // of the quota stream's last event bounds them.
            let after = match state.version {
                Some(version) => self
                    .store()
                    .read_stream(&state.stream, version, 1)
                    .await?
                    .first()
                    .map_or(0, |e| e.position),
                None => 0,
            };
            let (usage_bytes, referenced) = self
                .facts()
                .namespace_referenced(ns.id, &digests, after)
                .await?;
            let mut seen = std::collections::BTreeSet::new();
            let added_bytes = blobs
                .iter()
                .filter(|(d, _)| !referenced.contains(d) && seen.insert(d.clone()))
                .map(|(_, size)| *size)
                .sum();
            let owner = Owner {
                namespace_id: ns.id,
                namespace: ns.name.clone(),
            };
            let push = PushUsage {
                repository_id,
                repository: repository.clone(),
                usage_bytes,
                added_bytes,
            };
            events = state.state.check_push(&owner, &push)?;
        }
        Ok(QuotaCheck {
            quota: state,
            events,
        })
    }
}
