//! `/api/v1/repository...`: create, list, read, update, change visibility and state, delete.
//!
//! Quay addresses a repository as `{repository}` = `namespace/name`, and names may contain `/`,
//! so one wildcard route takes everything under `/api/v1/repository/` and [`dispatch`] splits
//! off the action suffix (`changevisibility`, `changestate`, `logs`, `aggregatelogs`,
//! `exportlogs`).

use annals_commands::{CreateRepository, RepositoryRef};
use annals_projections::queries::access::Viewer;
use annals_projections::queries::content;
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::repositories::{self, ListFilter, RepositoryView};
use annals_projections::queries::stars;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use annals_domain::access::{Denial, Need, RepositoryStanding, Subject, allows};
use axum::http::request::Parts;

use super::error::QuayError;
use super::extract::{Ctx, QuayJson, QuayQuery};
use super::guard::MaybeCaller;
use super::{autoprune, images, log_exports, logs, manifests, permissions, repo_tokens, tags};
// Repository notifications.
use super::notifications::{self, NotificationPath};
// Repository mirroring.
use super::mirror;
use crate::access::guard::{self, Attempt, NamespaceAccess, RepoAccess};
use crate::access::{Caller, resolve};
use crate::state::AppState;

/// Repositories per list page, as Quay.
const PAGE: usize = 100;

/// The `namespace/name` part of a repository route.
#[derive(Debug, Clone)]
pub struct RepoPath(pub String);

impl RepoPath {
    pub fn parse(&self) -> Result<RepositoryRef, QuayError> {
        Ok(RepositoryRef::parse(&self.0)?)
    }
}

/// What a repository route asks for: a repository action (`""` for the repository itself,
/// `changevisibility`, `changestate`, `logs`, `aggregatelogs`) or a content route.
#[derive(Debug, PartialEq)]
enum Target {
    Repository(&'static str),
    Content(ContentRoute),
    Permission(permissions::PermissionPath),
    /// The retired repository tokens: the list, or one by code.
    Tokens(Option<String>),
    /// Repository notifications: the list, one, or its test (all for administrators).
    Notification(NotificationPath),
    /// Auto-prune policies: the list, or one by uuid.
    Autoprune(Option<String>),
    /// The mirror configuration (`""`), `sync-now` or `sync-cancel`.
    Mirror(&'static str),
}

impl Target {
    /// What `method` on this target does to the repository: Quay reads with `read`, changes
    /// content with `write`, and changes settings or reads the logs with `admin`.
    fn access(&self, method: &Method) -> RepoAccess {
        match (self, method) {
            (_, &Method::GET) => match self {
                Target::Repository("logs" | "aggregatelogs")
                | Target::Permission(_)
                | Target::Tokens(_)
                | Target::Notification(_)
                | Target::Autoprune(_)
                | Target::Mirror(_) => RepoAccess::Admin,
                _ => RepoAccess::Read,
            },
            (Target::Permission(_) | Target::Tokens(_) | Target::Autoprune(_), _) => {
                RepoAccess::Admin
            }
            (Target::Repository(""), &Method::PUT) | (Target::Content(_), _) => RepoAccess::Write,
            _ => RepoAccess::Admin,
        }
    }

    /// Whether `method` is served on this target.
    fn allows(&self, method: &Method) -> bool {
        let m = method.clone();
        match self {
            Target::Repository(action) => matches!(
                (m, *action),
                (Method::GET | Method::PUT | Method::DELETE, "")
                    | (Method::POST, "changevisibility")
                    | (Method::PUT, "changestate")
                    | (Method::GET, "logs" | "aggregatelogs")
                    | (Method::POST, "exportlogs")
            ),
            Target::Permission(p) => p.allows(method),
            Target::Tokens(None) => matches!(m, Method::GET | Method::POST),
            Target::Tokens(Some(_)) => matches!(m, Method::GET | Method::PUT | Method::DELETE),
            Target::Notification(p) => p.allows(method),
            Target::Autoprune(None) => matches!(m, Method::GET | Method::POST),
            Target::Autoprune(Some(_)) => {
                matches!(m, Method::GET | Method::PUT | Method::DELETE)
            }
            Target::Mirror(action) => matches!(
                (m, *action),
                (Method::GET | Method::POST | Method::PUT, "")
                    | (Method::POST, "sync-now" | "sync-cancel")
            ),
            Target::Content(route) => match route {
                ContentRoute::Tags | ContentRoute::Images | ContentRoute::Image(..) => {
                    m == Method::GET
                }
                ContentRoute::Tag(_, action) => matches!(
                    (m, *action),
                    (Method::PUT | Method::DELETE, "")
                        | (Method::POST, "restore")
                        | (Method::GET, "images")
                ),
                ContentRoute::Manifest(_, action, _) => matches!(
                    (m, *action),
                    (Method::GET, "" | "labels" | "label" | "security")
                        | (Method::POST, "labels")
                        | (Method::DELETE, "label")
                ),
            },
        }
    }
}

/// The readings of `rest` (`{repository}[/{action}]`, percent-decoded), most specific first:
/// content routes and actions under a `namespace/name`, the whole as a repository, then the
/// same under a single segment (no such repository: its handler answers 404).
fn readings(rest: &str) -> Vec<(String, Target)> {
    let mut out = Vec::new();
    let action = |repo_needs_slash: bool| {
        rest.rsplit_once('/').and_then(|(repo, action)| {
            let action = match action {
                "changevisibility" => "changevisibility",
                "changestate" => "changestate",
                "logs" => "logs",
                "aggregatelogs" => "aggregatelogs",
                "exportlogs" => "exportlogs",
                _ => return None,
            };
            (repo.contains('/') == repo_needs_slash)
                .then(|| (repo.to_owned(), Target::Repository(action)))
        })
    };
    for strict in [true, false] {
        if let Some((repo, route)) = permissions::PermissionPath::parse(rest, strict) {
            out.push((repo, Target::Permission(route)));
        }
        out.extend(tokens_reading(rest, strict));
        if let Some((repo, route)) = NotificationPath::parse(rest, strict) {
            out.push((repo, Target::Notification(route)));
        }
        out.extend(autoprune_reading(rest, strict));
        out.extend(mirror_reading(rest, strict));
        if let Some((repo, route)) = ContentRoute::parse(rest, strict) {
            out.push((repo, Target::Content(route)));
        }
        out.extend(action(strict));
        if strict {
            out.push((rest.to_owned(), Target::Repository("")));
        }
    }
    out
}

/// `namespace/name/tokens[/{code}]`, the repository part `namespace/name` when `strict`.
fn tokens_reading(rest: &str, strict: bool) -> Option<(String, Target)> {
    let fits = |repo: &str| !repo.is_empty() && repo.contains('/') == strict;
    if let Some(repo) = rest.strip_suffix("/tokens").filter(|r| fits(r)) {
        return Some((repo.to_owned(), Target::Tokens(None)));
    }
    let (head, code) = rest.rsplit_once('/')?;
    let repo = head.strip_suffix("/tokens").filter(|r| fits(r))?;
    Some((repo.to_owned(), Target::Tokens(Some(code.to_owned()))))
}

/// `namespace/name/autoprunepolicy[/{uuid}]`, the repository part `namespace/name` when
/// `strict`. (The list's trailing `/` is trimmed before.)
fn autoprune_reading(rest: &str, strict: bool) -> Option<(String, Target)> {
    let fits = |repo: &str| !repo.is_empty() && repo.contains('/') == strict;
    if let Some(repo) = rest.strip_suffix("/autoprunepolicy").filter(|r| fits(r)) {
        return Some((repo.to_owned(), Target::Autoprune(None)));
    }
    let (head, uuid) = rest.rsplit_once('/')?;
    let repo = head.strip_suffix("/autoprunepolicy").filter(|r| fits(r))?;
    Some((repo.to_owned(), Target::Autoprune(Some(uuid.to_owned()))))
}

/// `namespace/name/mirror[/sync-now|/sync-cancel]`, the repository part `namespace/name` when
/// `strict`.
fn mirror_reading(rest: &str, strict: bool) -> Option<(String, Target)> {
    let fits = |repo: &str| !repo.is_empty() && repo.contains('/') == strict;
    [
        ("/mirror", ""),
        ("/mirror/sync-now", "sync-now"),
        ("/mirror/sync-cancel", "sync-cancel"),
    ]
    .into_iter()
    .find_map(|(suffix, action)| {
        rest.strip_suffix(suffix)
            .filter(|r| fits(r))
            .map(|repo| (repo.to_owned(), Target::Mirror(action)))
    })
}

/// Percent-decodes a path (`%2F` is `/`, as generated clients send a `{repository}`); `None`
/// when the result is not UTF-8.
pub(crate) fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// What the access check of a repository route found: the caller (`None` for an anonymous
/// reader of a public repository) and its standing.
#[derive(Clone)]
pub struct Checked {
    pub caller: Option<Caller>,
    pub standing: RepositoryStanding,
}

impl Checked {
    fn subject(&self) -> Subject {
        self.caller
            .as_ref()
            .map_or_else(Subject::anonymous, |c| c.subject)
    }

    pub fn can_write(&self) -> bool {
        allows(&self.subject(), &Need::WriteRepository(self.standing))
    }

    pub fn can_admin(&self) -> bool {
        allows(&self.subject(), &Need::AdminRepository(self.standing))
    }
}

/// The live repository `target` and its namespace.
pub async fn located(
    state: &AppState,
    target: &RepositoryRef,
) -> Result<Option<(NamespaceView, RepositoryView)>, QuayError> {
    let db = state.db();
    let (namespace, repo) = tokio::try_join!(
        namespaces::by_name(db.as_ref(), target.namespace.as_str()),
        repositories::get(db.as_ref(), target.namespace.as_str(), target.name.as_str()),
    )?;
    Ok(namespace.zip(repo))
}

/// Asks whether the request's caller may do `access` to the repository `path`. A repository
/// that does not exist passes (its handler answers 404) unless the caller is anonymous, who
/// learns nothing of what exists.
async fn check(
    state: &AppState,
    parts: &mut Parts,
    path: &str,
    access: RepoAccess,
) -> Result<Checked, QuayError> {
    let caller = resolve::request_caller(state, parts).await?;
    let unknown = |caller: Option<Caller>| match caller {
        None => Err(QuayError::from(Denial::Unauthenticated)),
        Some(caller) => Ok(Checked {
            caller: Some(caller),
            standing: RepositoryStanding::default(),
        }),
    };
    let Ok(target) = RepoPath(path.to_owned()).parse() else {
        return unknown(caller);
    };
    let Some((namespace, repo)) = located(state, &target).await? else {
        return unknown(caller);
    };
    let action = format!("{} {}", parts.method, parts.uri.path());
    let standing = guard::repository(
        state,
        parts,
        caller.as_ref(),
        &namespace,
        &repo,
        access,
        Attempt::new(&action, path),
    )
    .await?;
    Ok(Checked { caller, standing })
}

/// Routes `/api/v1/repository/{repository}[/{action}]` to its handler: the first reading of
/// the path whose route serves the method.
pub async fn dispatch(State(state): State<AppState>, req: Request) -> Response {
    let raw = req
        .uri()
        .path()
        .trim_start_matches("/api/v1/repository/")
        .trim_end_matches('/')
        .to_owned();
    let Some(rest) = percent_decode(&raw) else {
        return QuayError::not_found(format!("Repository {raw} not found")).into_response();
    };
    let method = req.method().clone();
    let mut fitting = readings(&rest)
        .into_iter()
        .filter(|(_, target)| target.allows(&method));
    let Some(mut chosen) = fitting.next() else {
        return method_not_allowed();
    };
    // `0/changestate` is the repository `0/changestate` or the action on the repository `0`
    // (none: a single segment): the repository when it exists, else the action, which answers
    // that there is no such repository whatever the body.
    if let (Target::Repository(""), Some(action)) = (&chosen.1, fitting.next()) {
        let exists = match RepoPath(chosen.0.clone()).parse() {
            Ok(r) => {
                match repositories::get(state.db().as_ref(), r.namespace.as_str(), r.name.as_str())
                    .await
                {
                    Ok(found) => found.is_some(),
                    Err(e) => return QuayError::from(e).into_response(),
                }
            }
            Err(_) => false,
        };
        if !exists {
            chosen = action;
        }
    }
    let (repo, target) = chosen;
    let (mut parts, body) = req.into_parts();
    match check(&state, &mut parts, &repo, target.access(&method)).await {
        Ok(checked) => {
            parts.extensions.insert(checked);
        }
        Err(e) => return e.into_response(),
    }
    let mut req = Request::from_parts(parts, body);
    req.extensions_mut().insert(RepoPath(repo));
    match target {
        Target::Repository(action) => match (method, action) {
            (Method::GET, "") => get.call(req, state).await,
            (Method::PUT, "") => update.call(req, state).await,
            (Method::DELETE, "") => delete.call(req, state).await,
            (Method::POST, "changevisibility") => change_visibility.call(req, state).await,
            (Method::PUT, "changestate") => change_state.call(req, state).await,
            (Method::GET, "logs") => logs::repository_logs.call(req, state).await,
            (Method::GET, "aggregatelogs") => logs::repository_aggregate.call(req, state).await,
            (Method::POST, "exportlogs") => log_exports::repository.call(req, state).await,
            _ => method_not_allowed(),
        },
        Target::Mirror(action) => match (method, action) {
            (Method::GET, "") => mirror::get.call(req, state).await,
            (Method::POST, "") => mirror::create.call(req, state).await,
            (Method::PUT, "") => mirror::change.call(req, state).await,
            (Method::POST, "sync-now") => mirror::sync_now.call(req, state).await,
            (Method::POST, "sync-cancel") => mirror::sync_cancel.call(req, state).await,
            _ => method_not_allowed(),
        },
        Target::Permission(path) => {
            let entry = path.name.is_some();
            let transitive = path.transitive;
            let team = path.kind == permissions::DelegateKindPath::Team;
            req.extensions_mut().insert(path);
            match (method, entry, transitive, team) {
                (Method::GET, false, _, false) => permissions::list_users.call(req, state).await,
                (Method::GET, false, _, true) => permissions::list_teams.call(req, state).await,
                (Method::GET, true, true, _) => permissions::transitive.call(req, state).await,
                (Method::GET, true, false, false) => permissions::get.call(req, state).await,
                (Method::PUT, true, false, false) => permissions::set.call(req, state).await,
                (Method::DELETE, true, false, false) => permissions::remove.call(req, state).await,
                (Method::GET, true, false, true) => permissions::get_team.call(req, state).await,
                (Method::PUT, true, false, true) => permissions::set_team.call(req, state).await,
                (Method::DELETE, true, false, true) => {
                    permissions::remove_team.call(req, state).await
                }
                _ => method_not_allowed(),
            }
        }
        Target::Tokens(code) => match (method, code.is_some()) {
            (Method::GET, false) => repo_tokens::list.call(req, state).await,
            (Method::POST, false) => repo_tokens::create.call(req, state).await,
            (Method::GET, true) => repo_tokens::get.call(req, state).await,
            (Method::PUT, true) => repo_tokens::change.call(req, state).await,
            (Method::DELETE, true) => repo_tokens::delete.call(req, state).await,
            _ => method_not_allowed(),
        },
        Target::Notification(path) => {
            let (entry, test) = (path.uuid.is_some(), path.test);
            req.extensions_mut().insert(path);
            match (method, entry, test) {
                (Method::GET, false, _) => notifications::list.call(req, state).await,
                (Method::POST, false, _) => notifications::create.call(req, state).await,
                (Method::GET, true, false) => notifications::get.call(req, state).await,
                (Method::DELETE, true, false) => notifications::delete.call(req, state).await,
                (Method::POST, true, false) => notifications::reset.call(req, state).await,
                (Method::POST, true, true) => notifications::test.call(req, state).await,
                _ => method_not_allowed(),
            }
        }
        Target::Autoprune(uuid) => {
            let entry = uuid.is_some();
            if let Some(uuid) = uuid {
                req.extensions_mut().insert(autoprune::PolicyPath(uuid));
            }
            match (method, entry) {
                (Method::GET, false) => autoprune::repo_list.call(req, state).await,
                (Method::POST, false) => autoprune::repo_create.call(req, state).await,
                (Method::GET, true) => autoprune::repo_get.call(req, state).await,
                (Method::PUT, true) => autoprune::repo_update.call(req, state).await,
                (Method::DELETE, true) => autoprune::repo_delete.call(req, state).await,
                _ => method_not_allowed(),
            }
        }
        Target::Content(ContentRoute::Tags) => tags::list.call(req, state).await,
        Target::Content(ContentRoute::Tag(tag, action)) => {
            req.extensions_mut().insert(tags::TagPath(tag));
            match (method, action) {
                (Method::PUT, "") => tags::put.call(req, state).await,
                (Method::DELETE, "") => tags::delete.call(req, state).await,
                (Method::POST, "restore") => tags::restore.call(req, state).await,
                (Method::GET, "images") => tags::images.call(req, state).await,
                _ => method_not_allowed(),
            }
        }
        Target::Content(ContentRoute::Manifest(reference, action, label)) => {
            req.extensions_mut()
                .insert(manifests::ManifestPath { reference, label });
            match (method, action) {
                (Method::GET, "") => manifests::get.call(req, state).await,
                (Method::GET, "labels") => manifests::labels.call(req, state).await,
                (Method::POST, "labels") => manifests::add_label.call(req, state).await,
                (Method::GET, "label") => manifests::get_label.call(req, state).await,
                (Method::DELETE, "label") => manifests::delete_label.call(req, state).await,
                (Method::GET, "security") => manifests::security.call(req, state).await,
                _ => method_not_allowed(),
            }
        }
        Target::Content(ContentRoute::Images) => images::list.call(req, state).await,
        Target::Content(ContentRoute::Image(id, action)) => {
            req.extensions_mut().insert(images::ImagePath(id));
            match action {
                "" => images::get.call(req, state).await,
                _ => images::security.call(req, state).await,
            }
        }
    }
}

fn method_not_allowed() -> Response {
    QuayError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "Method not allowed on this route",
    )
    .into_response()
}

/// The tag, manifest and image routes under a repository.
#[derive(Debug, PartialEq)]
enum ContentRoute {
    Tags,
    /// A tag and its action (`""`, `restore`, `images`).
    Tag(String, &'static str),
    Images,
    /// An image and its action (`""`, `security`).
    Image(String, &'static str),
    /// A manifest, its action (`""`, `labels`, `label`, `security`) and label id.
    Manifest(String, &'static str, Option<String>),
}

impl ContentRoute {
    /// Splits `namespace/name/<keyword>/...` at the keyword counted from the end; the
    /// repository part must still be `namespace/name` when `strict`, a single segment otherwise.
    fn parse(rest: &str, strict: bool) -> Option<(String, ContentRoute)> {
        let segs: Vec<&str> = rest.split('/').collect();
        let n = segs.len();
        let at = |i: usize| (n > i).then(|| segs[n - 1 - i]);
        let repo = |keep: usize| {
            let r = segs[..n - keep].join("/");
            (!r.is_empty() && r.contains('/') == strict).then_some(r)
        };
        let owned = |i: usize| at(i).unwrap_or_default().to_owned();
        let candidates: [(usize, Option<ContentRoute>); 9] = [
            (1, (at(0) == Some("tag")).then_some(ContentRoute::Tags)),
            (
                2,
                (at(1) == Some("tag")).then(|| ContentRoute::Tag(owned(0), "")),
            ),
            (
                3,
                (at(2) == Some("tag") && at(0) == Some("restore"))
                    .then(|| ContentRoute::Tag(owned(1), "restore")),
            ),
            (
                3,
                (at(2) == Some("tag") && at(0) == Some("images"))
                    .then(|| ContentRoute::Tag(owned(1), "images")),
            ),
            (1, (at(0) == Some("image")).then_some(ContentRoute::Images)),
            (
                2,
                (at(1) == Some("image")).then(|| ContentRoute::Image(owned(0), "")),
            ),
            (
                3,
                (at(2) == Some("image") && at(0) == Some("security"))
                    .then(|| ContentRoute::Image(owned(1), "security")),
            ),
            (
                2,
                (at(1) == Some("manifest")).then(|| ContentRoute::Manifest(owned(0), "", None)),
            ),
            (
                3,
                (at(2) == Some("manifest") && matches!(at(0), Some("labels" | "security"))).then(
                    || {
                        ContentRoute::Manifest(
                            owned(1),
                            if at(0) == Some("labels") {
                                "labels"
                            } else {
                                "security"
                            },
                            None,
                        )
                    },
                ),
            ),
        ];
        for (keep, route) in candidates {
            if let (Some(route), Some(repo)) = (route, repo(keep.min(n))) {
                return Some((repo, route));
            }
        }
        if at(3) == Some("manifest") && at(1) == Some("labels") {
            return repo(4).map(|r| (r, ContentRoute::Manifest(owned(2), "label", Some(owned(0)))));
        }
        None
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRepository {
    /// Repository name.
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$"
    )]
    pub repository: String,
    /// `public` or `private`.
    #[schema(pattern = "^(public|private)$")]
    pub visibility: String,
    /// Namespace to create it in; the caller's own when omitted.
    #[schema(
        min_length = 2,
        max_length = 255,
        pattern = r"^[a-z0-9]+([._-][a-z0-9]+)*$"
    )]
    pub namespace: Option<String>,
    /// Markdown description.
    #[serde(default)]
    pub description: Option<String>,
    /// `image` (default) or `application`.
    #[schema(pattern = "^(image|application)$")]
    pub repo_kind: Option<String>,
}

/// `{namespace, name, kind}` of a created repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedRepository {
    pub namespace: String,
    pub name: String,
    pub kind: String,
}

/// `{"success": true}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Success {
    pub success: bool,
}

const SUCCESS: Success = Success { success: true };

/// Create a new repository.
#[utoipa::path(post, path = "/api/v1/repository", operation_id = "createRepo", tag = "repository", request_body = NewRepository,
    responses((status = 201, description = "`{namespace, name, kind}`", body = CreatedRepository), (status = 400, description = "Invalid or duplicate"),
        (status = 404, description = "Unknown namespace")))]
pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    parts: Parts,
    QuayJson(body): QuayJson<NewRepository>,
) -> Result<impl IntoResponse, QuayError> {
    let namespace = body
        .namespace
        .unwrap_or_else(|| ctx.caller.username.clone());
    if let Some(found) = namespaces::by_name(state.db().as_ref(), &namespace).await? {
        let attempt = Attempt::new("POST /api/v1/repository", &namespace);
        guard::namespace(
            &state,
            &parts,
            Some(&ctx.caller),
            &found,
            NamespaceAccess::CreateRepository,
            attempt,
        )
        .await?;
    }
    let command = CreateRepository {
        namespace: namespace.clone(),
        name: body.repository.clone(),
        visibility: body.visibility,
        description: body.description.unwrap_or_default(),
        kind: body.repo_kind.clone(),
    };
    let done = state
        .commands
        .create_repository(&ctx.envelope, command)
        .await?;
    state.settle(&done).await;
    let kind = body.repo_kind.unwrap_or_else(|| "image".into());
    Ok((
        StatusCode::CREATED,
        Json(CreatedRepository {
            namespace,
            name: body.repository,
            kind,
        }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    next_page: Option<String>,
    repo_kind: Option<String>,
    #[serde(default)]
    popularity: bool,
    #[serde(default)]
    last_modified: bool,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    starred: bool,
    namespace: Option<String>,
}

/// A repository in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RepositoryItem {
    pub namespace: String,
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub kind: String,
    pub state: String,
    pub is_starred: bool,
    /// Seconds since the epoch; with `last_modified=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<i64>,
    /// With `popularity=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub popularity: Option<f64>,
    /// What the repository stores, and its namespace's quota (Quay's `quota_report`).
    pub quota_report: RepositoryQuotaReport,
}

/// The bytes of the distinct blobs a repository's manifests reference, and its namespace's
/// quota, if one is set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RepositoryQuotaReport {
    pub quota_bytes: u64,
    pub configured_quota: Option<u64>,
}

/// `{repositories, next_page?}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RepositoryList {
    pub repositories: Vec<RepositoryItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
}

/// Fetch the list of repositories visible to the current user.
#[utoipa::path(get, path = "/api/v1/repository", operation_id = "listRepos", tag = "repository",
    params(("namespace" = Option<String>, Query, description = "Filters the repositories returned to this namespace"),
        ("public" = Option<bool>, Query, description = "Adds public repositories"),
        ("starred" = Option<bool>, Query, description = "Only starred repositories"),
        ("next_page" = Option<String>, Query, description = "The page token for the next page"),
        ("repo_kind" = Option<String>, Query, description = "The kind of repositories to return"),
        ("popularity" = Option<bool>, Query, description = "Include the popularity metric"),
        ("last_modified" = Option<bool>, Query, description = "Include when the repository was last modified")),
    responses((status = 200, description = "`{repositories, next_page?}`", body = RepositoryList),
        (status = 400, description = "No filter given, or an invalid next_page token")))]
pub async fn list(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    QuayQuery(params): QuayQuery<ListParams>,
) -> Result<Json<RepositoryList>, QuayError> {
    let viewer = caller.as_ref().map_or(Viewer::Anonymous, Caller::viewer);
    let filter = match (&params.namespace, params.public, params.starred) {
        (Some(namespace), _, _) => ListFilter::Namespace(namespace.clone()),
        (None, true, _) => ListFilter::Public,
        (None, false, true) => match &caller {
            Some(c) => ListFilter::Starred(c.user_id),
            None => return Err(Denial::Unauthenticated.into()),
        },
        (None, false, false) => {
            return Err(QuayError::invalid_request(
                "namespace, starred or public are required for this API call",
            ));
        }
    };
    let after = params.next_page.as_deref().map(decode_cursor).transpose()?;
    let (repos, more) = repositories::list(
        state.db().as_ref(),
        &filter,
        viewer,
        params.repo_kind.as_deref(),
        after,
        PAGE,
    )
    .await?;
    let ids: Vec<_> = repos.iter().map(|r| r.id).collect();
    let starred = match &caller {
        Some(c) => stars::starred_among(state.db().as_ref(), c.user_id, &ids).await?,
        None => Default::default(),
    };
    // Quota reports: one query for the page's sizes, one per namespace for its quota.
    let sizes = content::repositories_referenced_bytes(state.db().as_ref(), &ids).await?;
    let mut configured = std::collections::BTreeMap::new();
    for r in &repos {
        if let std::collections::btree_map::Entry::Vacant(slot) = configured.entry(r.namespace_id) {
            let quota =
                annals_projections::queries::quotas::get(state.db().as_ref(), r.namespace_id)
                    .await?;
            slot.insert(quota.map(|q| q.limit_bytes));
        }
    }
    let repositories = repos
        .iter()
        .map(|r| RepositoryItem {
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            is_public: r.is_public(),
            kind: r.kind.clone(),
            state: r.state.clone(),
            is_starred: starred.contains(&r.id),
            last_modified: params.last_modified.then_some(r.last_modified / 1_000_000),
            popularity: params.popularity.then_some(0.0),
            quota_report: RepositoryQuotaReport {
                quota_bytes: sizes.get(&r.id).copied().unwrap_or(0),
                configured_quota: configured.get(&r.namespace_id).copied().flatten(),
            },
        })
        .collect();
    let next_page = match (more, repos.last()) {
        (true, Some(last)) => Some(encode_cursor(&last.namespace, &last.name)),
        _ => None,
    };
    Ok(Json(RepositoryList {
        repositories,
        next_page,
    }))
}

pub(crate) fn encode_cursor(namespace: &str, name: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!([namespace, name]).to_string())
}

pub(crate) fn decode_cursor(token: &str) -> Result<(String, String), QuayError> {
    let invalid = || QuayError::invalid_request("Invalid next_page token");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    serde_json::from_slice::<(String, String)>(&bytes).map_err(|_| invalid())
}

/// The live repository a route names, or Quay's 404.
pub async fn find(state: &AppState, path: &RepoPath) -> Result<RepositoryView, QuayError> {
    let target = path.parse()?;
    repositories::get(
        state.db().as_ref(),
        target.namespace.as_str(),
        target.name.as_str(),
    )
    .await?
    .ok_or_else(|| QuayError::not_found(format!("Repository {} not found", path.0)))
}

#[derive(Debug, Deserialize)]
pub struct GetParams {
    #[serde(rename = "includeTags")]
    include_tags: Option<bool>,
}

/// A live tag of a repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RepositoryTag {
    pub name: String,
    pub size: u64,
    pub manifest_digest: String,
    pub last_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
}

/// A repository as Quay shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Repository {
    pub namespace: String,
    pub name: String,
    pub kind: String,
    pub description: String,
    pub is_public: bool,
    pub is_organization: bool,
    pub is_starred: bool,
    pub status_token: String,
    pub trust_enabled: bool,
    pub tag_expiration_s: i64,
    pub is_free_account: bool,
    pub state: String,
    /// Live tags by name (with `includeTags`, the default; at most 500).
    pub tags: BTreeMap<String, RepositoryTag>,
    pub can_write: bool,
    pub can_admin: bool,
}

/// Fetch the specified repository.
#[utoipa::path(get, path = "/api/v1/repository/{repository}", operation_id = "getRepo", tag = "repository",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name"),
        ("includeTags" = Option<bool>, Query, description = "Whether to include repository tags"),
        ("includeStats" = Option<bool>, Query, description = "Whether to include action statistics")),
    responses((status = 200, description = "The repository", body = Repository), (status = 404, description = "No such repository")))]
pub async fn get(
    State(state): State<AppState>,
    Extension(checked): Extension<Checked>,
    Extension(path): Extension<RepoPath>,
    QuayQuery(params): QuayQuery<GetParams>,
) -> Result<Json<Repository>, QuayError> {
    let repo = find(&state, &path).await?;
    let namespace = namespaces::by_id(state.db().as_ref(), repo.namespace_id).await?;
    let time = |us: i64| {
        super::log_range::format_datetime(
            chrono::DateTime::from_timestamp_micros(us).unwrap_or_default(),
        )
    };
    let mut tags = BTreeMap::new();
    if params.include_tags.unwrap_or(true) {
        for t in annals_projections::queries::tags::live(state.db().as_ref(), repo.id, 500).await? {
            let tag = RepositoryTag {
                name: t.name.clone(),
                size: t.size,
                manifest_digest: t.digest.to_string(),
                last_modified: time(t.start_ts),
                expiration: t.expiration.map(time),
            };
            tags.insert(t.name, tag);
        }
    }
    let is_starred = match &checked.caller {
        Some(c) => stars::is_starred(state.db().as_ref(), c.user_id, repo.id).await?,
        None => false,
    };
    let (is_org, tag_expiration_s) =
        namespace.map_or((false, 0), |n| (n.is_organization(), n.tag_expiration_s));
    Ok(Json(Repository {
        namespace: repo.namespace.clone(),
        name: repo.name.clone(),
        kind: repo.kind.clone(),
        description: repo.description.clone(),
        is_public: repo.is_public(),
        is_organization: is_org,
        is_starred,
        status_token: String::new(),
        trust_enabled: false,
        tag_expiration_s,
        is_free_account: true,
        state: repo.state.clone(),
        tags,
        can_write: checked.can_write(),
        can_admin: checked.can_admin(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RepositoryUpdate {
    /// Markdown description.
    pub description: String,
}

/// Update the description in the specified repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}", operation_id = "updateRepo", tag = "repository", request_body = RepositoryUpdate,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{\"success\": true}`", body = Success), (status = 404, description = "No such repository")))]
pub async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<RepositoryUpdate>,
) -> Result<Json<Success>, QuayError> {
    let done = state
        .commands
        .change_repository_description(&ctx.envelope, &path.parse()?, body.description)
        .await?;
    state.settle(&done).await;
    Ok(Json(SUCCESS))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VisibilityChange {
    /// `public` or `private`.
    #[schema(pattern = "^(public|private)$")]
    pub visibility: String,
}

/// Change the visibility of a repository.
#[utoipa::path(post, path = "/api/v1/repository/{repository}/changevisibility", operation_id = "changeRepoVisibility", tag = "repository",
    request_body = VisibilityChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{\"success\": true}`", body = Success), (status = 400, description = "Invalid visibility"),
        (status = 404, description = "No such repository")))]
pub async fn change_visibility(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<VisibilityChange>,
) -> Result<Json<Success>, QuayError> {
    let done = state
        .commands
        .change_repository_visibility(&ctx.envelope, &path.parse()?, &body.visibility)
        .await?;
    state.settle(&done).await;
    Ok(Json(SUCCESS))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StateChange {
    /// `NORMAL`, `READ_ONLY` or `MIRROR`.
    #[schema(pattern = "^(NORMAL|READ_ONLY|MIRROR)$")]
    pub state: String,
}

/// Change the state of a repository.
#[utoipa::path(put, path = "/api/v1/repository/{repository}/changestate", operation_id = "changeRepoState", tag = "repository", request_body = StateChange,
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 200, description = "`{\"success\": true}`", body = Success), (status = 400, description = "Invalid state"),
        (status = 404, description = "No such repository")))]
pub async fn change_state(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
    QuayJson(body): QuayJson<StateChange>,
) -> Result<Json<Success>, QuayError> {
    let done = state
        .commands
        .change_repository_state(&ctx.envelope, &path.parse()?, &body.state)
        .await?;
    state.settle(&done).await;
    Ok(Json(SUCCESS))
}

/// Delete a repository.
#[utoipa::path(delete, path = "/api/v1/repository/{repository}", operation_id = "deleteRepository", tag = "repository",
    params(("repository" = String, Path, description = "The full path of the repository. e.g. namespace/name")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such repository")))]
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Extension(path): Extension<RepoPath>,
) -> Result<StatusCode, QuayError> {
    let done = state
        .commands
        .delete_repository(&ctx.envelope, &path.parse()?)
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}
