//! Auto-prune commands: creating, changing and deleting the policies of a namespace or of a
//! repository (all of one scope on `autoprune-<scope id>`), and the worker's deletion of a tag
//! by a policy.
//!
//! Each guards what it depends on at the version read: the namespace's owner (and the
//! repository, for a repository policy), so a policy never outlives its scope; a prune also
//! guards the policy's stream, so a policy changed or deleted in between re-plans the prune
//! and it is dropped.

use annals_domain::autoprune::{
    self, AutopruneCommand, AutoprunePolicies, PolicyConfig, PolicyScope, PrunedBy,
};
use annals_domain::{Digest, DomainError, NamespaceName, TagName};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::repositories::{RepositoryRef, repository_scope};
use crate::service::{CommandService, Done, Plan};

/// Whose policies a command changes.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyTarget {
    /// An organization's or a user's namespace.
    Namespace(NamespaceName),
    Repository(RepositoryRef),
}

/// A change to one policy.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyChange {
    Create {
        policy_uuid: Uuid,
        policy: PolicyConfig,
    },
    Update {
        policy_uuid: Uuid,
        policy: PolicyConfig,
    },
    Delete {
        policy_uuid: Uuid,
    },
}

impl CommandService {
    /// Applies `change` to the policies of `target`, which must be live.
    pub async fn autoprune_policy(
        &self,
        envelope: &Envelope,
        target: &PolicyTarget,
        change: PolicyChange,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (scope, mut plan) = match target {
                PolicyTarget::Namespace(name) => {
                    let ns = self.resolve_namespace(name).await?;
                    let mut plan = Plan::new(ns.scope());
                    ns.guard_owner(&mut plan);
                    let scope = PolicyScope {
                        namespace_id: ns.id,
                        namespace: ns.name.clone(),
                        repository_id: None,
                        repository: None,
                    };
                    (scope, plan)
                }
                PolicyTarget::Repository(repo_ref) => {
                    let (ns, _, repo) = self.load_repository(repo_ref).await?;
                    let mut plan = Plan::new(repository_scope(&repo));
                    ns.guard_owner(&mut plan);
                    plan.push(&repo.stream, repo.expected(), vec![]);
                    let scope = PolicyScope {
                        namespace_id: ns.id,
                        namespace: ns.name.clone(),
                        repository_id: repo.state.id,
                        repository: Some(repo_ref.name.clone()),
                    };
                    (scope, plan)
                }
            };
            let policies: Loaded<AutoprunePolicies> =
                self.load(autoprune::stream(scope.id())).await?;
            let command = match &change {
                PolicyChange::Create {
                    policy_uuid,
                    policy,
                } => AutopruneCommand::Create {
                    policy_uuid: *policy_uuid,
                    scope: scope.clone(),
                    policy: policy.clone(),
                },
                PolicyChange::Update {
                    policy_uuid,
                    policy,
                } => AutopruneCommand::Update {
                    policy_uuid: *policy_uuid,
                    policy: policy.clone(),
                },
                PolicyChange::Delete { policy_uuid } => AutopruneCommand::Delete {
                    policy_uuid: *policy_uuid,
                },
            };
            let events = autoprune::decide(&policies.state, &command)?;
            plan.push(&policies.stream, policies.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Deletes `tag` of the repository `repository_id` (at `target`) because of the policy `by`,
    /// if the tag still points at `digest` and the policy is still as `by` records it; else
    /// appends nothing. Run with a command id derived from the policy and the tag's version, a
    /// retry after a crash appends nothing twice.
    pub async fn autoprune_tag(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        repository_id: Uuid,
        tag: &TagName,
        digest: &Digest,
        by: &PrunedBy,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            if repo.state.id != Some(repository_id) || ns.id != by.scope.namespace_id {
                return Err(DomainError::NotFound(format!("Repository {target} not found")).into());
            }
            ns.check_writable(None)?;
            let policies: Loaded<AutoprunePolicies> =
                self.load(autoprune::stream(by.scope.id())).await?;
            let mut plan = Plan::new(repository_scope(&repo));
            if policies.state.policies.get(&by.policy_uuid) != Some(&by.policy) {
                return Ok(plan);
            }
            let events =
                autoprune::decide_prune(repository_id, &repo.state.content, tag, digest, by);
            ns.guard(&mut plan);
            plan.push(&policies.stream, policies.expected(), vec![]);
            plan.push(&repo.stream, repo.expected(), events);
            Ok(plan)
        })
        .await
    }
}
