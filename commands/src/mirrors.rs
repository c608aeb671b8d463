//! Repository mirror commands: create, change, sync now and cancel, and the mirror worker's
//! claims and outcomes — each on the repository's stream (the mirror is part of the
//! repository: a push reads it to know who may write).

use annals_domain::mirror::{self, MirrorCommand, SyncCommand};

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::repositories::{RepositoryRef, repository_scope};
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    /// Applies `command` to the mirror of the live repository at `target`.
    pub async fn mirror_command(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: MirrorCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            let events = mirror::decide(&repo.state, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            ns.guard_owner(&mut plan);
            plan.push(&repo.stream, repo.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Applies the mirror worker's `command` (claim, tag outcome, end of a sync) to the mirror
    /// of the live repository at `target`.
    pub async fn mirror_sync(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: SyncCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            let events = mirror::sync::decide(&repo.state, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            ns.guard_owner(&mut plan);
            plan.push(&repo.stream, repo.expected(), events);
            Ok(plan)
        })
        .await
    }
}
