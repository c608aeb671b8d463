//! Organizations: namespaces owned by a group rather than a user.

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{Email, NamespaceName};

pub fn stream(id: Uuid) -> String {
    format!("organization-{id}")
}

/// The longest tag expiration an organization may set: one year.
pub const MAX_TAG_EXPIRATION_S: u64 = 365 * 24 * 3600;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Organization {
    pub id: Option<Uuid>,
    pub name: Option<NamespaceName>,
    pub email: Option<Email>,
    pub invoice_email: bool,
    pub invoice_email_address: Option<Email>,
    pub tag_expiration_s: u64,
    pub deleted: bool,
    /// The DigitalOcean registry whose repositories this organization holds, if any.
    pub registry_id: Option<Uuid>,
}

impl Organization {
    pub fn is_live(&self) -> bool {
        self.id.is_some() && !self.deleted
    }
}

/// The changes of an update; a field left `None` is left alone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrganizationChanges {
    pub email: Option<Email>,
    pub invoice_email: Option<bool>,
    pub invoice_email_address: Option<Email>,
    pub tag_expiration_s: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrganizationCommand {
    Create {
        organization_id: Uuid,
        name: NamespaceName,
        email: Option<Email>,
        /// Created to hold this registry's repositories.
        registry_id: Option<Uuid>,
    },
    Update(OrganizationChanges),
    Delete,
}

/// Default tag expiration of a new organization (Quay's default: two weeks).
pub const DEFAULT_TAG_EXPIRATION_S: u64 = 14 * 24 * 3600;

impl Aggregate for Organization {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        use DomainEvent::*;
        match event {
            OrganizationCreated {
                organization_id,
                name,
                email,
            } => {
                self = Organization {
                    id: Some(*organization_id),
                    name: Some(name.clone()),
                    email: email.clone(),
                    tag_expiration_s: DEFAULT_TAG_EXPIRATION_S,
                    ..Default::default()
                };
            }
            OrganizationEmailChanged { email, .. } => self.email = Some(email.clone()),
            OrganizationInvoicingChanged {
                invoice_email,
                invoice_email_address,
                ..
            } => {
                self.invoice_email = *invoice_email;
                self.invoice_email_address = invoice_email_address.clone();
            }
            OrganizationTagExpirationChanged {
                tag_expiration_s, ..
            } => self.tag_expiration_s = *tag_expiration_s,
            OrganizationDeleted { .. } => self.deleted = true,
            OrganizationRegistryAttached { registry_id, .. } => {
                self.registry_id = Some(*registry_id)
            }
            _ => {}
        }
        self
    }
}

fn not_found() -> DomainError {
    DomainError::NotFound("Organization not found".into())
}

pub fn decide(
    state: &Organization,
    command: &OrganizationCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    match command {
        OrganizationCommand::Create {
            organization_id,
            name,
            email,
            registry_id,
        } => {
            if state.id.is_some() {
                return Err(DomainError::AlreadyExists(
                    "A user or organization with this name already exists".into(),
                ));
            }
            let mut events = vec![DomainEvent::OrganizationCreated {
                organization_id: *organization_id,
                name: name.clone(),
                email: email.clone(),
            }];
            if let Some(registry_id) = registry_id {
                events.push(DomainEvent::OrganizationRegistryAttached {
                    organization_id: *organization_id,
                    registry_id: *registry_id,
                });
            }
            Ok(events)
        }
        OrganizationCommand::Update(changes) => {
            if !state.is_live() {
                return Err(not_found());
            }
            let (organization_id, name) = (
                state.id.unwrap_or_default(),
                state.name.clone().ok_or_else(not_found)?,
            );
            let mut events = Vec::new();
            if let Some(email) = &changes.email
                && state.email.as_ref() != Some(email)
            {
                events.push(DomainEvent::OrganizationEmailChanged {
                    organization_id,
                    name: name.clone(),
                    email: email.clone(),
                });
            }
            let invoice_email = changes.invoice_email.unwrap_or(state.invoice_email);
            let invoice_address = changes
                .invoice_email_address
                .clone()
                .or_else(|| state.invoice_email_address.clone());
            if invoice_email != state.invoice_email
                || invoice_address != state.invoice_email_address
            {
                events.push(DomainEvent::OrganizationInvoicingChanged {
                    organization_id,
                    name: name.clone(),
                    invoice_email,
                    invoice_email_address: invoice_address,
                });
            }
            if let Some(seconds) = changes.tag_expiration_s {
                let seconds = u64::try_from(seconds)
                    .ok()
                    .filter(|s| *s <= MAX_TAG_EXPIRATION_S)
                    .ok_or_else(|| {
                        DomainError::InvalidArgument(format!(
                            "Invalid tag_expiration_s {seconds}: must be between 0 and {MAX_TAG_EXPIRATION_S}"
                        ))
                    })?;
                if seconds != state.tag_expiration_s {
                    events.push(DomainEvent::OrganizationTagExpirationChanged {
                        organization_id,
                        name,
                        tag_expiration_s: seconds,
                    });
                }
            }
            Ok(events)
        }
        OrganizationCommand::Delete => {
            if !state.is_live() {
                return Err(not_found());
            }
            Ok(vec![DomainEvent::OrganizationDeleted {
                organization_id: state.id.unwrap_or_default(),
                name: state.name.clone().ok_or_else(not_found)?,
            }])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> Organization {
        let events = decide(
            &Organization::default(),
            &OrganizationCommand::Create {
                organization_id: Uuid::new_v4(),
                name: NamespaceName::parse("acme").unwrap(),
                email: None,
                registry_id: None,
            },
        )
        .unwrap();
        Organization::from_history(&events)
    }

    #[test]
    fn update_emits_only_real_changes() {
        let org = created();
        let same = OrganizationChanges {
            tag_expiration_s: Some(DEFAULT_TAG_EXPIRATION_S as i64),
            ..Default::default()
        };
        assert!(
            decide(&org, &OrganizationCommand::Update(same))
                .unwrap()
                .is_empty()
        );
        let change = OrganizationChanges {
            email: Some(Email::parse("a@b.io").unwrap()),
            tag_expiration_s: Some(60),
            ..Default::default()
        };
        assert_eq!(
            decide(&org, &OrganizationCommand::Update(change))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn bad_expiration_and_deleted_org_are_refused() {
        let org = created();
        let bad = OrganizationChanges {
            tag_expiration_s: Some(-1),
            ..Default::default()
        };
        assert!(matches!(
            decide(&org, &OrganizationCommand::Update(bad)),
            Err(DomainError::InvalidArgument(_))
        ));
        let events = decide(&org, &OrganizationCommand::Delete).unwrap();
        let gone = events.iter().fold(org, |s, e| s.evolve(e));
        assert!(matches!(
            decide(&gone, &OrganizationCommand::Delete),
            Err(DomainError::NotFound(_))
        ));
    }
}
