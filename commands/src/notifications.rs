//! Repository notification commands: each notification on its own stream, always planned
//! against its live repository (loaded and its namespace guarded, so a notification never
//! outlives its repository), logged under the repository.

use annals_domain::DomainError;
use annals_domain::notification::{
    self, NotificationCommand, NotificationSpec, RepositoryNotification,
};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::repositories::{RepositoryRef, repository_scope};
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    /// Creates a notification on `target`; answers its id (derived from the command id, so a
    /// retried request names the same notification). `blocked_hosts` are the hosts webhooks
    /// may not post to.
    pub async fn create_repository_notification(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        spec: NotificationSpec,
        blocked_hosts: Vec<String>,
    ) -> Result<(Uuid, Done), CommandError> {
        let notification_id = envelope.derived_id("repository-notification");
        let done = self
            .run(envelope, || async {
                let (ns, _, repo) = self.load_repository(target).await?;
                let repository_id = repo.state.id.unwrap_or_default();
                let note: Loaded<RepositoryNotification> =
                    self.load(notification::stream(notification_id)).await?;
                let events = notification::decide(
                    &note.state,
                    &NotificationCommand::Create {
                        notification_id,
                        repository_id,
                        spec: spec.clone(),
                        blocked_hosts: blocked_hosts.clone(),
                    },
                )?;
                let mut plan = Plan::new(repository_scope(&repo));
                ns.guard_owner(&mut plan);
                plan.push(&note.stream, note.expected(), events);
                Ok(plan)
            })
            .await?;
        Ok((notification_id, done))
    }

    /// Deletes, resets, tests or records a delivery outcome of a notification of `target`.
    /// A notification of another repository is not found.
    pub async fn repository_notification_command(
        &self,
        envelope: &Envelope,
        target: &RepositoryRef,
        notification_id: Uuid,
        command: NotificationCommand,
    ) -> Result<Done, CommandError> {
        if matches!(command, NotificationCommand::Create { .. }) {
            return Err(
                DomainError::InvalidArgument("use create_repository_notification".into()).into(),
            );
        }
        self.run(envelope, || async {
            let (ns, _, repo) = self.load_repository(target).await?;
            let note: Loaded<RepositoryNotification> =
                self.load(notification::stream(notification_id)).await?;
            if note.state.repository_id.is_none() || note.state.repository_id != repo.state.id {
                return Err(DomainError::NotFound(format!(
                    "No repository notification found with uuid: {notification_id}"
                ))
                .into());
            }
            let events = notification::decide(&note.state, &command)?;
            let mut plan = Plan::new(repository_scope(&repo));
            if !events.is_empty() {
                ns.guard_owner(&mut plan);
            }
            plan.push(&note.stream, note.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// The notification as its stream stands now (the delivery worker asks whether it is
    /// still enabled before each attempt).
    pub async fn repository_notification(
        &self,
        notification_id: Uuid,
    ) -> Result<RepositoryNotification, CommandError> {
        let note: Loaded<RepositoryNotification> =
            self.load(notification::stream(notification_id)).await?;
        Ok(note.state)
    }
}
