//! Repository permissions: grant a user, robot or team a role, or take it away.

use annals_domain::access::RepoRole;
use annals_domain::delegate::Delegate;
use annals_domain::repository::RepositoryCommand;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::repositories::RepositoryRef;
use crate::service::{CommandService, Done};

impl CommandService {
    pub async fn set_repository_permission(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        delegate: Delegate,
        role: RepoRole,
    ) -> Result<Done, CommandError> {
        self.change_repository(
            envelope,
            target,
            RepositoryCommand::SetPermission { delegate, role },
        )
        .await
    }

    pub async fn remove_repository_permission(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        delegate_id: Uuid,
    ) -> Result<Done, CommandError> {
        self.change_repository(
            envelope,
            target,
            RepositoryCommand::RemovePermission { delegate_id },
        )
        .await
    }
}
