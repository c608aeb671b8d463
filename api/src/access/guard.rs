//! The check every route makes before it issues a command or runs a query: read the caller's
//! standing on the target, ask [`authorize`], and record a refusal of an authenticated caller
//! in the target's log. Families call these and map the [`Denial`] onto their error shape.

use annals_commands::Scope;
use annals_domain::access::{
    Denial, NamespaceStanding, Need, RepositoryStanding, Subject, authorize,
};
use annals_domain::{NamespaceKind, NamespaceName};
use annals_projections::queries::namespaces::NamespaceView;
use annals_projections::queries::repositories::RepositoryView;
use annals_projections::sql::DbError;
use axum::http::request::Parts;

use super::{Caller, refusals, standing};
use crate::context;
use crate::state::AppState;

/// What a route does to a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoAccess {
    Read,
    Write,
    Admin,
}

/// What a route does to a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceAccess {
    View,
    Admin,
    CreateRepository,
}

/// A refusal, or a failure to read the standing.
#[derive(Debug)]
pub enum Refused {
    Denied(Denial),
    Db(DbError),
}

impl From<DbError> for Refused {
    fn from(e: DbError) -> Self {
        Refused::Db(e)
    }
}

/// What the refused request was, for its record.
pub struct Attempt<'a> {
    pub action: &'a str,
    pub resource: &'a str,
}

impl<'a> Attempt<'a> {
    /// The request's method and path, refusing `resource`.
    pub fn new(action: &'a str, resource: &'a str) -> Self {
        Attempt { action, resource }
    }
}

/// The log scope of events about `namespace` (and `repo`).
pub fn log_scope(namespace: &NamespaceView, repo: Option<&RepositoryView>) -> Scope {
    let kind = if namespace.is_organization() {
        NamespaceKind::Organization
    } else {
        NamespaceKind::User
    };
    let scope = match NamespaceName::parse(&namespace.name) {
        Ok(name) => Scope::namespace(namespace.id, name, kind),
        Err(_) => Scope::default(),
    };
    match repo {
        Some(r) => scope.with_repository(r.id, &r.name),
        None => scope,
    }
}

/// Asks the rules whether `caller` (anonymous when `None`) may do `need`; a refusal of an
/// authenticated caller is recorded under `scope`.
pub async fn require(
    state: &AppState,
    parts: &Parts,
    caller: Option<&Caller>,
    need: Need,
    scope: Scope,
    attempt: Attempt<'_>,
) -> Result<(), Denial> {
    let subject = caller.map_or_else(Subject::anonymous, |c| c.subject);
    let denial = match authorize(&subject, &need) {
        Ok(()) => return Ok(()),
        Err(denial) => denial,
    };
    match caller {
        Some(caller) if denial != Denial::Unauthenticated => {
            let envelope = context::envelope(caller, parts);
            refusals::denied(
                state,
                caller,
                &envelope,
                scope,
                attempt.action,
                attempt.resource,
                denial,
            )
            .await;
        }
        _ => state.metrics.count_refusal(),
    }
    Err(denial)
}

/// May `caller` do `access` to `repo` (in `namespace`)? Answers the caller's standing on it.
pub async fn repository(
    state: &AppState,
    parts: &Parts,
    caller: Option<&Caller>,
    namespace: &NamespaceView,
    repo: &RepositoryView,
    access: RepoAccess,
    attempt: Attempt<'_>,
) -> Result<RepositoryStanding, Refused> {
    let standing = standing::repository(state, caller, repo).await?;
    let need = match access {
        RepoAccess::Read => Need::ReadRepository(standing),
        RepoAccess::Write => Need::WriteRepository(standing),
        RepoAccess::Admin => Need::AdminRepository(standing),
    };
    let scope = log_scope(namespace, Some(repo));
    require(state, parts, caller, need, scope, attempt)
        .await
        .map_err(Refused::Denied)?;
    Ok(standing)
}

/// May `caller` do `access` in `namespace`? Answers the caller's standing there.
pub async fn namespace(
    state: &AppState,
    parts: &Parts,
    caller: Option<&Caller>,
    namespace: &NamespaceView,
    access: NamespaceAccess,
    attempt: Attempt<'_>,
) -> Result<NamespaceStanding, Refused> {
    let Some(who) = caller else {
        state.metrics.count_refusal();
        return Err(Refused::Denied(Denial::Unauthenticated));
    };
    let standing = standing::namespace(state, who, namespace.id).await?;
    let need = match access {
        NamespaceAccess::View => Need::ViewNamespace(standing),
        NamespaceAccess::Admin => Need::AdminNamespace(standing),
        NamespaceAccess::CreateRepository => Need::CreateRepository(standing),
    };
    require(
        state,
        parts,
        caller,
        need,
        log_scope(namespace, None),
        attempt,
    )
    .await
    .map_err(Refused::Denied)?;
    Ok(standing)
}

/// May `caller` do `need`, which concerns no namespace (its own account, superuser routes)?
pub async fn plain(
    state: &AppState,
    parts: &Parts,
    caller: Option<&Caller>,
    need: Need,
    attempt: Attempt<'_>,
) -> Result<(), Denial> {
    require(state, parts, caller, need, Scope::default(), attempt).await
}
