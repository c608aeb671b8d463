//! Organization commands: create (reserving the namespace name), update, delete (releasing it).

use crate::envelope::Envelope;
use crate::error::CommandError;
use crate::load::Loaded;
use crate::metadata::Scope;
use crate::service::{CommandService, Done, Plan};
use annals_domain::organization::{self, Organization, OrganizationChanges, OrganizationCommand};
use annals_domain::reservation::{self, NameScope, Reservation, ReservationCommand};
use annals_domain::{DomainError, Email, NamespaceKind, NamespaceName};

#[derive(Debug, Clone, PartialEq)]
pub struct CreateOrganization {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateOrganization {
    pub email: Option<String>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<String>,
    pub tag_expiration_s: Option<i64>,
}

fn org_not_found() -> DomainError {
    DomainError::NotFound("Organization not found".into())
}

impl CommandService {
    pub async fn create_organization(
        &self,
        envelope: &Envelope,
        command: CreateOrganization,
    ) -> Result<Done, CommandError> {
        let name = NamespaceName::parse(&command.name)?;
        let email = command
            .email
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(Email::parse)
            .transpose()?;
        let organization_id = envelope.derived_id("organization");
        self.run(envelope, || async {
            let names: Loaded<Reservation> =
                self.load(reservation::namespace_stream(&name)).await?;
            let reserved = reservation::decide(
                &names.state,
                &ReservationCommand::Reserve {
                    name: name.to_string(),
                    owner_id: organization_id,
                    scope: NameScope::Namespace,
                },
            )?;
            let org: Loaded<Organization> =
                self.load(organization::stream(organization_id)).await?;
            let created = organization::decide(
                &org.state,
                &OrganizationCommand::Create {
                    organization_id,
                    name: name.clone(),
                    email: email.clone(),
                    registry_id: None,
                    creator: envelope.creator(),
                },
            )?;
            let mut plan = Plan::new(Scope::namespace(
                organization_id,
                name.clone(),
                NamespaceKind::Organization,
            ));
            plan.push(&names.stream, names.expected(), reserved).push(
                &org.stream,
                org.expected(),
                created,
            );
            Ok(plan)
        })
        .await
    }

    pub async fn update_organization(
        &self,
        envelope: &Envelope,
        orgname: &str,
        command: UpdateOrganization,
    ) -> Result<Done, CommandError> {
        let parse_email = |s: &Option<String>| s.as_deref().map(Email::parse).transpose();
        let changes = OrganizationChanges {
            email: parse_email(&command.email)?,
            invoice_email: command.invoice_email,
            invoice_email_address: parse_email(&command.invoice_email_address)?,
            tag_expiration_s: command.tag_expiration_s,
        };
        self.run(envelope, || async {
            let org = self.load_organization(orgname).await?;
            let events =
                organization::decide(&org.state, &OrganizationCommand::Update(changes.clone()))?;
            let mut plan = Plan::new(org_scope(&org));
            plan.push(&org.stream, org.expected(), events);
            Ok(plan)
        })
        .await
    }

    /// Deletes the organization and frees its name. Its repositories go with it: they can no
    /// longer be reached (a namespace of the same name later gets a new id) and the read models
    /// drop them when they project the deletion.
    pub async fn delete_organization(
        &self,
        envelope: &Envelope,
        orgname: &str,
    ) -> Result<Done, CommandError> {
        self.run(envelope, || async {
            let org = self.load_organization(orgname).await?;
            let mut plan = Plan::new(org_scope(&org));
            self.plan_organization_deletion(&org, &mut plan).await?;
            Ok(plan)
        })
        .await
    }

    /// Adds the deletion of a live organization and the release of its name to `plan`.
    pub(crate) async fn plan_organization_deletion(
        &self,
        org: &Loaded<Organization>,
        plan: &mut Plan,
    ) -> Result<(), CommandError> {
        let deleted = organization::decide(&org.state, &OrganizationCommand::Delete)?;
        let name = org.state.name.clone().ok_or_else(org_not_found)?;
        let names: Loaded<Reservation> = self.load(reservation::namespace_stream(&name)).await?;
        let owner_id = org.state.id.ok_or_else(org_not_found)?;
        let released = reservation::decide(
            &names.state,
            &ReservationCommand::Release {
                name: name.to_string(),
                owner_id,
            },
        )?;
        plan.push(&org.stream, org.expected(), deleted).push(
            &names.stream,
            names.expected(),
            released,
        );
        Ok(())
    }

    /// The live organization called `orgname`, found through its name reservation.
    pub(crate) async fn load_organization(
        &self,
        orgname: &str,
    ) -> Result<Loaded<Organization>, CommandError> {
        let name = NamespaceName::parse(orgname).map_err(|_| org_not_found())?;
        let names: Loaded<Reservation> = self.load(reservation::namespace_stream(&name)).await?;
        let owner = names.state.owner.ok_or_else(org_not_found)?;
        let org: Loaded<Organization> = self.load(organization::stream(owner)).await?;
        if !org.state.is_live() {
            return Err(org_not_found().into());
        }
        Ok(org)
    }
}

fn org_scope(org: &Loaded<Organization>) -> Scope {
    match (org.state.id, org.state.name.clone()) {
        (Some(id), Some(name)) => Scope::namespace(id, name, NamespaceKind::Organization),
        _ => Scope::default(),
    }
}
