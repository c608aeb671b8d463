//! The audit vocabulary: each event that a person would look for in a usage log maps onto a
//! Quay log kind (the names Quay's own clients know). Internal bookkeeping events map to none.

use crate::event::DomainEvent;

pub fn log_kind(event: &DomainEvent) -> Option<&'static str> {
    use DomainEvent::*;
    Some(match event {
        NameReserved { .. }
        | NameReleased { .. }
        | OrganizationRegistryAttached { .. }
        | RegistryRepositoryAdded { .. }
        | RegistryRepositoryRemoved { .. } => return None,
        UserCreated { .. } => "user_create",
        TokenIssued { .. } => "create_app_specific_token",
        RegistryCredentialIssued { .. } => "create_registry_credential",
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
        // Blob uploads are part of a push; the push itself is logged when its manifest lands.
        BlobUploaded { .. } => return None,
        ManifestPushed { .. } => "push_repo",
        ManifestDeleted { .. } => "delete_manifest",
        TagCreated { .. } => "create_tag",
        TagMoved { .. } => "move_tag",
        TagRestored { .. } => "revert_tag",
        TagDeleted { .. } => "delete_tag",
        TagExpirationChanged { .. } => "change_tag_expiration",
        ManifestLabelAdded { .. } => "manifest_label_add",
        ManifestLabelDeleted { .. } => "manifest_label_delete",
        RepositoryPulled { .. } => "pull_repo",
        RegistryCreated { .. } => "registry_create",
        RegistrySubscriptionChanged { .. } => "registry_change_subscription",
        RegistryDeleted { .. } => "registry_delete",
        GarbageCollectionRequested { .. } => "registry_gc_start",
        GarbageCollectionStatusChanged { .. } => "registry_gc_status",
        GarbageCollectionBlobsDeleted { .. } => "registry_gc_blobs_deleted",
        GarbageCollectionFinished { .. } => "registry_gc_finish",
    })
}
