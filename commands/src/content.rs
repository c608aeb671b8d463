//! Registry content commands: blobs recorded, manifests pushed and deleted, tags set, moved,
//! deleted, restored and expired, labels added and removed — all on the repository's stream —
//! and pulls, recorded on the repository's `pulls-` stream without reading anything.

use annals_domain::content::{self, ContentCommand};
use annals_domain::repository;
use annals_domain::{Digest, DomainEvent, TagName};
use annals_store::ExpectedVersion;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::metadata::Scope;
use crate::repositories::{RepositoryRef, repository_scope};
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    /// Applies a content command to the live repository at `target`.
    pub async fn change_content(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        command: ContentCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let (_, repo) = self.load_repository(target).await?;
            let repository_id = repo.state.id.unwrap_or_default();
            let events = content::decide(repository_id, &repo.state.content, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            plan.push(&repo.stream, repo.expected(), events);
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
