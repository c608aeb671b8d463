//! A usage-log entry in Quay's shape, built from the event itself: its kind, Quay-style
//! metadata, the client IP and the performer, all read from the event and its metadata.

use annals_domain::DomainEvent;
use annals_projections::queries::logs::LogEntry;
use serde::Serialize;
use serde_json::{Value, json};

use super::log_range::format_datetime;
use super::organizations::{Avatar, avatar};

/// Who performed a logged action.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Performer {
    /// `user`.
    pub kind: String,
    pub name: String,
    pub is_robot: bool,
    pub avatar: Avatar,
}

/// The namespace a logged action happened in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogNamespace {
    /// `org` or `user`.
    pub kind: String,
    pub name: String,
    pub avatar: Avatar,
}

/// A usage-log entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogEntryBody {
    /// The Quay log kind (`create_repo`, `push_repo`, ...).
    pub kind: String,
    /// Quay's metadata for the kind, with `event {id, type, stream, position, command_id,
    /// correlation_id}`.
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub ip: Option<String>,
    /// `Tue, 18 Jun 2024 18:59:13 -0000`.
    pub datetime: String,
    /// Absent for the system's own actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performer: Option<Performer>,
    /// Only where the query was not already scoped to a namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<LogNamespace>,
    /// The entry's leaf in the ledger (`GET /ledger/proof/inclusion?index=...`): leaves are
    /// events in position order, so this is the event's position − 1.
    pub leaf_index: u64,
}

/// The entry; `with_namespace` adds the namespace (for logs not already scoped to one).
pub fn render(entry: &LogEntry, with_namespace: bool) -> LogEntryBody {
    let meta = &entry.recorded.metadata;
    let text = |key: &str| meta.get(key).and_then(Value::as_str);
    let mut out = LogEntryBody {
        kind: entry.kind.to_string(),
        metadata: metadata(entry),
        ip: text("client_ip").map(str::to_owned),
        datetime: format_datetime(entry.recorded.recorded_at),
        performer: None,
        leaf_index: entry.recorded.position.saturating_sub(1),
        namespace: None,
    };
    if let Some(actor) = meta
        .get("actor")
        .filter(|a| a.get("kind").and_then(Value::as_str) != Some("system"))
    {
        let name = actor
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let is_robot = actor.get("kind").and_then(Value::as_str) == Some("robot");
        out.performer = Some(Performer {
            kind: "user".into(),
            name: name.to_owned(),
            is_robot,
            avatar: avatar(name, "user"),
        });
    }
    if let (true, Some(namespace)) = (with_namespace, text("namespace")) {
        let kind = if text("namespace_kind") == Some("organization") {
            "org"
        } else {
            "user"
        };
        out.namespace = Some(LogNamespace {
            kind: kind.to_owned(),
            name: namespace.to_owned(),
            avatar: avatar(namespace, kind),
        });
    }
    out
}

/// Quay's metadata for the kind, plus where the entry sits in the event log, so an auditor can
/// go from a log line to the exact event.
/// The value a mirror setting named as in Quay's log entries was changed to.
fn mirror_setting(c: &annals_domain::mirror::MirrorConfig, name: &str) -> Value {
    match name {
        "external_reference" => json!(c.external_reference),
        "robot_username" => json!(c.robot.name),
        "sync_start_date" => json!(c.sync_start_date),
        "sync_interval" => json!(c.sync_interval_s),
        "skopeo_timeout_interval" => json!(c.timeout_s),
        "external_registry_username" => json!(c.username),
        "external_registry_password" => json!(c.credential_id.map(|_| "********")),
        "verify_tls" => json!(c.verify_tls),
        "unsigned_images" => json!(c.unsigned_images),
        "http_proxy" => json!(c.http_proxy),
        "https_proxy" => json!(c.https_proxy),
        "no_proxy" => json!(c.no_proxy),
        "mirror_rule" => json!(c.tag_globs),
        _ => Value::Null,
    }
}

fn metadata(entry: &LogEntry) -> Value {
    use DomainEvent::*;
    let meta = &entry.recorded.metadata;
    let namespace = meta.get("namespace").cloned().unwrap_or(Value::Null);
    let repo = meta.get("repository").cloned().unwrap_or(Value::Null);
    let mut m = match &entry.event {
        UserCreated {
            username, email, ..
        } => json!({"username": username, "email": email}),
        RegistryCredentialIssued {
            read_write,
            expires_at,
            ..
        } => {
            json!({"username": namespace, "read_write": read_write, "expires_at": expires_at.map(|e| e.timestamp())})
        }
        TokenIssued { name, .. } => {
            json!({"app_specific_token_title": name, "username": namespace})
        }
        OrganizationCreated { email, .. } => json!({"namespace": namespace, "email": email}),
        OrganizationEmailChanged { email, .. } => json!({"namespace": namespace, "email": email}),
        OrganizationInvoicingChanged {
            invoice_email,
            invoice_email_address,
            ..
        } => {
            json!({"namespace": namespace, "invoice_email": invoice_email, "invoice_email_address": invoice_email_address})
        }
        OrganizationTagExpirationChanged {
            tag_expiration_s, ..
        } => {
            json!({"namespace": namespace, "tag_expiration": tag_expiration_s})
        }
        OrganizationDeleted { .. } => json!({"namespace": namespace}),
        RepositoryCreated { .. } | RepositoryDeleted { .. } => {
            json!({"namespace": namespace, "repo": repo})
        }
        RepositoryDescriptionChanged { description, .. } => {
            json!({"namespace": namespace, "repo": repo, "description": description})
        }
        RepositoryVisibilityChanged { visibility, .. } => {
            json!({"namespace": namespace, "repo": repo, "visibility": visibility})
        }
        RepositoryStateChanged { state, .. } => {
            json!({"namespace": namespace, "repo": repo, "state_changed": state})
        }
        ManifestPushed {
            digest,
            tag,
            media_type,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest, "media_type": media_type})
        }
        RepositoryPulled { digest, tag, .. } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest})
        }
        ManifestDeleted { digest, tags, .. } => {
            json!({"namespace": namespace, "repo": repo, "manifest_digest": digest, "tags": tags})
        }
        TagCreated { tag, digest, .. } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest})
        }
        TagMoved {
            tag,
            digest,
            previous,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest, "original_manifest_digest": previous})
        }
        TagRestored {
            tag,
            digest,
            previous,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest, "original_manifest_digest": previous})
        }
        TagDeleted { tag, digest, .. } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest})
        }
        TagExpirationChanged {
            tag,
            digest,
            expiration,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "tag": tag, "manifest_digest": digest,
                   "expiration_date": expiration.map(|e| e.timestamp())})
        }
        ManifestLabelAdded {
            digest,
            label_id,
            key,
            value,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "manifest_digest": digest, "id": label_id, "key": key, "value": value})
        }
        ManifestLabelDeleted {
            digest,
            label_id,
            key,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "manifest_digest": digest, "id": label_id, "key": key})
        }
        BlobUploaded {
            digest,
            size,
            mounted_from,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, "digest": digest, "size": size, "mounted_from": mounted_from})
        }
        BlobUnlinked { digest, .. } => {
            json!({"namespace": namespace, "repo": repo, "digest": digest})
        }
        RegistryCreated {
            name, tier, region, ..
        } => {
            json!({"namespace": namespace, "registry": name, "subscription_tier": tier, "region": region})
        }
        RegistrySubscriptionChanged { name, tier, .. } => {
            json!({"namespace": namespace, "registry": name, "subscription_tier": tier})
        }
        RegistryDeleted { name, .. } => json!({"namespace": namespace, "registry": name}),
        GarbageCollectionRequested {
            name,
            gc_id,
            gc_type,
            ..
        } => {
            json!({"namespace": namespace, "registry": name, "garbage_collection_uuid": gc_id, "type": gc_type})
        }
        GarbageCollectionStatusChanged { gc_id, status, .. } => {
            json!({"namespace": namespace, "garbage_collection_uuid": gc_id, "status": status})
        }
        GarbageCollectionBlobsDeleted {
            gc_id,
            blobs,
            freed_bytes,
            ..
        } => {
            json!({"namespace": namespace, "garbage_collection_uuid": gc_id, "blobs_deleted": blobs.len(),
                   "freed_bytes": freed_bytes, "digests": blobs.iter().map(|(d, _)| d).collect::<Vec<_>>()})
        }
        GarbageCollectionFinished {
            gc_id,
            status,
            blobs_deleted,
            freed_bytes,
            error,
            ..
        } => {
            json!({"namespace": namespace, "garbage_collection_uuid": gc_id, "status": status,
                   "blobs_deleted": blobs_deleted, "freed_bytes": freed_bytes, "error": error})
        }
        UserPasswordSet { .. } => json!({"username": namespace}),
        AppTokenCreated { title, .. } | AppTokenRevoked { title, .. } => {
            json!({"app_specific_token_title": title, "username": namespace})
        }
        OAuthTokenIssued {
            client_id, scopes, ..
        } => {
            json!({"username": namespace, "client_id": client_id, "scope": scopes.join(" ")})
        }
        RepositoryStarred {
            namespace: ns,
            repository,
            ..
        }
        | RepositoryUnstarred {
            namespace: ns,
            repository,
            ..
        } => {
            json!({"namespace": ns, "repo": repository})
        }
        RobotCreated { name, .. }
        | RobotTokenRegenerated { name, .. }
        | RobotDeleted { name, .. } => {
            json!({"namespace": namespace, "robot": name})
        }
        TeamCreated { name, role, .. } => {
            json!({"namespace": namespace, "team": name, "role": role})
        }
        TeamRoleChanged { name, role, .. } => {
            json!({"namespace": namespace, "team": name, "role": role})
        }
        TeamDescriptionChanged {
            name, description, ..
        } => {
            json!({"namespace": namespace, "team": name, "description": description})
        }
        TeamDeleted { name, .. } => json!({"namespace": namespace, "team": name}),
        TeamMemberAdded {
            team,
            member,
            is_robot,
            ..
        }
        | TeamMemberRemoved {
            team,
            member,
            is_robot,
            ..
        } => {
            json!({"namespace": namespace, "team": team, "member": member, "is_robot": is_robot})
        }
        TeamMemberInvited { team, email, .. } | TeamInviteDeleted { team, email, .. } => {
            json!({"namespace": namespace, "team": team, "email": email})
        }
        PrototypeCreated {
            prototype_id,
            role,
            delegate,
            activating_user,
            ..
        } => {
            json!({"namespace": namespace, "id": prototype_id, "role": role,
                   "delegate": delegate.name, "delegate_kind": delegate.kind,
                   "activating_user": activating_user.as_ref().map(|a| &a.name)})
        }
        PrototypeChanged {
            prototype_id, role, ..
        } => {
            json!({"namespace": namespace, "id": prototype_id, "role": role})
        }
        PrototypeDeleted { prototype_id, .. } => {
            json!({"namespace": namespace, "id": prototype_id})
        }
        ApplicationCreated {
            client_id, name, ..
        }
        | ApplicationUpdated {
            client_id, name, ..
        } => {
            json!({"namespace": namespace, "client_id": client_id, "application_name": name})
        }
        ApplicationSecretReset { client_id, .. } | ApplicationDeleted { client_id, .. } => {
            json!({"namespace": namespace, "client_id": client_id})
        }
        RepositoryPermissionSet {
            delegate,
            role,
            previous,
            ..
        } => {
            json!({"namespace": namespace, "repo": repo, delegate.kind.as_str(): delegate.name,
                   "role": role, "previous_role": previous})
        }
        RepositoryPermissionRemoved { delegate, role, .. } => {
            json!({"namespace": namespace, "repo": repo, delegate.kind.as_str(): delegate.name, "role": role})
        }
        LoginFailed {
            username,
            method,
            reason,
            ..
        } => {
            json!({"username": username, "type": method, "message": reason})
        }
        AccessDenied {
            principal,
            is_robot,
            action,
            resource,
            reason,
            ..
        } => {
            json!({"performer": principal, "is_robot": is_robot, "action": action,
                   "resource": resource, "message": reason})
        }
        MessageCreated {
            message_id,
            content,
            severity,
            ..
        } => {
            json!({"uuid": message_id, "content": content, "severity": severity})
        }
        MessageDeleted { message_id } => json!({"uuid": message_id}),
        ServiceKeyCreated {
            kid, name, service, ..
        } => json!({"kid": kid, "name": name, "service": service}),
        ServiceKeyUpdated { kid, name, .. } => json!({"kid": kid, "name": name}),
        ServiceKeyApproved { kid, approver, .. } => json!({"kid": kid, "approver": approver}),
        ServiceKeyDeleted { kid } => json!({"kid": kid}),
        SpacePluginRegistered {
            plugin_id, spec, ..
        } => json!({
            "plugin_id": plugin_id, "name": spec.name, "image": spec.image.to_string(),
            "service_type": spec.service_type, "domain_id": namespace,
        }),
        SpacePluginUpdated { plugin_id, changes } => {
            json!({"plugin_id": plugin_id, "changes": changes, "domain_id": namespace})
        }
        SpacePluginEnabled { plugin_id }
        | SpacePluginDisabled { plugin_id }
        | SpacePluginDeregistered { plugin_id } => {
            json!({"plugin_id": plugin_id, "domain_id": namespace})
        }
        GerritPluginInstalled {
            plugin_id,
            jar,
            source,
            revision,
        } => json!({
            "plugin": plugin_id, "version": jar.version, "api_version": jar.api_version,
            "jar": jar.digest.to_string(), "size": jar.size, "source": source, "revision": revision,
        }),
        GerritPluginReloaded {
            plugin_id,
            jar,
            revision,
        } => json!({
            "plugin": plugin_id, "version": jar.version, "jar": jar.digest.to_string(),
            "revision": revision,
        }),
        GerritPluginEnabled { plugin_id } | GerritPluginDisabled { plugin_id } => {
            json!({"plugin": plugin_id})
        }
        LogExportCompleted {
            export_id,
            digest,
            size,
            entries,
            callback_url,
            callback_email,
            ..
        } => json!({
            "export_id": export_id, "namespace": namespace, "repo": repo, "url": callback_url,
            "email": callback_email, "entries": entries, "size": size, "digest": digest.to_string(),
        }),
        LogExportFailed {
            export_id,
            status,
            error,
            callback_url,
            callback_email,
        } => json!({
            "export_id": export_id, "namespace": namespace, "repo": repo, "url": callback_url,
            "email": callback_email, "status": status.as_str(), "error": error,
        }),
        LogExportRequested { .. } | LogExportNotified { .. } => json!({}),
        // The URL may carry credentials of its owner's; the log names the subscription only.
        EventSubscriptionCreated {
            subscription_id,
            selector,
            from_position,
            ..
        } => json!({
            "subscription": subscription_id, "types": selector.types,
            "repository": selector.repository, "from": from_position,
        }),
        EventSubscriptionPaused {
            subscription_id,
            reason,
            checkpoint,
        } => json!({"subscription": subscription_id, "reason": reason, "checkpoint": checkpoint}),
        EventSubscriptionResumed { subscription_id }
        | EventSubscriptionDeleted { subscription_id } => {
            json!({"subscription": subscription_id})
        }
        // Namespace quotas, with Quay's metadata (sizes also in its human form).
        QuotaCreated { limit_bytes, .. } => json!({
            "namespace": namespace, "limit_bytes": limit_bytes,
            "limit": super::quota_size::human(*limit_bytes),
        }),
        QuotaChanged {
            limit_bytes,
            previous_limit_bytes,
            ..
        } => json!({
            "namespace": namespace, "limit_bytes": limit_bytes,
            "limit": super::quota_size::human(*limit_bytes),
            "previous_limit_bytes": previous_limit_bytes,
            "previous_limit": super::quota_size::human(*previous_limit_bytes),
        }),
        QuotaDeleted {
            quota_id,
            limit_bytes,
            ..
        } => json!({
            "namespace": namespace, "quota_id": quota_id, "limit_bytes": limit_bytes,
            "limit": super::quota_size::human(*limit_bytes),
        }),
        QuotaLimitCreated {
            limit_type,
            threshold_percent,
            ..
        } => json!({
            "namespace": namespace, "type": limit_type.as_str(),
            "threshold_percent": threshold_percent,
        }),
        QuotaLimitChanged {
            limit_type,
            threshold_percent,
            previous_type,
            previous_threshold_percent,
            ..
        } => json!({
            "namespace": namespace, "type": limit_type.as_str(),
            "threshold_percent": threshold_percent, "previous_type": previous_type.as_str(),
            "previous_threshold_percent": previous_threshold_percent,
        }),
        QuotaLimitDeleted {
            limit_id,
            limit_type,
            threshold_percent,
            ..
        } => json!({
            "namespace": namespace, "limit_id": limit_id, "type": limit_type.as_str(),
            "threshold_percent": threshold_percent,
        }),
        QuotaWarningReached { .. } | QuotaCharged { .. } | RegistrySizeQueued { .. } => json!({}),
        // Repository notifications: Quay's metadata `{repo, namespace, notification_id, event,
        // method}`, and what the delivery worker did. The config (URLs, addresses) stays out.
        // Quay's `event` (the notification's event name) collides with the event reference
        // every Annals entry carries under `event`, which wins; the name is `notification_event`.
        RepositoryNotificationCreated {
            notification_id,
            event,
            method,
            ..
        }
        | RepositoryNotificationDeleted {
            notification_id,
            event,
            method,
            ..
        }
        | RepositoryNotificationReset {
            notification_id,
            event,
            method,
            ..
        }
        | RepositoryNotificationTestQueued {
            notification_id,
            event,
            method,
            ..
        } => json!({
            "repo": repo, "namespace": namespace, "notification_id": notification_id,
            "notification_event": event.as_str(), "method": method.as_str(),
        }),
        RepositoryNotificationDelivered {
            notification_id,
            event,
            method,
            source_event_id,
            source_position,
            recipients,
            ..
        } => json!({
            "repo": repo, "namespace": namespace, "notification_id": notification_id,
            "notification_event": event.as_str(), "method": method.as_str(), "source_event": source_event_id,
            "source_position": source_position, "recipients": recipients,
        }),
        RepositoryNotificationFailed {
            notification_id,
            event,
            method,
            source_event_id,
            source_position,
            error,
            number_of_failures,
            disabled,
            ..
        } => json!({
            "repo": repo, "namespace": namespace, "notification_id": notification_id,
            "notification_event": event.as_str(), "method": method.as_str(), "source_event": source_event_id,
            "source_position": source_position, "error": error,
            "number_of_failures": number_of_failures, "disabled": disabled,
        }),
        // Auto-prune: Quay's metadata for the policy kinds; a pruned tag names its policy.
        AutoprunePolicyCreated { policy, scope, .. }
        | AutoprunePolicyUpdated { policy, scope, .. } => json!({
            "method": policy.method.as_str(), "value": policy.value.to_json(),
            "tag_pattern": policy.tag_pattern, "tag_pattern_matches": policy.tag_pattern_matches,
            "namespace": scope.namespace.as_str(), "repo": scope.repository.as_ref().map(|r| r.as_str()),
        }),
        AutoprunePolicyDeleted { policy_uuid, scope } => json!({
            "policy_uuid": policy_uuid, "namespace": scope.namespace.as_str(),
            "repo": scope.repository.as_ref().map(|r| r.as_str()),
        }),
        TagAutopruned {
            tag,
            digest,
            pruned_by,
            ..
        } => json!({
            "performer": "autoprune worker", "namespace": namespace, "repo": repo, "tag": tag,
            "manifest_digest": digest,
            "policy": {
                "uuid": pruned_by.policy_uuid,
                "method": pruned_by.policy.method.as_str(),
                "value": pruned_by.policy.value.to_json(),
                "tag_pattern": pruned_by.policy.tag_pattern,
                "tag_pattern_matches": pruned_by.policy.tag_pattern_matches,
                "namespace": pruned_by.scope.namespace.as_str(),
                "repository": pruned_by.scope.repository.as_ref().map(|r| r.as_str()),
            },
        }),
        // Repository mirroring, as Quay's entries: what changed, and to what (never a
        // password: `********` when one was set).
        RepositoryMirrorCreated { config, .. } => json!({
            "namespace": namespace, "repo": repo, "changed": "external_reference",
            "to": config.external_reference,
        }),
        RepositoryMirrorChanged {
            config, changed, ..
        } => {
            let to: Vec<Value> = changed.iter().map(|c| mirror_setting(config, c)).collect();
            json!({"namespace": namespace, "repo": repo, "changed": changed.join(","), "to": to})
        }
        RepositoryMirrorEnabled { .. } | RepositoryMirrorDisabled { .. } => json!({
            "namespace": namespace, "repo": repo, "changed": "is_enabled",
            "to": matches!(entry.event, RepositoryMirrorEnabled { .. }),
        }),
        RepositoryMirrorSyncRequested { .. } => json!({
            "namespace": namespace, "repo": repo, "changed": "sync_status", "to": "SYNC_NOW",
        }),
        RepositoryMirrorSyncCancelled { .. } => json!({
            "namespace": namespace, "repo": repo, "changed": "sync_status", "to": "SYNC_CANCEL",
        }),
        // The mirror worker, as Quay's `repomirrorworker` logs: a verb, a message, the tags.
        RepositoryMirrorSyncStarted {
            sync_id,
            external_reference,
            tag_globs,
            ..
        } => json!({
            "verb": "start", "namespace": namespace, "repo": repo, "sync_id": sync_id,
            "message": format!("'{external_reference}' with tag pattern '{}'", tag_globs.join(",")),
        }),
        RepositoryMirrorTagSynced {
            sync_id,
            tag,
            digest,
            source,
            ..
        } => json!({
            "verb": "finish", "namespace": namespace, "repo": repo, "sync_id": sync_id,
            "tag": tag, "manifest_digest": digest,
            "message": format!("Source '{source}' successful sync"),
        }),
        RepositoryMirrorTagSyncFailed {
            sync_id,
            tag,
            message,
            source,
            ..
        } => json!({
            "verb": "finish", "namespace": namespace, "repo": repo, "sync_id": sync_id,
            "tag": tag, "message": format!("Source '{source}' failed to sync: {message}"),
        }),
        RepositoryMirrorSyncFinished {
            sync_id,
            outcome,
            message,
            external_reference,
            tag_globs,
            tags_synced,
            tags_failed,
            tags_deleted,
            next_sync,
            ..
        } => json!({
            "verb": "end", "namespace": namespace, "repo": repo, "sync_id": sync_id,
            "outcome": outcome,
            "message": message.clone().unwrap_or_else(|| format!(
                "'{external_reference}' with tag pattern '{}'", tag_globs.join(",")
            )),
            "tags_synced": tags_synced, "tags_failed": tags_failed,
            "tags_deleted": tags_deleted, "next_sync": next_sync,
        }),
        // Proxy cache: Quay's metadata for the configuration (never the password); a fetch
        // says what the upstream had and what was copied.
        OrganizationProxyCacheCreated { config, .. } => json!({
            "namespace": namespace, "upstream_registry": config.upstream_registry,
            "expiration_s": config.expiration_s, "insecure": config.insecure,
        }),
        OrganizationProxyCacheDeleted { .. } => json!({"namespace": namespace}),
        RepositoryProxyCacheFetched {
            upstream,
            reference,
            tag,
            digest,
            copied,
            blobs_fetched,
            bytes_fetched,
            triggered_by,
            ..
        } => json!({
            "namespace": namespace, "repo": repo, "upstream": upstream, "reference": reference,
            "tag": tag, "manifest_digest": digest, "copied": copied,
            "blobs_fetched": blobs_fetched, "bytes_fetched": bytes_fetched,
            "triggered_by": triggered_by,
        }),
        NameReserved { .. }
        | NameReleased { .. }
        | OrganizationRegistryAttached { .. }
        | RegistryRepositoryAdded { .. }
        | RegistryRepositoryRemoved { .. } => json!({}),
    };
    m["event"] = json!({
        "id": entry.recorded.id,
        "type": entry.recorded.event_type,
        "stream": entry.recorded.stream,
        "position": entry.recorded.position,
        "leaf_index": entry.recorded.position.saturating_sub(1),
        "command_id": meta.get("command_id"),
        "correlation_id": meta.get("correlation_id"),
        "user_agent": meta.get("user_agent"),
    });
    m
}
