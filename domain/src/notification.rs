//! Quay's repository notifications: "when `event` happens in this repository, tell someone by
//! `method`". Each notification lives on its own stream `repositorynotification-<id>`; creating,
//! deleting, resetting, queueing a test and every delivery outcome are its events, so the log
//! says both what an administrator asked for and what the delivery worker did about it.
//!
//! Validation follows Quay's `notifications/notificationmethod.py` (per-method config) and
//! `notificationevent.py` (event config: `ref-regex` of build events, `level` of vulnerability
//! events). A notification is disabled after [`MAX_FAILURES`] failed deliveries in a row (Quay's
//! `get_enabled_notification`: `number_of_failures < 3`) until it is reset; a delivery resets
//! the count, as Quay's worker does.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::names::{Email, NamespaceName};

pub mod template;

/// Failed deliveries in a row after which a notification stops firing (Quay's limit).
pub const MAX_FAILURES: u32 = 3;
/// The longest title.
pub const MAX_TITLE_CHARS: usize = 255;
/// The largest `config` or `eventConfig`, serialized.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;
/// The longest URL a webhook or Slack notification posts to.
pub const MAX_URL_CHARS: usize = 2048;
/// The longest error recorded of a failed delivery.
pub const MAX_ERROR_CHARS: usize = 1024;

pub fn stream(notification_id: Uuid) -> String {
    format!("repositorynotification-{notification_id}")
}

/// What a notification responds to (Quay's `ExternalNotificationEvent` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    RepoPush,
    RepoMirrorSyncStarted,
    RepoMirrorSyncSuccess,
    RepoMirrorSyncFailed,
    BuildQueued,
    BuildStart,
    BuildSuccess,
    BuildFailure,
    BuildCancelled,
    VulnerabilityFound,
    QuotaWarning,
}

impl NotificationEvent {
    pub const ALL: [NotificationEvent; 11] = [
        NotificationEvent::RepoPush,
        NotificationEvent::RepoMirrorSyncStarted,
        NotificationEvent::RepoMirrorSyncSuccess,
        NotificationEvent::RepoMirrorSyncFailed,
        NotificationEvent::BuildQueued,
        NotificationEvent::BuildStart,
        NotificationEvent::BuildSuccess,
        NotificationEvent::BuildFailure,
        NotificationEvent::BuildCancelled,
        NotificationEvent::VulnerabilityFound,
        NotificationEvent::QuotaWarning,
    ];

    pub fn as_str(self) -> &'static str {
        use NotificationEvent::*;
        match self {
            RepoPush => "repo_push",
            RepoMirrorSyncStarted => "repo_mirror_sync_started",
            RepoMirrorSyncSuccess => "repo_mirror_sync_success",
            RepoMirrorSyncFailed => "repo_mirror_sync_failed",
            BuildQueued => "build_queued",
            BuildStart => "build_start",
            BuildSuccess => "build_success",
            BuildFailure => "build_failure",
            BuildCancelled => "build_cancelled",
            VulnerabilityFound => "vulnerability_found",
            QuotaWarning => "quota_warning",
        }
    }

    /// Quay's message for an unknown event names the known ones, sorted.
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == name)
            .ok_or_else(|| {
                let mut names: Vec<&str> = Self::ALL.iter().map(|e| e.as_str()).collect();
                names.sort();
                DomainError::InvalidArgument(format!(
                    "Invalid event '{}'. Must be one of: {}",
                    name.chars().take(64).collect::<String>(),
                    names.join(", ")
                ))
            })
    }

    fn is_build(self) -> bool {
        use NotificationEvent::*;
        matches!(
            self,
            BuildQueued | BuildStart | BuildSuccess | BuildFailure | BuildCancelled
        )
    }
}

/// How a notification is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationMethod {
    Webhook,
    Slack,
    Email,
    QuayNotification,
}

impl NotificationMethod {
    pub const ALL: [NotificationMethod; 4] = [
        NotificationMethod::Webhook,
        NotificationMethod::Slack,
        NotificationMethod::Email,
        NotificationMethod::QuayNotification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationMethod::Webhook => "webhook",
            NotificationMethod::Slack => "slack",
            NotificationMethod::Email => "email",
            NotificationMethod::QuayNotification => "quay_notification",
        }
    }

    pub fn parse(name: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| {
                DomainError::InvalidArgument(format!(
                    "Unknown notification method '{}'",
                    name.chars().take(64).collect::<String>()
                ))
            })
    }
}

/// Whom a `quay_notification` goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    User,
    Org,
    Team,
}

/// The `target` of a `quay_notification` config: `{kind, name}`.
pub fn quay_target(config: &Value) -> Result<(TargetKind, &str), DomainError> {
    let bad = |m: &str| Err(DomainError::InvalidArgument(m.to_owned()));
    let Some(target) = config.get("target").filter(|t| t.is_object()) else {
        return bad("Missing target");
    };
    let kind = match target.get("kind").and_then(Value::as_str) {
        Some("user") => TargetKind::User,
        Some("org") => TargetKind::Org,
        Some("team") => TargetKind::Team,
        Some("") | None => return bad("Missing target"),
        Some(_) => return bad("Invalid target kind"),
    };
    match target.get("name").and_then(Value::as_str) {
        Some(name) if !name.is_empty() && name.len() <= 255 => Ok((kind, name)),
        _ => bad("Missing target name"),
    }
}

/// An `http` or `https` URL with a host that is not in `blocked_hosts` (Quay's
/// `WEBHOOK_HOSTNAME_BLACKLIST`, `localhost` and `127.0.0.1` by default).
fn check_url(url: &str, blocked_hosts: &[String], what: &str) -> Result<(), DomainError> {
    let invalid = || Err(DomainError::InvalidArgument(format!("Invalid {what} URL")));
    if url.chars().count() > MAX_URL_CHARS
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return invalid();
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return invalid();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || blocked_hosts.iter().any(|b| b.eq_ignore_ascii_case(host)) {
        return invalid();
    }
    Ok(())
}

/// Checks a method's `config` as Quay's `NotificationMethod.validate` does. The existence of a
/// `quay_notification` target is the caller's to check (it reads the accounts).
pub fn validate_config(
    method: NotificationMethod,
    config: &Value,
    blocked_hosts: &[String],
) -> Result<(), DomainError> {
    let bad = |m: &str| Err(DomainError::InvalidArgument(m.to_owned()));
    if !config.is_object() {
        return bad("config must be an object");
    }
    if config.to_string().len() > MAX_CONFIG_BYTES {
        return bad("config is too large");
    }
    let text = |key: &str| config.get(key).and_then(Value::as_str).unwrap_or_default();
    match method {
        NotificationMethod::Webhook => {
            let url = text("url");
            if url.is_empty() {
                return bad("Missing webhook URL");
            }
            check_url(url, blocked_hosts, "webhook")?;
            match config.get("template") {
                None | Some(Value::Null) => {}
                Some(Value::String(t)) if t.is_empty() => {}
                Some(Value::String(t)) => {
                    template::Template::parse(t).map_err(DomainError::InvalidArgument)?;
                }
                Some(_) => return bad("Could not parse template: the template must be a string"),
            }
        }
        NotificationMethod::Slack => {
            let url = text("url");
            if url.is_empty() {
                return bad("Missing Slack Callback URL");
            }
            check_url(url, blocked_hosts, "Slack Callback")?;
        }
        NotificationMethod::Email => {
            let email = text("email");
            if email.is_empty() {
                return bad("Missing e-mail address");
            }
            Email::parse(email)?;
        }
        NotificationMethod::QuayNotification => {
            quay_target(config)?;
        }
    }
    Ok(())
}

/// Checks an `eventConfig`: `ref-regex` (build events) must compile, `level` (vulnerability
/// events) must be one of Quay's priority indexes (0, Critical, to 5, Unknown).
pub fn validate_event_config(event: NotificationEvent, config: &Value) -> Result<(), DomainError> {
    let bad = |m: String| Err(DomainError::InvalidArgument(m));
    if !config.is_object() {
        return bad("eventConfig must be an object".into());
    }
    if config.to_string().len() > MAX_CONFIG_BYTES {
        return bad("eventConfig is too large".into());
    }
    match config.get("ref-regex") {
        None | Some(Value::Null) => {}
        Some(Value::String(r)) if r.is_empty() => {}
        Some(Value::String(r)) if event.is_build() => {
            if let Err(e) = regex::RegexBuilder::new(r).size_limit(1 << 20).build() {
                return bad(format!("Invalid regular expression for ref-regex: {e}"));
            }
        }
        Some(Value::String(_)) => {}
        Some(_) => return bad("ref-regex must be a string".into()),
    }
    if let Some(level) = config.get("level").filter(|l| !l.is_null()) {
        let index = match level {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        if index.is_none_or(|i| i > 5) {
            return bad("Invalid vulnerability level: must be a priority index from 0 to 5".into());
        }
    }
    Ok(())
}

/// What a new notification is.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationSpec {
    pub event: NotificationEvent,
    pub method: NotificationMethod,
    pub title: Option<String>,
    pub config: Value,
    pub event_config: Value,
}

impl NotificationSpec {
    pub fn validate(&self, blocked_hosts: &[String]) -> Result<(), DomainError> {
        if let Some(title) = &self.title
            && (title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control))
        {
            return Err(DomainError::InvalidArgument(format!(
                "title must be at most {MAX_TITLE_CHARS} characters without control characters"
            )));
        }
        validate_config(self.method, &self.config, blocked_hosts)?;
        validate_event_config(self.event, &self.event_config)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepositoryNotification {
    pub id: Option<Uuid>,
    pub repository_id: Option<Uuid>,
    pub event: Option<NotificationEvent>,
    pub method: Option<NotificationMethod>,
    pub number_of_failures: u32,
    pub deleted: bool,
}

impl RepositoryNotification {
    pub fn is_live(&self) -> bool {
        self.id.is_some() && !self.deleted
    }

    /// Fires only below Quay's failure limit.
    pub fn is_enabled(&self) -> bool {
        self.is_live() && self.number_of_failures < MAX_FAILURES
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NotificationCommand {
    Create {
        notification_id: Uuid,
        repository_id: Uuid,
        spec: NotificationSpec,
        /// Hosts webhooks may not post to (configuration, not recorded).
        blocked_hosts: Vec<String>,
    },
    Delete,
    /// Sets the failure count back to 0, enabling a disabled notification.
    Reset,
    /// Queues one delivery of the event's sample data.
    QueueTest,
    /// The delivery for `source` (the event that triggered it) arrived; `recipients` names
    /// the users a `quay_notification` went to.
    RecordDelivery {
        source: Source,
        recipients: Vec<String>,
    },
    /// One attempt at the delivery for `source` failed.
    RecordFailure {
        source: Source,
        error: String,
    },
}

/// The event of the log that a delivery answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub event_id: Uuid,
    pub position: u64,
}

impl Aggregate for RepositoryNotification {
    fn evolve(mut self, event: &DomainEvent) -> Self {
        use DomainEvent::*;
        match event {
            RepositoryNotificationCreated {
                notification_id,
                repository_id,
                event,
                method,
                ..
            } => {
                self.id = Some(*notification_id);
                self.repository_id = Some(*repository_id);
                self.event = Some(*event);
                self.method = Some(*method);
            }
            RepositoryNotificationDeleted { .. } => self.deleted = true,
            RepositoryNotificationReset { .. } | RepositoryNotificationDelivered { .. } => {
                self.number_of_failures = 0
            }
            RepositoryNotificationFailed {
                number_of_failures, ..
            } => self.number_of_failures = *number_of_failures,
            _ => {}
        }
        self
    }
}

pub fn decide(
    state: &RepositoryNotification,
    command: &NotificationCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    let live = || match (state.id, state.repository_id, state.event, state.method) {
        (Some(id), Some(repo), Some(event), Some(method)) if !state.deleted => {
            Ok((id, repo, event, method))
        }
        _ => Err(DomainError::NotFound(
            "No repository notification found".into(),
        )),
    };
    Ok(match command {
        NotificationCommand::Create {
            notification_id,
            repository_id,
            spec,
            blocked_hosts,
        } => {
            if state.id.is_some() {
                return Err(DomainError::AlreadyExists("the notification exists".into()));
            }
            spec.validate(blocked_hosts)?;
            vec![DomainEvent::RepositoryNotificationCreated {
                notification_id: *notification_id,
                repository_id: *repository_id,
                event: spec.event,
                method: spec.method,
                title: spec.title.clone(),
                config: spec.config.clone(),
                event_config: spec.event_config.clone(),
            }]
        }
        NotificationCommand::Delete => {
            let (notification_id, repository_id, event, method) = live()?;
            vec![DomainEvent::RepositoryNotificationDeleted {
                notification_id,
                repository_id,
                event,
                method,
            }]
        }
        NotificationCommand::Reset => {
            let (notification_id, repository_id, event, method) = live()?;
            vec![DomainEvent::RepositoryNotificationReset {
                notification_id,
                repository_id,
                event,
                method,
                previous_failures: state.number_of_failures,
            }]
        }
        NotificationCommand::QueueTest => {
            let (notification_id, repository_id, event, method) = live()?;
            vec![DomainEvent::RepositoryNotificationTestQueued {
                notification_id,
                repository_id,
                event,
                method,
            }]
        }
        // A notification deleted or disabled meanwhile records nothing more.
        NotificationCommand::RecordDelivery { source, recipients } => {
            let Ok((notification_id, repository_id, event, method)) = live() else {
                return Ok(vec![]);
            };
            if !state.is_enabled() {
                return Ok(vec![]);
            }
            vec![DomainEvent::RepositoryNotificationDelivered {
                notification_id,
                repository_id,
                event,
                method,
                source_event_id: source.event_id,
                source_position: source.position,
                recipients: recipients.clone(),
            }]
        }
        NotificationCommand::RecordFailure { source, error } => {
            let Ok((notification_id, repository_id, event, method)) = live() else {
                return Ok(vec![]);
            };
            if !state.is_enabled() {
                return Ok(vec![]);
            }
            let number_of_failures = state.number_of_failures + 1;
            vec![DomainEvent::RepositoryNotificationFailed {
                notification_id,
                repository_id,
                event,
                method,
                source_event_id: source.event_id,
                source_position: source.position,
                error: error.chars().take(MAX_ERROR_CHARS).collect(),
                number_of_failures,
                disabled: number_of_failures >= MAX_FAILURES,
            }]
        }
    })
}

/// Quay's `build_repository_event_data`: what every repository event's payload starts with.
pub fn repository_event_data(
    namespace: &str,
    name: &str,
    registry_host: &str,
    public_url: &str,
) -> serde_json::Map<String, Value> {
    let repo = format!("{namespace}/{name}");
    let mut data = serde_json::Map::new();
    data.insert("repository".into(), repo.clone().into());
    data.insert("namespace".into(), namespace.into());
    data.insert("name".into(), name.into());
    data.insert(
        "docker_url".into(),
        format!("{registry_host}/{repo}").into(),
    );
    data.insert(
        "homepage".into(),
        format!("{}/repository/{repo}", public_url.trim_end_matches('/')).into(),
    );
    data
}

/// Quay's `get_sample_data` per event: what a test notification carries beyond the
/// repository's fields.
pub fn sample_data(event: NotificationEvent, namespace: &NamespaceName) -> Value {
    use NotificationEvent::*;
    use serde_json::json;
    let trigger = json!({
        "default_branch": "master",
        "ref": "refs/heads/somebranch",
        "commit": "42d4a62c53350993ea41069e9f2cfdefb0df097d",
    });
    let build = |extra: Value| {
        let mut base = json!({
            "build_id": "fake-build-id",
            "build_name": "some-fake-build",
            "docker_tags": ["latest", "foo", "bar"],
            "trigger_id": "1245634",
            "trigger_kind": "GitHub",
            "trigger_metadata": trigger.clone(),
        });
        if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
            b.extend(e);
        }
        base
    };
    match event {
        RepoPush => json!({"updated_tags": ["latest", "foo"], "pruned_image_count": 3}),
        RepoMirrorSyncStarted | RepoMirrorSyncSuccess | RepoMirrorSyncFailed => {
            json!({"message": "TEST NOTIFICATION"})
        }
        BuildQueued => build(json!({"is_manual": false})),
        BuildStart => build(json!({})),
        BuildSuccess | BuildCancelled => build(json!({"image_id": "1245657346"})),
        BuildFailure => build(json!({"error_message": "This is a fake error message"})),
        VulnerabilityFound => json!({
            "tags": ["latest", "prod", "foo", "bar", "baz"],
            "image": "some-image-id",
            "vulnerability": {
                "id": "CVE-FAKE-CVE",
                "description": "A futurist vulnerability",
                "link": "https://security-tracker.debian.org/tracker/CVE-FAKE-CVE",
                "priority": "Critical",
            },
        }),
        QuotaWarning => json!({
            "namespace": namespace.as_str(),
            "threshold_percent": 80,
            "usage_bytes": 858993459u64,
            "limit_bytes": 1073741824u64,
        }),
    }
}

/// Quay's level of an event (`get_level`), which Slack turns into a colour.
pub fn level(event: NotificationEvent, data: &Value) -> &'static str {
    use NotificationEvent::*;
    match event {
        RepoPush => "primary",
        RepoMirrorSyncStarted | BuildQueued | BuildStart | BuildCancelled => "info",
        RepoMirrorSyncSuccess | BuildSuccess => "success",
        RepoMirrorSyncFailed | BuildFailure => "error",
        QuotaWarning => "warning",
        VulnerabilityFound => match data
            .pointer("/vulnerability/priority")
            .and_then(Value::as_str)
        {
            Some("Critical") => "error",
            Some("Medium" | "High") => "warning",
            _ => "info",
        },
    }
}

/// Quay's one-line summary of an event (`get_summary`): the e-mail subject, Slack's text.
pub fn summary(event: NotificationEvent, data: &Value) -> String {
    use NotificationEvent::*;
    let s = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let build = |what: &str| {
        let id: String = s("build_id").chars().take(7).collect();
        format!("{what} for repository {} [{id}]", s("repository"))
    };
    match event {
        RepoPush => format!("Repository {} updated", s("repository")),
        RepoMirrorSyncStarted => format!("Repository Mirror started for {}", s("message")),
        RepoMirrorSyncSuccess => format!("Repository Mirror success for {}", s("message")),
        RepoMirrorSyncFailed => format!("Repository Mirror failed for {}", s("message")),
        BuildQueued => build("Build queued"),
        BuildStart => build("Build started"),
        BuildSuccess => build("Build succeeded"),
        BuildFailure => build("Build failure"),
        BuildCancelled => build("Build cancelled"),
        VulnerabilityFound => format!(
            "{} vulnerability detected in repository {} in {} tags",
            data.pointer("/vulnerability/priority")
                .and_then(Value::as_str)
                .unwrap_or("Unknown"),
            s("repository"),
            data.get("tags")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        ),
        QuotaWarning => format!(
            "Namespace {} storage usage has reached {}% of its quota limit",
            s("namespace"),
            data.get("threshold_percent")
                .cloned()
                .unwrap_or(Value::Null)
        ),
    }
}

/// Whether a notification with `event_config` fires for this occurrence (Quay's
/// `should_perform`): build events with a `ref-regex` only for a matching git ref;
/// vulnerability events with a `level` only at that priority or above.
pub fn should_perform(event: NotificationEvent, event_config: &Value, data: &Value) -> bool {
    if event.is_build() {
        let Some(re) = event_config
            .get("ref-regex")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        else {
            return true;
        };
        let Some(reference) = data
            .pointer("/trigger_metadata/ref")
            .and_then(Value::as_str)
        else {
            return false;
        };
        return regex::Regex::new(&format!("^(?:{re})")).is_ok_and(|r| r.is_match(reference));
    }
    if event == NotificationEvent::VulnerabilityFound
        && let Some(level) = event_config.get("level").filter(|l| !l.is_null())
    {
        let wanted = match level {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        let index = match data
            .pointer("/vulnerability/priority")
            .and_then(Value::as_str)
        {
            Some("Critical") => 0,
            Some("High") => 1,
            Some("Medium") => 2,
            Some("Low") => 3,
            Some("Negligible") => 4,
            Some("Unknown") => 5,
            _ => return false,
        };
        return wanted.is_some_and(|w| index <= w);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn blocked() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into()]
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for e in NotificationEvent::ALL {
            assert_eq!(NotificationEvent::parse(e.as_str()).unwrap(), e);
            assert_eq!(serde_json::to_value(e).unwrap(), json!(e.as_str()));
        }
        for m in NotificationMethod::ALL {
            assert_eq!(NotificationMethod::parse(m.as_str()).unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
        let e = NotificationEvent::parse("repo_pull")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("Invalid event 'repo_pull'. Must be one of: build_cancelled"));
        assert_eq!(
            NotificationMethod::parse("pager").unwrap_err().to_string(),
            "Unknown notification method 'pager'"
        );
    }

    #[test]
    fn method_configs_are_checked_as_quay_does() {
        use NotificationMethod::*;
        let ok = |m, c: Value| validate_config(m, &c, &blocked()).is_ok();
        let err = |m, c: Value| validate_config(m, &c, &blocked()).unwrap_err().to_string();
        assert!(ok(Webhook, json!({"url": "https://example.com/hook"})));
        assert_eq!(err(Webhook, json!({})), "Missing webhook URL");
        assert_eq!(
            err(Webhook, json!({"url": "ftp://x/y"})),
            "Invalid webhook URL"
        );
        assert_eq!(
            err(Webhook, json!({"url": "http://localhost:80/"})),
            "Invalid webhook URL"
        );
        assert_eq!(
            err(Webhook, json!({"url": "http://127.0.0.1/"})),
            "Invalid webhook URL"
        );
        assert!(ok(
            Webhook,
            json!({"url": "http://example.com", "template": "{\"t\": \"${updated_tags}\"}"})
        ));
        assert!(
            err(
                Webhook,
                json!({"url": "http://example.com", "template": "{"})
            )
            .starts_with("Could not parse template")
        );
        assert_eq!(err(Slack, json!({})), "Missing Slack Callback URL");
        assert_eq!(
            err(Slack, json!({"url": "x"})),
            "Invalid Slack Callback URL"
        );
        assert_eq!(err(Email, json!({})), "Missing e-mail address");
        assert!(err(Email, json!({"email": "not an address"})).contains("email"));
        assert!(ok(Email, json!({"email": "ops@example.com"})));
        assert_eq!(err(QuayNotification, json!({})), "Missing target");
        assert!(ok(
            QuayNotification,
            json!({"target": {"kind": "user", "name": "a"}})
        ));
        assert_eq!(err(Webhook, json!("https://x")), "config must be an object");
    }

    #[test]
    fn event_configs_are_checked() {
        use NotificationEvent::*;
        assert!(
            validate_event_config(BuildSuccess, &json!({"ref-regex": "refs/heads/.*"})).is_ok()
        );
        assert!(validate_event_config(BuildSuccess, &json!({"ref-regex": "(["})).is_err());
        assert!(validate_event_config(VulnerabilityFound, &json!({"level": 3})).is_ok());
        assert!(validate_event_config(VulnerabilityFound, &json!({"level": "2"})).is_ok());
        assert!(validate_event_config(VulnerabilityFound, &json!({"level": 9})).is_err());
        assert!(validate_event_config(VulnerabilityFound, &json!({"level": -1})).is_err());
        assert!(validate_event_config(RepoPush, &json!([])).is_err());
        assert!(should_perform(
            BuildStart,
            &json!({"ref-regex": "refs/heads/some.*"}),
            &sample_data(BuildStart, &NamespaceName::parse("acme").unwrap())
        ));
        assert!(!should_perform(
            BuildStart,
            &json!({"ref-regex": "refs/tags/.*"}),
            &sample_data(BuildStart, &NamespaceName::parse("acme").unwrap())
        ));
    }

    #[test]
    fn three_failures_disable_until_reset_and_a_delivery_clears_the_count() {
        let id = Uuid::from_u128(1);
        let created = decide(
            &RepositoryNotification::default(),
            &NotificationCommand::Create {
                notification_id: id,
                repository_id: Uuid::from_u128(2),
                spec: NotificationSpec {
                    event: NotificationEvent::RepoPush,
                    method: NotificationMethod::Webhook,
                    title: None,
                    config: json!({"url": "https://example.com"}),
                    event_config: json!({}),
                },
                blocked_hosts: blocked(),
            },
        )
        .unwrap();
        let mut state = RepositoryNotification::from_history(&created);
        let source = Source {
            event_id: Uuid::from_u128(9),
            position: 5,
        };
        let fail = NotificationCommand::RecordFailure {
            source,
            error: "500".into(),
        };
        for n in 1..=MAX_FAILURES {
            let events = decide(&state, &fail).unwrap();
            match &events[0] {
                DomainEvent::RepositoryNotificationFailed {
                    number_of_failures,
                    disabled,
                    ..
                } => {
                    assert_eq!(*number_of_failures, n);
                    assert_eq!(*disabled, n == MAX_FAILURES);
                }
                other => panic!("{other:?}"),
            }
            state = state.evolve(&events[0]);
        }
        assert!(!state.is_enabled());
        assert!(decide(&state, &fail).unwrap().is_empty());
        let reset = decide(&state, &NotificationCommand::Reset).unwrap();
        state = state.evolve(&reset[0]);
        assert!(state.is_enabled());
        let failed = decide(&state, &fail).unwrap();
        state = state.evolve(&failed[0]);
        let delivered = decide(
            &state,
            &NotificationCommand::RecordDelivery {
                source,
                recipients: vec![],
            },
        )
        .unwrap();
        state = state.evolve(&delivered[0]);
        assert_eq!(state.number_of_failures, 0);
        let deleted = decide(&state, &NotificationCommand::Delete).unwrap();
        state = state.evolve(&deleted[0]);
        assert!(decide(&state, &NotificationCommand::Reset).is_err());
        assert!(decide(&state, &fail).unwrap().is_empty());
    }
}
