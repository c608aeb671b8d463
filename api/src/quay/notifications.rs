//! `/repository/{repository}/notification/...`: Quay's repository notifications, for the
//! repository's administrators (the check is `repositories::dispatch`'s). Shapes, codes and
//! messages as Quay's `endpoints/api/repositorynotification.py`; what a notification may be is
//! decided in `annals_domain::notification`, and the delivery worker
//! (`annals_workers::notifications`) sends them.

use annals_domain::notification::{
    NotificationCommand, NotificationEvent, NotificationMethod, NotificationSpec, TargetKind,
    quay_target,
};
use annals_domain::{DomainError, NamespaceName};
use annals_projections::queries::repositories::RepositoryView;
use annals_projections::queries::repository_notifications::{self, NotificationView};
use annals_projections::queries::{namespaces, teams};
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson};
use super::repositories::{self, RepoPath};
use crate::state::AppState;
use annals_commands::CommandError;

/// The notification route a path names: the list, one notification, or its test.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPath {
    pub uuid: Option<String>,
    pub test: bool,
}

impl NotificationPath {
    /// Splits `namespace/name/notification[/{uuid}[/test]]`; the repository part must be
    /// `namespace/name` when `strict`, a single segment otherwise.
    pub fn parse(rest: &str, strict: bool) -> Option<(String, NotificationPath)> {
        let segs: Vec<&str> = rest.split('/').collect();
        let n = segs.len();
        let at = |i: usize| (n > i).then(|| segs[n - 1 - i]);
        let reading = |keep: usize, path: NotificationPath| {
            let repo = segs[..n - keep].join("/");
            (!repo.is_empty() && repo.contains('/') == strict).then_some((repo, path))
        };
        let owned = |i: usize| at(i).map(str::to_owned);
        let candidates = [
            (at(2) == Some("notification") && at(0) == Some("test")).then(|| {
                (
                    3,
                    NotificationPath {
                        uuid: owned(1),
                        test: true,
                    },
                )
            }),
            (at(1) == Some("notification")).then(|| {
                (
                    2,
                    NotificationPath {
                        uuid: owned(0),
                        test: false,
                    },
                )
            }),
            (at(0) == Some("notification")).then_some((
                1,
                NotificationPath {
                    uuid: None,
                    test: false,
                },
            )),
        ];
        candidates
            .into_iter()
            .flatten()
            .find_map(|(keep, path)| reading(keep, path))
    }

    pub fn allows(&self, method: &Method) -> bool {
        match (&self.uuid, self.test) {
            (None, _) => matches!(*method, Method::GET | Method::POST),
            (Some(_), false) => matches!(*method, Method::GET | Method::DELETE | Method::POST),
            (Some(_), true) => method == Method::POST,
        }
    }
}

/// `NotificationCreateRequest`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewNotification {
    /// The event on which the notification will respond (`repo_push`, `build_success`, ...).
    #[schema(
        pattern = "^(repo_push|repo_mirror_sync_started|repo_mirror_sync_success|repo_mirror_sync_failed|build_queued|build_start|build_success|build_failure|build_cancelled|vulnerability_found|quota_warning)$"
    )]
    pub event: String,
    /// The method of notification (`webhook`, `slack`, `email`, `quay_notification`).
    #[schema(pattern = "^(webhook|slack|email|quay_notification)$")]
    pub method: String,
    /// JSON config information for the specific method of notification (`url` and optional
    /// `template` for `webhook`, `url` for `slack`, `email` for `email`, `target {kind, name}`
    /// for `quay_notification`).
    #[schema(value_type = Object)]
    pub config: Value,
    /// JSON config information for the specific event of notification (`ref-regex` of build
    /// events, `level` of `vulnerability_found`).
    #[serde(rename = "eventConfig")]
    #[schema(value_type = Object)]
    pub event_config: Value,
    /// The human-readable title of the notification.
    #[schema(max_length = 255)]
    pub title: Option<String>,
}

/// A repository notification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationBody {
    pub uuid: String,
    pub title: Option<String>,
    pub event: String,
    pub method: String,
    #[schema(value_type = Object)]
    pub config: Value,
    #[schema(value_type = Object)]
    pub event_config: Value,
    pub number_of_failures: u64,
}

/// `{notifications: [...]}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    pub notifications: Vec<NotificationBody>,
}

/// `{}`: the test was queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestQueued {}

fn body(view: NotificationView) -> NotificationBody {
    let object = |v: Value| {
        if v.is_object() {
            v
        } else {
            Value::Object(Default::default())
        }
    };
    NotificationBody {
        uuid: view.id.to_string(),
        title: view.title,
        event: view.event,
        method: view.method,
        config: object(view.config),
        event_config: object(view.event_config),
        number_of_failures: view.number_of_failures,
    }
}

/// Checks that a `quay_notification` target exists, with Quay's messages.
async fn check_target(
    state: &AppState,
    repo: &RepositoryView,
    config: &Value,
) -> Result<(), QuayError> {
    let (kind, name) = quay_target(config)?;
    let db = state.db();
    let account = || {
        let db = db.clone();
        async move {
            match NamespaceName::parse(name) {
                Ok(n) => namespaces::by_name(db.as_ref(), n.as_str()).await,
                Err(_) => Ok(None),
            }
        }
    };
    let found = match kind {
        TargetKind::User => account()
            .await?
            .filter(|n| !n.is_organization())
            .ok_or_else(|| format!("Unknown user {name}")),
        TargetKind::Org => match account().await?.filter(|n| n.is_organization()) {
            None => Err(format!("Unknown organization {name}")),
            Some(_) if name != repo.namespace => {
                Err("Organization name must match repository namespace".to_owned())
            }
            Some(n) => Ok(n),
        },
        TargetKind::Team => {
            return match teams::get(db.as_ref(), repo.namespace_id, name).await? {
                Some(_) => Ok(()),
                None => Err(QuayError::invalid_request(format!("Unknown team {name}"))),
            };
        }
    };
    found.map(|_| ()).map_err(QuayError::invalid_request)
}

/// List the notifications for the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/notification/", operation_id = "listRepoNotifications", tag = "repositorynotification",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{notifications: [{uuid, title, event, method, config, event_config, number_of_failures}]}`", body = NotificationList)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
) -> Result<Json<NotificationList>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let notifications = repository_notifications::of_repository(state.db().as_ref(), repo.id)
        .await?
        .into_iter()
        .map(body)
        .collect();
    Ok(Json(NotificationList { notifications }))
}

/// Create a notification for the specified repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/notification/", operation_id = "createRepoNotification", tag = "repositorynotification",
    request_body = NewNotification,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 201, description = "The notification", body = NotificationBody),
        (status = 400, description = "Unknown event or method, or a config the method refuses")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(new): QuayJson<NewNotification>,
) -> Result<(StatusCode, Json<NotificationBody>), QuayError> {
    let event = NotificationEvent::parse(&new.event)?;
    let method = NotificationMethod::parse(&new.method)?;
    let spec = NotificationSpec {
        event,
        method,
        title: new.title.filter(|t| !t.is_empty()),
        config: new.config,
        event_config: new.event_config,
    };
    // Everything the domain checks without reading, before the target lookup.
    spec.validate(&state.notification_blocked_hosts)?;
    let repo = repositories::find(&state, &path).await?;
    if method == NotificationMethod::QuayNotification {
        check_target(&state, &repo, &spec.config).await?;
    }
    let (id, done) = state
        .commands
        .create_repository_notification(
            &ctx.envelope,
            &path.parse()?,
            spec.clone(),
            state.notification_blocked_hosts.to_vec(),
        )
        .await?;
    state.settle(&done).await;
    Ok((
        StatusCode::CREATED,
        Json(NotificationBody {
            uuid: id.to_string(),
            title: spec.title,
            event: event.as_str().to_owned(),
            method: method.as_str().to_owned(),
            config: spec.config,
            event_config: spec.event_config,
            number_of_failures: 0,
        }),
    ))
}

fn uuid_of(p: &NotificationPath) -> Option<Uuid> {
    p.uuid.as_deref().and_then(|u| Uuid::parse_str(u).ok())
}

/// Get information for the specified notification.
#[utoipa::path(get, path = "/api/v1/repository/{repository}/notification/{uuid}", operation_id = "getRepoNotification", tag = "repositorynotification",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("uuid" = String, Path, description = "The UUID of the notification")),
    responses((status = 200, description = "The notification", body = NotificationBody)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<NotificationPath>,
) -> Result<Json<NotificationBody>, QuayError> {
    let repo = repositories::find(&state, &path).await?;
    let not_found = || {
        QuayError::not_found(format!(
            "No repository notification found with uuid: {}",
            p.uuid.as_deref().unwrap_or_default()
        ))
    };
    let id = uuid_of(&p).ok_or_else(not_found)?;
    repository_notifications::get(state.db().as_ref(), repo.id, id)
        .await?
        .map(|v| Json(body(v)))
        .ok_or_else(not_found)
}

/// Runs `command` on the notification the path names; an unknown one is Quay's 400
/// `No repository notification found for: <namespace>, <repository>, <uuid>`.
async fn on_notification(
    state: &AppState,
    ctx: &Ctx,
    path: &RepoPath,
    p: &NotificationPath,
    command: NotificationCommand,
) -> Result<(), QuayError> {
    let target = path.parse()?;
    let missing = || {
        QuayError::invalid_request(format!(
            "No repository notification found for: {}, {}, {}",
            target.namespace,
            target.name,
            p.uuid.as_deref().unwrap_or_default()
        ))
    };
    repositories::find(state, path).await?;
    let id = uuid_of(p).ok_or_else(missing)?;
    match state
        .commands
        .repository_notification_command(&ctx.envelope, &target, id, command)
        .await
    {
        Ok(done) => {
            state.settle(&done).await;
            Ok(())
        }
        Err(CommandError::Domain(DomainError::NotFound(_))) => Err(missing()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the specified notification.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}/notification/{uuid}", operation_id = "deleteRepoNotification", tag = "repositorynotification",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("uuid" = String, Path, description = "The UUID of the notification")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "No such notification")))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<NotificationPath>,
) -> Result<StatusCode, QuayError> {
    on_notification(&state, &ctx, &path, &p, NotificationCommand::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resets repository notification to 0 failures.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/notification/{uuid}", operation_id = "resetRepositoryNotificationFailures", tag = "repositorynotification",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("uuid" = String, Path, description = "The UUID of the notification")),
    responses((status = 204, description = "Reset"), (status = 400, description = "No such notification")))]
pub async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<NotificationPath>,
) -> Result<StatusCode, QuayError> {
    on_notification(&state, &ctx, &path, &p, NotificationCommand::Reset).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a test notification for this repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/notification/{uuid}/test", operation_id = "testRepoNotification", tag = "repositorynotification",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"), ("uuid" = String, Path, description = "The UUID of the notification")),
    responses((status = 200, description = "`{}`: queued", body = TestQueued), (status = 400, description = "No such notification")))]
pub async fn test(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    Extension(p): Extension<NotificationPath>,
) -> Result<Json<TestQueued>, QuayError> {
    on_notification(&state, &ctx, &path, &p, NotificationCommand::QueueTest).await?;
    Ok(Json(TestQueued {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = |rest: &str| NotificationPath::parse(rest, true);
        assert_eq!(
            p("acme/web/notification"),
            Some((
                "acme/web".into(),
                NotificationPath {
                    uuid: None,
                    test: false
                }
            ))
        );
        assert_eq!(
            p("acme/web/notification/abc"),
            Some((
                "acme/web".into(),
                NotificationPath {
                    uuid: Some("abc".into()),
                    test: false
                }
            ))
        );
        assert_eq!(
            p("acme/web/notification/abc/test"),
            Some((
                "acme/web".into(),
                NotificationPath {
                    uuid: Some("abc".into()),
                    test: true
                }
            ))
        );
        assert_eq!(p("acme/notification"), None);
        assert!(NotificationPath::parse("acme/notification", false).is_some());
    }
}
