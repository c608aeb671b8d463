//! The audit vocabulary: each event that a person would look for in a usage log maps onto a
//! Quay log kind (the names Quay's own clients know). Internal bookkeeping events map to none.

use crate::event::DomainEvent;
use crate::mirror::SyncOutcome;

pub fn log_kind(event: &DomainEvent) -> Option<&'static str> {
    use DomainEvent::*;
    Some(match event {
        NameReserved { .. }
        | NameReleased { .. }
        | OrganizationRegistryAttached { .. }
        | RegistryRepositoryAdded { .. }
        | RegistryRepositoryRemoved { .. } => return None,
        // The request and the notification are steps of an export; its outcome is the entry.
        LogExportRequested { .. } | LogExportNotified { .. } => return None,
        LogExportCompleted { .. } => "export_logs_success",
        LogExportFailed { .. } => "export_logs_failure",
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
        // Quay has no blob deletion and no log kind for it; the event stream carries it.
        BlobUnlinked { .. } => return None,
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
        UserPasswordSet { .. } => "user_change_password",
        AppTokenCreated { .. } => "create_app_specific_token",
        AppTokenRevoked { .. } => "revoke_app_specific_token",
        OAuthTokenIssued { .. } => "oauth_token_assigned",
        RepositoryStarred { .. } => "star_repo",
        RepositoryUnstarred { .. } => "unstar_repo",
        RobotCreated { .. } => "create_robot",
        RobotTokenRegenerated { .. } => "regenerate_robot_token",
        RobotDeleted { .. } => "delete_robot",
        TeamCreated { .. } => "org_create_team",
        TeamRoleChanged { .. } => "org_set_team_role",
        TeamDescriptionChanged { .. } => "org_set_team_description",
        TeamDeleted { .. } => "org_delete_team",
        TeamMemberAdded { .. } => "org_add_team_member",
        TeamMemberRemoved { .. } => "org_remove_team_member",
        TeamMemberInvited { .. } => "org_invite_team_member",
        TeamInviteDeleted { .. } => "org_delete_team_member_invite",
        PrototypeCreated { .. } => "create_prototype_permission",
        PrototypeChanged { .. } => "modify_prototype_permission",
        PrototypeDeleted { .. } => "delete_prototype_permission",
        ApplicationCreated { .. } => "create_application",
        ApplicationUpdated { .. } => "update_application",
        ApplicationSecretReset { .. } => "reset_application_client_secret",
        ApplicationDeleted { .. } => "delete_application",
        RepositoryPermissionSet { previous: None, .. } => "add_repo_permission",
        RepositoryPermissionSet { .. } => "change_repo_permission",
        RepositoryPermissionRemoved { .. } => "delete_repo_permission",
        LoginFailed { .. } => "login_failure",
        AccessDenied { .. } => "access_denied",
        MessageCreated { .. } => "create_global_message",
        MessageDeleted { .. } => "delete_global_message",
        ServiceKeyCreated { .. } => "service_key_create",
        ServiceKeyUpdated { .. } => "service_key_modify",
        ServiceKeyApproved { .. } => "service_key_approve",
        ServiceKeyDeleted { .. } => "service_key_delete",
        SpacePluginRegistered { .. } => "plugin_register",
        SpacePluginUpdated { .. } => "plugin_update",
        SpacePluginEnabled { .. } => "plugin_enable",
        SpacePluginDisabled { .. } => "plugin_disable",
        SpacePluginDeregistered { .. } => "plugin_deregister",
        GerritPluginInstalled { .. } => "gerrit_plugin_install",
        GerritPluginReloaded { .. } => "gerrit_plugin_reload",
        GerritPluginEnabled { .. } => "gerrit_plugin_enable",
        GerritPluginDisabled { .. } => "gerrit_plugin_disable",
        EventSubscriptionCreated { .. } => "event_subscription_create",
        EventSubscriptionPaused { .. } => "event_subscription_pause",
        EventSubscriptionResumed { .. } => "event_subscription_resume",
        EventSubscriptionDeleted { .. } => "event_subscription_delete",
        // Namespace quotas. A warning reached is a notification's cause (no Quay log kind);
        // queuing the registry size is a superuser's bookkeeping.
        QuotaCreated { .. } => "org_create_quota",
        QuotaChanged { .. } => "org_change_quota",
        QuotaDeleted { .. } => "org_delete_quota",
        QuotaLimitCreated { .. } => "org_create_quota_limit",
        QuotaLimitChanged { .. } => "org_change_quota_limit",
        QuotaLimitDeleted { .. } => "org_delete_quota_limit",
        QuotaWarningReached { .. } | QuotaCharged { .. } | RegistrySizeQueued { .. } => {
            return None;
        }
        // Repository notifications: Quay's kinds for the routes; the worker's outcomes and the
        // test request get kinds in the same style.
        RepositoryNotificationCreated { .. } => "add_repo_notification",
        RepositoryNotificationDeleted { .. } => "delete_repo_notification",
        RepositoryNotificationReset { .. } => "reset_repo_notification",
        RepositoryNotificationTestQueued { .. } => "test_repo_notification",
        RepositoryNotificationDelivered { .. } => "repo_notification_delivered",
        RepositoryNotificationFailed { .. } => "repo_notification_failed",
        // Auto-prune: a policy's scope decides namespace or repository; the worker's deletions.
        AutoprunePolicyCreated { scope, .. } if scope.repository_id.is_some() => {
            "create_repository_autoprune_policy"
        }
        AutoprunePolicyCreated { .. } => "create_namespace_autoprune_policy",
        AutoprunePolicyUpdated { scope, .. } if scope.repository_id.is_some() => {
            "update_repository_autoprune_policy"
        }
        AutoprunePolicyUpdated { .. } => "update_namespace_autoprune_policy",
        AutoprunePolicyDeleted { scope, .. } if scope.repository_id.is_some() => {
            "delete_repository_autoprune_policy"
        }
        AutoprunePolicyDeleted { .. } => "delete_namespace_autoprune_policy",
        TagAutopruned { .. } => "autoprune_tag_delete",
        // Repository mirroring.
        RepositoryMirrorCreated { .. } | RepositoryMirrorEnabled { .. } => "repo_mirror_enabled",
        RepositoryMirrorDisabled { .. } => "repo_mirror_disabled",
        RepositoryMirrorChanged { .. } | RepositoryMirrorSyncCancelled { .. } => {
            "repo_mirror_config_changed"
        }
        RepositoryMirrorSyncRequested { .. } => "repo_mirror_sync_now_requested",
        // What the mirror worker did.
        RepositoryMirrorSyncStarted { .. } => "repo_mirror_sync_started",
        RepositoryMirrorTagSynced { .. } => "repo_mirror_sync_tag_success",
        RepositoryMirrorTagSyncFailed { .. } => "repo_mirror_sync_tag_failed",
        RepositoryMirrorSyncFinished {
            outcome: SyncOutcome::Success,
            ..
        } => "repo_mirror_sync_success",
        RepositoryMirrorSyncFinished { .. } => "repo_mirror_sync_failed",
        // Proxy cache: Quay's kinds for the configuration; a fetch gets one in the same style.
        OrganizationProxyCacheCreated { .. } => "create_proxy_cache_config",
        OrganizationProxyCacheDeleted { .. } => "delete_proxy_cache_config",
        RepositoryProxyCacheFetched { .. } => "proxy_cache_fetch",
    })
}
