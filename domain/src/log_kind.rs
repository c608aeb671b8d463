//! The audit vocabulary: each event that a person would look for in a usage log maps onto a
//! Quay log kind (the names Quay's own clients know). Internal bookkeeping events map to none.

use crate::event::DomainEvent;

pub fn log_kind(event: &DomainEvent) -> Option<&'static str> {
    use DomainEvent::*;
    Some(match event {
        NameReserved { .. } | NameReleased { .. } => return None,
        UserCreated { .. } => "user_create",
        TokenIssued { .. } => "create_app_specific_token",
        OrganizationCreated { .. } => "org_create",
        OrganizationEmailChanged { .. } => "org_change_email",
        OrganizationInvoicingChanged { .. } => "org_change_invoicing",
        OrganizationTagExpirationChanged { .. } => "org_change_tag_expiration",
        OrganizationDeleted { .. } => "org_delete",
        RepositoryCreated { .. } => "create_repo",
        RepositoryDescriptionChanged { .. } => "set_repo_description",
        RepositoryVisibilityChanged { .. } => "change_repo_visibility",
        RepositoryStateChanged { .. } => "change_repo_state",
        RepositoryDeleted { .. } => "delete_repo",
    })
}
