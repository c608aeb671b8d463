//! Every domain event of Annals. One flat enum, so a projector or the log index folds all of them
//! with one `match`; each variant has a stable, versioned type name that never changes once
//! written (a changed shape gets a new `.v2` name and an upcaster in [`crate::codec`]).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::access::{RepoRole, TeamRole};
use crate::autoprune::{PolicyConfig, PolicyScope, PrunedBy};
use crate::delegate::Delegate;
use crate::digest::Digest;
use crate::event_subscription::Selector;
use crate::gc::{GcStatus, GcType};
use crate::gerrit_plugin::Jar;
use crate::log_export::{Delivery, ExportRequest, ExportStatus};
use crate::manifest::Descriptor;
use crate::mirror::{MirrorConfig, SyncOutcome};
use crate::names::{Email, NamespaceName, RepositoryName};
use crate::notification::{NotificationEvent, NotificationMethod};
use crate::proxy_cache::ProxyCacheConfig;
use crate::quota::LimitType;
use crate::spaceone_plugin::{PluginChanges, PluginSpec};
use crate::tag::TagName;
use crate::values::{NamespaceKind, RepositoryKind, RepositoryState, Visibility};

// `ManifestPushed` carries a manifest's descriptors inline; events are decoded and folded one
// at a time, so boxing it would only make every pattern on it noisier.
#[allow(clippy::large_enum_variant)]
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

    /// A registry credential was issued (only its SHA-256 is recorded): it opens the OCI
    /// registry to `user_id`, read-only unless `read_write`, until `expires_at` when set.
    #[serde(rename = "user.registry_credential_issued.v1")]
    RegistryCredentialIssued {
        user_id: Uuid,
        credential_id: Uuid,
        token_sha256: String,
        read_write: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
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
    /// The organization holds a DigitalOcean registry's repositories: pushes into it meet the
    /// registry's tier and garbage-collection rules.
    #[serde(rename = "organization.registry_attached.v1")]
    OrganizationRegistryAttached {
        organization_id: Uuid,
        registry_id: Uuid,
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

    /// A blob's bytes were uploaded into (or mounted into) a repository. The bytes live in the
    /// content-addressed blob store; this is the record that the repository may use them.
    #[serde(rename = "repository.blob_uploaded.v1")]
    BlobUploaded {
        repository_id: Uuid,
        digest: Digest,
        size: u64,
        /// `namespace/name` of the repository it was mounted from, for a cross-repository mount.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mounted_from: Option<String>,
    },
    /// The repository dropped its reference to a blob (OCI `DELETE /v2/<name>/blobs/<digest>`).
    /// The bytes stay in the blob store until a garbage collection finds them unreferenced.
    #[serde(rename = "repository.blob_unlinked.v1")]
    BlobUnlinked { repository_id: Uuid, digest: Digest },
    /// A manifest was pushed, by digest or by `tag` (which then points at it).
    #[serde(rename = "repository.manifest_pushed.v1")]
    ManifestPushed {
        repository_id: Uuid,
        digest: Digest,
        media_type: String,
        size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<TagName>,
        /// The manifest the tag pointed at before this push.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<Digest>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Descriptor>,
        #[serde(default)]
        layers: Vec<Descriptor>,
        #[serde(default)]
        manifests: Vec<Descriptor>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<Descriptor>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        artifact_type: Option<String>,
        #[serde(default)]
        annotations: BTreeMap<String, String>,
    },
    /// A manifest was deleted; the tags that pointed at it went with it.
    #[serde(rename = "repository.manifest_deleted.v1")]
    ManifestDeleted {
        repository_id: Uuid,
        digest: Digest,
        tags: Vec<TagName>,
    },
    #[serde(rename = "repository.tag_created.v1")]
    TagCreated {
        repository_id: Uuid,
        tag: TagName,
        digest: Digest,
    },
    #[serde(rename = "repository.tag_moved.v1")]
    TagMoved {
        repository_id: Uuid,
        tag: TagName,
        digest: Digest,
        previous: Digest,
    },
    /// The tag was pointed back at a manifest it pointed at before (Quay's time machine).
    #[serde(rename = "repository.tag_restored.v1")]
    TagRestored {
        repository_id: Uuid,
        tag: TagName,
        digest: Digest,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<Digest>,
    },
    #[serde(rename = "repository.tag_deleted.v1")]
    TagDeleted {
        repository_id: Uuid,
        tag: TagName,
        digest: Digest,
    },
    #[serde(rename = "repository.tag_expiration_changed.v1")]
    TagExpirationChanged {
        repository_id: Uuid,
        tag: TagName,
        digest: Digest,
        expiration: Option<DateTime<Utc>>,
    },
    #[serde(rename = "repository.manifest_label_added.v1")]
    ManifestLabelAdded {
        repository_id: Uuid,
        digest: Digest,
        label_id: Uuid,
        key: String,
        value: String,
        media_type: String,
    },
    #[serde(rename = "repository.manifest_label_deleted.v1")]
    ManifestLabelDeleted {
        repository_id: Uuid,
        digest: Digest,
        label_id: Uuid,
        key: String,
    },
    /// A manifest was pulled (kept in the repository's own `pulls-` stream).
    #[serde(rename = "repository.pulled.v1")]
    RepositoryPulled {
        repository_id: Uuid,
        digest: Digest,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<TagName>,
    },

    /// A DigitalOcean-style registry: one per account, over the namespace of the same name.
    #[serde(rename = "registry.created.v1")]
    RegistryCreated {
        registry_id: Uuid,
        name: NamespaceName,
        namespace_id: Uuid,
        owner_id: Uuid,
        tier: String,
        region: String,
    },
    #[serde(rename = "registry.subscription_changed.v1")]
    RegistrySubscriptionChanged {
        registry_id: Uuid,
        name: NamespaceName,
        tier: String,
    },
    #[serde(rename = "registry.deleted.v1")]
    RegistryDeleted {
        registry_id: Uuid,
        name: NamespaceName,
    },
    /// A repository was created in the registry's namespace (counted against the tier).
    #[serde(rename = "registry.repository_added.v1")]
    RegistryRepositoryAdded {
        registry_id: Uuid,
        repository_id: Uuid,
    },
    /// A repository of the registry's namespace was deleted.
    #[serde(rename = "registry.repository_removed.v1")]
    RegistryRepositoryRemoved {
        registry_id: Uuid,
        repository_id: Uuid,
    },
    #[serde(rename = "registry.gc_requested.v1")]
    GarbageCollectionRequested {
        registry_id: Uuid,
        name: NamespaceName,
        gc_id: Uuid,
        gc_type: GcType,
    },
    /// The collection moved to a new status (including `cancelling` when a user asks).
    #[serde(rename = "registry.gc_status_changed.v1")]
    GarbageCollectionStatusChanged {
        registry_id: Uuid,
        gc_id: Uuid,
        status: GcStatus,
    },
    /// Blobs the collection removed from the blob store, with their sizes.
    #[serde(rename = "registry.gc_blobs_deleted.v1")]
    GarbageCollectionBlobsDeleted {
        registry_id: Uuid,
        gc_id: Uuid,
        blobs: Vec<(Digest, u64)>,
        freed_bytes: u64,
    },
    /// The collection ended: succeeded, failed or cancelled.
    #[serde(rename = "registry.gc_finished.v1")]
    GarbageCollectionFinished {
        registry_id: Uuid,
        gc_id: Uuid,
        status: GcStatus,
        blobs_deleted: u64,
        freed_bytes: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },

    // --- Identity and access ---------------------------------------------------------------
    /// A password was set; only its Argon2id hash (PHC string) is recorded.
    #[serde(rename = "user.password_set.v1")]
    UserPasswordSet {
        user_id: Uuid,
        password_hash: String,
    },
    /// An app-specific token (a registry password) was created; only its SHA-256 is recorded.
    #[serde(rename = "user.app_token_created.v1")]
    AppTokenCreated {
        user_id: Uuid,
        token_id: Uuid,
        title: String,
        token_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    #[serde(rename = "user.app_token_revoked.v1")]
    AppTokenRevoked {
        user_id: Uuid,
        token_id: Uuid,
        title: String,
    },
    /// An OAuth access token was minted for an application with a subset of the user's scopes.
    #[serde(rename = "user.oauth_token_issued.v1")]
    OAuthTokenIssued {
        user_id: Uuid,
        token_id: Uuid,
        client_id: String,
        scopes: Vec<String>,
        token_sha256: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    #[serde(rename = "user.repository_starred.v1")]
    RepositoryStarred {
        user_id: Uuid,
        repository_id: Uuid,
        namespace: NamespaceName,
        repository: RepositoryName,
    },
    #[serde(rename = "user.repository_unstarred.v1")]
    RepositoryUnstarred {
        user_id: Uuid,
        repository_id: Uuid,
        namespace: NamespaceName,
        repository: RepositoryName,
    },

    /// A robot account of a namespace (an organization or a user); `name` is its full name
    /// `namespace+shortname`. Only its token's SHA-256 is recorded.
    #[serde(rename = "robot.created.v1")]
    RobotCreated {
        namespace_id: Uuid,
        robot_id: Uuid,
        name: String,
        description: String,
        #[serde(default)]
        unstructured_metadata: serde_json::Value,
        token_sha256: String,
    },
    #[serde(rename = "robot.token_regenerated.v1")]
    RobotTokenRegenerated {
        namespace_id: Uuid,
        robot_id: Uuid,
        name: String,
        token_sha256: String,
    },
    /// The robot is gone, with its team memberships and repository permissions.
    #[serde(rename = "robot.deleted.v1")]
    RobotDeleted {
        namespace_id: Uuid,
        robot_id: Uuid,
        name: String,
    },

    #[serde(rename = "team.created.v1")]
    TeamCreated {
        organization_id: Uuid,
        team_id: Uuid,
        name: String,
        role: TeamRole,
        description: String,
    },
    #[serde(rename = "team.role_changed.v1")]
    TeamRoleChanged {
        organization_id: Uuid,
        team_id: Uuid,
        name: String,
        role: TeamRole,
    },
    #[serde(rename = "team.description_changed.v1")]
    TeamDescriptionChanged {
        organization_id: Uuid,
        team_id: Uuid,
        name: String,
        description: String,
    },
    /// The team is gone, with its memberships and repository permissions.
    #[serde(rename = "team.deleted.v1")]
    TeamDeleted {
        organization_id: Uuid,
        team_id: Uuid,
        name: String,
    },
    #[serde(rename = "team.member_added.v1")]
    TeamMemberAdded {
        organization_id: Uuid,
        team_id: Uuid,
        team: String,
        member_id: Uuid,
        member: String,
        is_robot: bool,
    },
    #[serde(rename = "team.member_removed.v1")]
    TeamMemberRemoved {
        organization_id: Uuid,
        team_id: Uuid,
        team: String,
        member_id: Uuid,
        member: String,
        is_robot: bool,
    },
    #[serde(rename = "team.member_invited.v1")]
    TeamMemberInvited {
        organization_id: Uuid,
        team_id: Uuid,
        team: String,
        email: Email,
    },
    #[serde(rename = "team.invite_deleted.v1")]
    TeamInviteDeleted {
        organization_id: Uuid,
        team_id: Uuid,
        team: String,
        email: Email,
    },

    /// A default permission: `delegate` gets `role` on each repository created in the
    /// organization (by `activating_user` only, when set).
    #[serde(rename = "organization.prototype_created.v1")]
    PrototypeCreated {
        organization_id: Uuid,
        prototype_id: Uuid,
        role: RepoRole,
        delegate: Delegate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activating_user: Option<Delegate>,
    },
    #[serde(rename = "organization.prototype_changed.v1")]
    PrototypeChanged {
        organization_id: Uuid,
        prototype_id: Uuid,
        role: RepoRole,
    },
    #[serde(rename = "organization.prototype_deleted.v1")]
    PrototypeDeleted {
        organization_id: Uuid,
        prototype_id: Uuid,
    },

    /// An OAuth application of an organization; only its client secret's SHA-256 is recorded.
    #[serde(rename = "organization.application_created.v1")]
    ApplicationCreated {
        organization_id: Uuid,
        client_id: String,
        name: String,
        description: String,
        application_uri: String,
        redirect_uri: String,
        avatar_email: Option<String>,
        client_secret_sha256: String,
    },
    #[serde(rename = "organization.application_updated.v1")]
    ApplicationUpdated {
        organization_id: Uuid,
        client_id: String,
        name: String,
        description: String,
        application_uri: String,
        redirect_uri: String,
        avatar_email: Option<String>,
    },
    #[serde(rename = "organization.application_secret_reset.v1")]
    ApplicationSecretReset {
        organization_id: Uuid,
        client_id: String,
        client_secret_sha256: String,
    },
    #[serde(rename = "organization.application_deleted.v1")]
    ApplicationDeleted {
        organization_id: Uuid,
        client_id: String,
    },

    /// `delegate` holds `role` on the repository (`previous` is the role it held before).
    #[serde(rename = "repository.permission_set.v1")]
    RepositoryPermissionSet {
        repository_id: Uuid,
        delegate: Delegate,
        role: RepoRole,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<RepoRole>,
    },
    #[serde(rename = "repository.permission_removed.v1")]
    RepositoryPermissionRemoved {
        repository_id: Uuid,
        delegate: Delegate,
        role: RepoRole,
    },

    /// A login with a known user name failed (wrong password or token).
    #[serde(rename = "audit.login_failed.v1")]
    LoginFailed {
        user_id: Uuid,
        username: String,
        method: String,
        reason: String,
    },
    /// An authenticated caller was refused an action.
    #[serde(rename = "audit.access_denied.v1")]
    AccessDenied {
        principal_id: Uuid,
        principal: String,
        is_robot: bool,
        action: String,
        resource: String,
        reason: String,
    },

    /// A global message shown to every user of the registry.
    #[serde(rename = "message.created.v1")]
    MessageCreated {
        message_id: Uuid,
        content: String,
        severity: String,
        media_type: String,
    },
    #[serde(rename = "message.deleted.v1")]
    MessageDeleted { message_id: Uuid },

    /// A service key (a public key other services sign with), by its JWK thumbprint `kid`.
    #[serde(rename = "service_key.created.v1")]
    ServiceKeyCreated {
        kid: String,
        name: String,
        service: String,
        #[serde(default)]
        metadata: serde_json::Value,
        expiration: Option<chrono::DateTime<chrono::Utc>>,
        jwk: serde_json::Value,
    },
    #[serde(rename = "service_key.updated.v1")]
    ServiceKeyUpdated {
        kid: String,
        name: String,
        #[serde(default)]
        metadata: serde_json::Value,
        expiration: Option<chrono::DateTime<chrono::Utc>>,
    },
    #[serde(rename = "service_key.approved.v1")]
    ServiceKeyApproved {
        kid: String,
        approver: String,
        notes: String,
    },
    #[serde(rename = "service_key.deleted.v1")]
    ServiceKeyDeleted { kid: String },

    /// A SpaceONE repository plugin was registered in the domain (organization)
    /// `organization_id`; it starts enabled.
    #[serde(rename = "spaceone_plugin.registered.v1")]
    SpacePluginRegistered {
        plugin_id: String,
        organization_id: Uuid,
        spec: PluginSpec,
    },
    /// The fields of `changes` that are set replaced the plugin's.
    #[serde(rename = "spaceone_plugin.updated.v1")]
    SpacePluginUpdated {
        plugin_id: String,
        changes: PluginChanges,
    },
    #[serde(rename = "spaceone_plugin.enabled.v1")]
    SpacePluginEnabled { plugin_id: String },
    #[serde(rename = "spaceone_plugin.disabled.v1")]
    SpacePluginDisabled { plugin_id: String },
    #[serde(rename = "spaceone_plugin.deregistered.v1")]
    SpacePluginDeregistered { plugin_id: String },

    /// A Gerrit plugin's jar was installed (or overwrote the one before), from `source`; an
    /// install enables the plugin. `revision` counts installs and reloads.
    #[serde(rename = "gerrit_plugin.installed.v1")]
    GerritPluginInstalled {
        plugin_id: String,
        jar: Jar,
        source: String,
        revision: u64,
    },
    /// The plugin was loaded again from its stored jar.
    #[serde(rename = "gerrit_plugin.reloaded.v1")]
    GerritPluginReloaded {
        plugin_id: String,
        jar: Jar,
        revision: u64,
    },
    #[serde(rename = "gerrit_plugin.enabled.v1")]
    GerritPluginEnabled { plugin_id: String },
    #[serde(rename = "gerrit_plugin.disabled.v1")]
    GerritPluginDisabled { plugin_id: String },

    /// A log export was asked for (`POST .../exportlogs`).
    #[serde(rename = "log_export.requested.v1")]
    LogExportRequested {
        export_id: Uuid,
        request: ExportRequest,
    },
    /// The export's file is stored under `digest` (`entries` log entries, `size` bytes); its
    /// URL serves until `expires_at`. The callback and e-mail are the request's, kept here so
    /// the log entry shows them.
    #[serde(rename = "log_export.completed.v1")]
    LogExportCompleted {
        export_id: Uuid,
        digest: Digest,
        size: u64,
        entries: u64,
        expires_at: DateTime<Utc>,
        callback_url: Option<String>,
        callback_email: Option<Email>,
    },
    /// The export could not be written.
    #[serde(rename = "log_export.failed.v1")]
    LogExportFailed {
        export_id: Uuid,
        status: ExportStatus,
        error: String,
        callback_url: Option<String>,
        callback_email: Option<Email>,
    },
    /// The requester was told (or telling failed for good): the callback's and the e-mail's
    /// outcome, each when asked for.
    #[serde(rename = "log_export.notified.v1")]
    LogExportNotified {
        export_id: Uuid,
        callback: Option<Delivery>,
        email: Option<Delivery>,
    },
    /// A webhook subscription to the events after `from_position` that `selector` matches.
    /// Its signing secret is not recorded here (the delivery worker keeps it).
    #[serde(rename = "event_subscription.created.v1")]
    EventSubscriptionCreated {
        subscription_id: Uuid,
        url: String,
        selector: Selector,
        from_position: u64,
    },
    /// Delivery stopped after repeated failures; `checkpoint` is the last delivered position.
    #[serde(rename = "event_subscription.paused.v1")]
    EventSubscriptionPaused {
        subscription_id: Uuid,
        reason: String,
        checkpoint: u64,
    },
    /// Delivery goes on from the checkpoint.
    #[serde(rename = "event_subscription.resumed.v1")]
    EventSubscriptionResumed { subscription_id: Uuid },
    #[serde(rename = "event_subscription.deleted.v1")]
    EventSubscriptionDeleted { subscription_id: Uuid },

    // Namespace quotas (stream `quota-<namespace id>`, `crate::quota`) and the registry size.
    #[serde(rename = "quota.created.v1")]
    QuotaCreated {
        namespace_id: Uuid,
        namespace: NamespaceName,
        quota_id: u64,
        limit_bytes: u64,
    },
    #[serde(rename = "quota.changed.v1")]
    QuotaChanged {
        namespace_id: Uuid,
        namespace: NamespaceName,
        quota_id: u64,
        limit_bytes: u64,
        previous_limit_bytes: u64,
    },
    /// The quota is gone, with its limits.
    #[serde(rename = "quota.deleted.v1")]
    QuotaDeleted {
        namespace_id: Uuid,
        namespace: NamespaceName,
        quota_id: u64,
        limit_bytes: u64,
    },
    #[serde(rename = "quota.limit_created.v1")]
    QuotaLimitCreated {
        namespace_id: Uuid,
        namespace: NamespaceName,
        quota_id: u64,
        limit_id: u64,
        limit_type: LimitType,
        threshold_percent: u8,
    },
    #[serde(rename = "quota.limit_changed.v1")]
    QuotaLimitChanged {
        namespace_id: Uuid,
        namespace: NamespaceName,
        quota_id: u64,
        limit_id: u64,
        limit_type: LimitType,
        threshold_percent: u8,
        previous_type: LimitType,
        previous_threshold_percent: u8,
    },
    #[serde(rename = "quota.limit_deleted.v1")]
    QuotaLimitDeleted {
        namespace_id: Uuid,
        namespace: NamespaceName,
        quota_id: u64,
        limit_id: u64,
        limit_type: LimitType,
        threshold_percent: u8,
    },
    /// A push into `repository` brought the namespace's usage to `usage_bytes`, at or past
    /// its `Warning` limit at `threshold_percent` of `limit_bytes` (appended with the push).
    #[serde(rename = "quota.warning_reached.v1")]
    QuotaWarningReached {
        namespace_id: Uuid,
        namespace: NamespaceName,
        repository_id: Uuid,
        repository: RepositoryName,
        quota_id: u64,
        limit_bytes: u64,
        threshold_percent: u8,
        usage_bytes: u64,
    },
    /// A manifest push added `added_bytes` to a namespace held to a `Reject` limit, taking its
    /// usage to `usage_bytes` (appended with the push). It moves the quota stream, so two
    /// concurrent pushes that together would pass the limit conflict, and the second is decided
    /// again on a usage that counts the first.
    #[serde(rename = "quota.charged.v1")]
    QuotaCharged {
        namespace_id: Uuid,
        repository_id: Uuid,
        added_bytes: u64,
        usage_bytes: u64,
    },
    /// A superuser asked for the registry's size to be computed again (stream
    /// `registrysize`); the registry projector answers it at this event's place in the log.
    #[serde(rename = "registry_size.queued.v1")]
    RegistrySizeQueued {},

    // --- Repository notifications (`notification.rs`) ---------------------------------------
    /// A repository notification: tell `config`'s target by `method` when `event` happens.
    #[serde(rename = "repository_notification.created.v1")]
    RepositoryNotificationCreated {
        notification_id: Uuid,
        repository_id: Uuid,
        event: NotificationEvent,
        method: NotificationMethod,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        config: serde_json::Value,
        event_config: serde_json::Value,
    },
    #[serde(rename = "repository_notification.deleted.v1")]
    RepositoryNotificationDeleted {
        notification_id: Uuid,
        repository_id: Uuid,
        event: NotificationEvent,
        method: NotificationMethod,
    },
    /// The failure count went back to 0 (from `previous_failures`): a disabled notification fires again.
    #[serde(rename = "repository_notification.reset.v1")]
    RepositoryNotificationReset {
        notification_id: Uuid,
        repository_id: Uuid,
        event: NotificationEvent,
        method: NotificationMethod,
        previous_failures: u32,
    },
    /// One delivery of the event's sample data was asked for; the delivery worker sends it.
    #[serde(rename = "repository_notification.test_queued.v1")]
    RepositoryNotificationTestQueued {
        notification_id: Uuid,
        repository_id: Uuid,
        event: NotificationEvent,
        method: NotificationMethod,
    },
    /// The delivery worker delivered the notification for the event `source_event_id` (at
    /// `source_position`); `recipients` names the users a `quay_notification` went to.
    #[serde(rename = "repository_notification.delivered.v1")]
    RepositoryNotificationDelivered {
        notification_id: Uuid,
        repository_id: Uuid,
        event: NotificationEvent,
        method: NotificationMethod,
        source_event_id: Uuid,
        source_position: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        recipients: Vec<String>,
    },
    /// An attempt to deliver for `source_event_id` failed: the count is now
    /// `number_of_failures`, and at Quay's limit the notification is `disabled` until reset.
    #[serde(rename = "repository_notification.failed.v1")]
    RepositoryNotificationFailed {
        notification_id: Uuid,
        repository_id: Uuid,
        event: NotificationEvent,
        method: NotificationMethod,
        source_event_id: Uuid,
        source_position: u64,
        error: String,
        number_of_failures: u32,
        disabled: bool,
    },
    // --- Auto-prune policies (`domain/src/autoprune.rs`) and the tags they delete. ---
    /// An auto-prune policy of a namespace, or of one repository (`scope.repository_id`).
    #[serde(rename = "autoprune.policy_created.v1")]
    AutoprunePolicyCreated {
        policy_uuid: Uuid,
        scope: PolicyScope,
        policy: PolicyConfig,
    },
    /// The policy now prunes as `policy` says.
    #[serde(rename = "autoprune.policy_updated.v1")]
    AutoprunePolicyUpdated {
        policy_uuid: Uuid,
        scope: PolicyScope,
        policy: PolicyConfig,
    },
    #[serde(rename = "autoprune.policy_deleted.v1")]
    AutoprunePolicyDeleted {
        policy_uuid: Uuid,
        scope: PolicyScope,
    },
    /// The auto-prune worker deleted the tag (then pointing at `digest`) because of the policy
    /// `pruned_by` names. On the repository's stream; for its content, a deletion like
    /// `repository.tag_deleted.v1`.
    #[serde(rename = "repository.tag_autopruned.v1")]
    TagAutopruned {
        repository_id: Uuid,
        tag: TagName,
        digest: Digest,
        pruned_by: PrunedBy,
    },
    // --- Repository mirroring (`mirror.rs`), on the repository's stream ---
    /// The repository mirrors an upstream one from now on (the same batch puts it in the
    /// `MIRROR` state and lets the robot write).
    #[serde(rename = "repository.mirror_created.v1")]
    RepositoryMirrorCreated {
        repository_id: Uuid,
        config: MirrorConfig,
    },
    /// The mirror's configuration is now `config`; `changed` names the settings that changed.
    #[serde(rename = "repository.mirror_changed.v1")]
    RepositoryMirrorChanged {
        repository_id: Uuid,
        config: MirrorConfig,
        changed: Vec<String>,
    },
    #[serde(rename = "repository.mirror_enabled.v1")]
    RepositoryMirrorEnabled { repository_id: Uuid },
    #[serde(rename = "repository.mirror_disabled.v1")]
    RepositoryMirrorDisabled { repository_id: Uuid },
    /// Someone asked for a sync now.
    #[serde(rename = "repository.mirror_sync_requested.v1")]
    RepositoryMirrorSyncRequested { repository_id: Uuid },
    /// Someone cancelled the sync asked for or running.
    #[serde(rename = "repository.mirror_sync_cancelled.v1")]
    RepositoryMirrorSyncCancelled { repository_id: Uuid },
    /// The mirror worker began sync `sync_id` of `external_reference`'s tags matching
    /// `tag_globs`; it holds the mirror until `expires_at`.
    #[serde(rename = "repository.mirror_sync_started.v1")]
    RepositoryMirrorSyncStarted {
        repository_id: Uuid,
        sync_id: Uuid,
        expires_at: DateTime<Utc>,
        external_reference: String,
        tag_globs: Vec<String>,
    },
    /// A sync brought `tag` to `digest`, copied from `source`.
    #[serde(rename = "repository.mirror_tag_synced.v1")]
    RepositoryMirrorTagSynced {
        repository_id: Uuid,
        sync_id: Uuid,
        tag: TagName,
        digest: Digest,
        source: String,
    },
    /// A sync could not bring `tag` from `source`.
    #[serde(rename = "repository.mirror_tag_sync_failed.v1")]
    RepositoryMirrorTagSyncFailed {
        repository_id: Uuid,
        sync_id: Uuid,
        tag: TagName,
        message: String,
        source: String,
    },
    /// A sync ended; the mirror's next scheduled sync is `next_sync`.
    #[serde(rename = "repository.mirror_sync_finished.v1")]
    RepositoryMirrorSyncFinished {
        repository_id: Uuid,
        sync_id: Uuid,
        outcome: SyncOutcome,
        message: Option<String>,
        external_reference: String,
        tag_globs: Vec<String>,
        tags_synced: u32,
        tags_failed: u32,
        tags_deleted: u32,
        retries_remaining: u32,
        next_sync: DateTime<Utc>,
    },
    // --- Proxy cache (`proxy_cache.rs`) ---
    /// The organization caches `config.upstream_registry` from now on: pulls of its
    /// repositories are fetched from there, and only the cache writes into it.
    #[serde(rename = "organization.proxy_cache_created.v1")]
    OrganizationProxyCacheCreated {
        organization_id: Uuid,
        name: NamespaceName,
        config: ProxyCacheConfig,
    },
    #[serde(rename = "organization.proxy_cache_deleted.v1")]
    OrganizationProxyCacheDeleted {
        organization_id: Uuid,
        name: NamespaceName,
    },
    /// The proxy cache asked its upstream for `upstream`'s `reference` (a tag or a digest),
    /// found `digest`, and copied it (`copied`: `blobs_fetched` blobs of `bytes_fetched`
    /// bytes, the pushes recorded before this event) or found it cached already. On the
    /// repository's stream; `triggered_by` names the pull that caused it.
    #[serde(rename = "repository.proxy_cache_fetched.v1")]
    RepositoryProxyCacheFetched {
        repository_id: Uuid,
        /// `host[:port]/path` of the upstream repository.
        upstream: String,
        reference: String,
        tag: Option<TagName>,
        digest: Digest,
        copied: bool,
        blobs_fetched: u32,
        bytes_fetched: u64,
        triggered_by: Option<String>,
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
            RegistryCredentialIssued { .. } => "user.registry_credential_issued.v1",
            OrganizationCreated { .. } => "organization.created.v1",
            OrganizationEmailChanged { .. } => "organization.email_changed.v1",
            OrganizationInvoicingChanged { .. } => "organization.invoicing_changed.v1",
            OrganizationTagExpirationChanged { .. } => "organization.tag_expiration_changed.v1",
            OrganizationDeleted { .. } => "organization.deleted.v1",
            OrganizationRegistryAttached { .. } => "organization.registry_attached.v1",
            RepositoryCreated { .. } => "repository.created.v1",
            RepositoryDescriptionChanged { .. } => "repository.description_changed.v1",
            RepositoryVisibilityChanged { .. } => "repository.visibility_changed.v1",
            RepositoryStateChanged { .. } => "repository.state_changed.v1",
            RepositoryDeleted { .. } => "repository.deleted.v1",
            BlobUploaded { .. } => "repository.blob_uploaded.v1",
            BlobUnlinked { .. } => "repository.blob_unlinked.v1",
            ManifestPushed { .. } => "repository.manifest_pushed.v1",
            ManifestDeleted { .. } => "repository.manifest_deleted.v1",
            TagCreated { .. } => "repository.tag_created.v1",
            TagMoved { .. } => "repository.tag_moved.v1",
            TagRestored { .. } => "repository.tag_restored.v1",
            TagDeleted { .. } => "repository.tag_deleted.v1",
            TagExpirationChanged { .. } => "repository.tag_expiration_changed.v1",
            ManifestLabelAdded { .. } => "repository.manifest_label_added.v1",
            ManifestLabelDeleted { .. } => "repository.manifest_label_deleted.v1",
            RepositoryPulled { .. } => "repository.pulled.v1",
            RegistryCreated { .. } => "registry.created.v1",
            RegistrySubscriptionChanged { .. } => "registry.subscription_changed.v1",
            RegistryDeleted { .. } => "registry.deleted.v1",
            RegistryRepositoryAdded { .. } => "registry.repository_added.v1",
            RegistryRepositoryRemoved { .. } => "registry.repository_removed.v1",
            GarbageCollectionRequested { .. } => "registry.gc_requested.v1",
            GarbageCollectionStatusChanged { .. } => "registry.gc_status_changed.v1",
            GarbageCollectionBlobsDeleted { .. } => "registry.gc_blobs_deleted.v1",
            GarbageCollectionFinished { .. } => "registry.gc_finished.v1",
            UserPasswordSet { .. } => "user.password_set.v1",
            AppTokenCreated { .. } => "user.app_token_created.v1",
            AppTokenRevoked { .. } => "user.app_token_revoked.v1",
            OAuthTokenIssued { .. } => "user.oauth_token_issued.v1",
            RepositoryStarred { .. } => "user.repository_starred.v1",
            RepositoryUnstarred { .. } => "user.repository_unstarred.v1",
            RobotCreated { .. } => "robot.created.v1",
            RobotTokenRegenerated { .. } => "robot.token_regenerated.v1",
            RobotDeleted { .. } => "robot.deleted.v1",
            TeamCreated { .. } => "team.created.v1",
            TeamRoleChanged { .. } => "team.role_changed.v1",
            TeamDescriptionChanged { .. } => "team.description_changed.v1",
            TeamDeleted { .. } => "team.deleted.v1",
            TeamMemberAdded { .. } => "team.member_added.v1",
            TeamMemberRemoved { .. } => "team.member_removed.v1",
            TeamMemberInvited { .. } => "team.member_invited.v1",
            TeamInviteDeleted { .. } => "team.invite_deleted.v1",
            PrototypeCreated { .. } => "organization.prototype_created.v1",
            PrototypeChanged { .. } => "organization.prototype_changed.v1",
            PrototypeDeleted { .. } => "organization.prototype_deleted.v1",
            ApplicationCreated { .. } => "organization.application_created.v1",
            ApplicationUpdated { .. } => "organization.application_updated.v1",
            ApplicationSecretReset { .. } => "organization.application_secret_reset.v1",
            ApplicationDeleted { .. } => "organization.application_deleted.v1",
            RepositoryPermissionSet { .. } => "repository.permission_set.v1",
            RepositoryPermissionRemoved { .. } => "repository.permission_removed.v1",
            LoginFailed { .. } => "audit.login_failed.v1",
            AccessDenied { .. } => "audit.access_denied.v1",
            MessageCreated { .. } => "message.created.v1",
            MessageDeleted { .. } => "message.deleted.v1",
            ServiceKeyCreated { .. } => "service_key.created.v1",
            ServiceKeyUpdated { .. } => "service_key.updated.v1",
            ServiceKeyApproved { .. } => "service_key.approved.v1",
            ServiceKeyDeleted { .. } => "service_key.deleted.v1",
            SpacePluginRegistered { .. } => "spaceone_plugin.registered.v1",
            SpacePluginUpdated { .. } => "spaceone_plugin.updated.v1",
            SpacePluginEnabled { .. } => "spaceone_plugin.enabled.v1",
            SpacePluginDisabled { .. } => "spaceone_plugin.disabled.v1",
            SpacePluginDeregistered { .. } => "spaceone_plugin.deregistered.v1",
            GerritPluginInstalled { .. } => "gerrit_plugin.installed.v1",
            GerritPluginReloaded { .. } => "gerrit_plugin.reloaded.v1",
            GerritPluginEnabled { .. } => "gerrit_plugin.enabled.v1",
            GerritPluginDisabled { .. } => "gerrit_plugin.disabled.v1",
            LogExportRequested { .. } => "log_export.requested.v1",
            LogExportCompleted { .. } => "log_export.completed.v1",
            LogExportFailed { .. } => "log_export.failed.v1",
            LogExportNotified { .. } => "log_export.notified.v1",
            EventSubscriptionCreated { .. } => "event_subscription.created.v1",
            EventSubscriptionPaused { .. } => "event_subscription.paused.v1",
            EventSubscriptionResumed { .. } => "event_subscription.resumed.v1",
            EventSubscriptionDeleted { .. } => "event_subscription.deleted.v1",
            // Namespace quotas and the registry size.
            QuotaCreated { .. } => "quota.created.v1",
            QuotaChanged { .. } => "quota.changed.v1",
            QuotaDeleted { .. } => "quota.deleted.v1",
            QuotaLimitCreated { .. } => "quota.limit_created.v1",
            QuotaLimitChanged { .. } => "quota.limit_changed.v1",
            QuotaLimitDeleted { .. } => "quota.limit_deleted.v1",
            QuotaWarningReached { .. } => "quota.warning_reached.v1",
            QuotaCharged { .. } => "quota.charged.v1",
            RegistrySizeQueued { .. } => "registry_size.queued.v1",
            // Repository notifications.
            RepositoryNotificationCreated { .. } => "repository_notification.created.v1",
            RepositoryNotificationDeleted { .. } => "repository_notification.deleted.v1",
            RepositoryNotificationReset { .. } => "repository_notification.reset.v1",
            RepositoryNotificationTestQueued { .. } => "repository_notification.test_queued.v1",
            RepositoryNotificationDelivered { .. } => "repository_notification.delivered.v1",
            RepositoryNotificationFailed { .. } => "repository_notification.failed.v1",
            // Auto-prune.
            AutoprunePolicyCreated { .. } => "autoprune.policy_created.v1",
            AutoprunePolicyUpdated { .. } => "autoprune.policy_updated.v1",
            AutoprunePolicyDeleted { .. } => "autoprune.policy_deleted.v1",
            TagAutopruned { .. } => "repository.tag_autopruned.v1",
            // Repository mirroring.
            RepositoryMirrorCreated { .. } => "repository.mirror_created.v1",
            RepositoryMirrorChanged { .. } => "repository.mirror_changed.v1",
            RepositoryMirrorEnabled { .. } => "repository.mirror_enabled.v1",
            RepositoryMirrorDisabled { .. } => "repository.mirror_disabled.v1",
            RepositoryMirrorSyncRequested { .. } => "repository.mirror_sync_requested.v1",
            RepositoryMirrorSyncCancelled { .. } => "repository.mirror_sync_cancelled.v1",
            RepositoryMirrorSyncStarted { .. } => "repository.mirror_sync_started.v1",
            RepositoryMirrorTagSynced { .. } => "repository.mirror_tag_synced.v1",
            RepositoryMirrorTagSyncFailed { .. } => "repository.mirror_tag_sync_failed.v1",
            RepositoryMirrorSyncFinished { .. } => "repository.mirror_sync_finished.v1",
            // Proxy cache.
            OrganizationProxyCacheCreated { .. } => "organization.proxy_cache_created.v1",
            OrganizationProxyCacheDeleted { .. } => "organization.proxy_cache_deleted.v1",
            RepositoryProxyCacheFetched { .. } => "repository.proxy_cache_fetched.v1",
        }
    }
}
