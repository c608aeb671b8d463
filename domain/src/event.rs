//! Every domain event of Annals. One flat enum, so a projector or the log index folds all of them
//! with one `match`; each variant has a stable, versioned type name that never changes once
//! written (a changed shape gets a new `.v2` name and an upcaster in [`crate::codec`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::names::{Email, NamespaceName, RepositoryName};
use crate::values::{NamespaceKind, RepositoryKind, RepositoryState, Visibility};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    /// A name (namespace, or repository within a namespace) now belongs to `owner_id`.
    #[serde(rename = "name.reserved.v1")]
    NameReserved { name: String, owner_id: Uuid },
    /// The name is free again.
    #[serde(rename = "name.released.v1")]
    NameReleased { name: String, owner_id: Uuid },

    #[serde(rename = "user.created.v1")]
    UserCreated {
        user_id: Uuid,
        username: NamespaceName,
        email: Option<Email>,
        super_user: bool,
    },
    /// An API token was issued; only its SHA-256 is ever recorded.
    #[serde(rename = "user.token_issued.v1")]
    TokenIssued {
        user_id: Uuid,
        token_id: Uuid,
        name: String,
        token_sha256: String,
    },

    #[serde(rename = "organization.created.v1")]
    OrganizationCreated {
        organization_id: Uuid,
        name: NamespaceName,
        email: Option<Email>,
    },
    #[serde(rename = "organization.email_changed.v1")]
    OrganizationEmailChanged {
        organization_id: Uuid,
        name: NamespaceName,
        email: Email,
    },
    #[serde(rename = "organization.invoicing_changed.v1")]
    OrganizationInvoicingChanged {
        organization_id: Uuid,
        name: NamespaceName,
        invoice_email: bool,
        invoice_email_address: Option<Email>,
    },
    #[serde(rename = "organization.tag_expiration_changed.v1")]
    OrganizationTagExpirationChanged {
        organization_id: Uuid,
        name: NamespaceName,
        tag_expiration_s: u64,
    },
    #[serde(rename = "organization.deleted.v1")]
    OrganizationDeleted {
        organization_id: Uuid,
        name: NamespaceName,
    },

    #[serde(rename = "repository.created.v1")]
    RepositoryCreated {
        repository_id: Uuid,
        namespace_id: Uuid,
        namespace_kind: NamespaceKind,
        namespace: NamespaceName,
        name: RepositoryName,
        visibility: Visibility,
        description: String,
        kind: RepositoryKind,
    },
    #[serde(rename = "repository.description_changed.v1")]
    RepositoryDescriptionChanged {
        repository_id: Uuid,
        description: String,
    },
    #[serde(rename = "repository.visibility_changed.v1")]
    RepositoryVisibilityChanged {
        repository_id: Uuid,
        visibility: Visibility,
    },
    #[serde(rename = "repository.state_changed.v1")]
    RepositoryStateChanged {
        repository_id: Uuid,
        state: RepositoryState,
    },
    #[serde(rename = "repository.deleted.v1")]
    RepositoryDeleted {
        repository_id: Uuid,
        namespace: NamespaceName,
        name: RepositoryName,
    },
}

impl DomainEvent {
    /// The stable type name under which this event is stored.
    pub fn event_type(&self) -> &'static str {
        use DomainEvent::*;
        match self {
            NameReserved { .. } => "name.reserved.v1",
            NameReleased { .. } => "name.released.v1",
            UserCreated { .. } => "user.created.v1",
            TokenIssued { .. } => "user.token_issued.v1",
            OrganizationCreated { .. } => "organization.created.v1",
            OrganizationEmailChanged { .. } => "organization.email_changed.v1",
            OrganizationInvoicingChanged { .. } => "organization.invoicing_changed.v1",
            OrganizationTagExpirationChanged { .. } => "organization.tag_expiration_changed.v1",
            OrganizationDeleted { .. } => "organization.deleted.v1",
            RepositoryCreated { .. } => "repository.created.v1",
            RepositoryDescriptionChanged { .. } => "repository.description_changed.v1",
            RepositoryVisibilityChanged { .. } => "repository.visibility_changed.v1",
            RepositoryStateChanged { .. } => "repository.state_changed.v1",
            RepositoryDeleted { .. } => "repository.deleted.v1",
        }
    }
}
