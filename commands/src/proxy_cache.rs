//! Proxy cache commands: an organization's configuration (on the organization's stream, as a
//! push reads it there) and the record of each visit to the upstream (on the repository's).

use annals_domain::organization::OrganizationCommand;
use annals_domain::proxy_cache::{self, Fetch, ProxyCacheCommand};
use annals_store::ExpectedVersion;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::repositories::{RepositoryRef, repository_scope};
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    /// Creates or deletes the proxy cache of the organization `orgname`.
    pub async fn proxy_cache_command(
        &self,
        envelope: &Envelope,
        orgname: &str,
        command: ProxyCacheCommand,
    ) -> Result<Done, CommandError> {
        self.organization_command(envelope, orgname, OrganizationCommand::ProxyCache(command))
            .await
    }

    /// Records what a visit to the upstream found for the live repository at `target` (the
    /// blobs and manifest it copied were pushed before, by their own commands). The
    /// organization is guarded, so a configuration deleted meanwhile refuses the record.
    pub async fn record_proxy_fetch(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        fetch: Fetch,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            let repository_id = repo.state.id.unwrap_or_default();
            let events = proxy_cache::record_fetch(ns.proxy_cache.as_ref(), repository_id, &fetch)?;
            let mut plan = Plan::new(repository_scope(&repo));
            ns.guard_owner(&mut plan);
            // Independent of the repository's content: concurrent pushes need not re-plan it.
            plan.push(&repo.stream, ExpectedVersion::Any, events);
            Ok(plan)
        })
        .await
    }
}
