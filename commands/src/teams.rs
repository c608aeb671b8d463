//! Team, prototype and OAuth application commands on an organization, and removing a member from it: out of every
//! team, and out of every repository permission it holds in the organization, in one batch.

use annals_domain::DomainError;
use annals_domain::application::ApplicationCommand;
use annals_domain::organization::{self, OrganizationCommand};
use annals_domain::prototype::PrototypeCommand;
use annals_domain::repository::{self, Repository, RepositoryCommand};
use annals_domain::team::TeamCommand;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::robots::Owner;
use crate::service::{CommandService, Done, Plan};

impl CommandService {
    pub async fn team_command(
        &self,
        envelope: &Envelope,
        orgname: &str,
        command: TeamCommand,
    ) -> Result<Done, CommandError> {
        self.organization_command(envelope, orgname, OrganizationCommand::Team(command))
            .await
    }

    pub async fn prototype_command(
        &self,
        envelope: &Envelope,
        orgname: &str,
        command: PrototypeCommand,
    ) -> Result<Done, CommandError> {
        self.organization_command(envelope, orgname, OrganizationCommand::Prototype(command))
            .await
    }

    pub async fn application_command(
        &self,
        envelope: &Envelope,
        orgname: &str,
        command: ApplicationCommand,
    ) -> Result<Done, CommandError> {
        self.organization_command(envelope, orgname, OrganizationCommand::Application(command))
            .await
    }

    pub(crate) async fn organization_command(
        &self,
        envelope: &Envelope,
        orgname: &str,
        command: OrganizationCommand,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let org = self.load_organization(orgname).await?;
            let events = organization::decide(&org.state, &command)?;
            let mut plan = Plan::new(Owner::Organization(org.clone()).scope());
            plan.push(&org.stream, org.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Removes `member_id` from the organization: from each of its teams and each direct
    /// permission on the organization's repositories.
    pub async fn remove_organization_member(
        &self,
        envelope: &Envelope,
        orgname: &str,
        member_id: Uuid,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let org = self.load_organization(orgname).await?;
            let org_id = org
                .state
                .id
                .ok_or_else(|| DomainError::NotFound("Organization not found".into()))?;
            let left = organization::decide(
                &org.state,
                &OrganizationCommand::Team(TeamCommand::RemoveFromAll { member_id }),
            );
            let granted = self.facts().granted_repositories(org_id, member_id).await?;
            // A collaborator holds permissions but no team: removing it is still a removal.
            let left = match left {
                Err(DomainError::NotFound(_)) if !granted.is_empty() => vec![],
                other => other?,
            };
            let mut plan = Plan::new(Owner::Organization(org.clone()).scope());
            plan.push(&org.stream, org.expected(), left);
            for repository_id in granted {
                let repo: Loaded<Repository> = self.load(repository::stream(repository_id)).await?;
                if !repo.state.is_live() || !repo.state.permissions.contains_key(&member_id) {
                    continue;
                }
                let removed = repository::decide(
                    &repo.state,
                    &RepositoryCommand::RemovePermission {
                        delegate_id: member_id,
                    },
                )?;
                plan.push(&repo.stream, repo.expected(), removed);
            }
            Ok(plan)
        })
        .await
    }
}
