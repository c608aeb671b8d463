//! What a caller holds on a namespace or a repository, read in one query of the access read
//! model (its teams' strongest role, its strongest repository grant).

use annals_domain::access::{NamespaceStanding, Principal, RepositoryStanding};
use annals_projections::queries::access::{self, Holdings};
use annals_projections::queries::repositories::RepositoryView;
use annals_projections::sql::DbError;
use uuid::Uuid;

use super::Caller;
use crate::state::AppState;

fn owns(caller: &Caller, namespace_id: Uuid) -> bool {
    matches!(caller.subject.principal, Principal::User { id } if id == namespace_id)
}

/// What the principal holds, from the cache while the read models stand still.
async fn holdings(
    state: &AppState,
    namespace_id: Uuid,
    repository_id: Option<Uuid>,
    principal_id: Uuid,
) -> Result<Holdings, DbError> {
    let key = (namespace_id, repository_id, principal_id);
    let position = state.watch.position();
    if let Some(held) = state.access_cache.holdings(key, position) {
        return Ok(held);
    }
    let held = access::holdings(
        state.live_db().as_ref(),
        namespace_id,
        repository_id,
        principal_id,
    )
    .await?;
    state.access_cache.remember_holdings(key, position, held);
    Ok(held)
}

/// The caller's standing in the namespace `namespace_id`.
pub async fn namespace(
    state: &AppState,
    caller: &Caller,
    namespace_id: Uuid,
) -> Result<NamespaceStanding, DbError> {
    if owns(caller, namespace_id) {
        return Ok(NamespaceStanding {
            owns: true,
            team_role: None,
        });
    }
    let held = holdings(state, namespace_id, None, caller.user_id).await?;
    Ok(NamespaceStanding {
        owns: false,
        team_role: held.team_role,
    })
}

/// The standing of `caller` (anonymous when `None`) on `repo`.
pub async fn repository(
    state: &AppState,
    caller: Option<&Caller>,
    repo: &RepositoryView,
) -> Result<RepositoryStanding, DbError> {
    let public = repo.is_public();
    let Some(caller) = caller else {
        return Ok(RepositoryStanding {
            public,
            ..Default::default()
        });
    };
    if owns(caller, repo.namespace_id) {
        return Ok(RepositoryStanding {
            public,
            role: None,
            namespace: NamespaceStanding {
                owns: true,
                team_role: None,
            },
            pull_through: false,
        });
    }
    let held = holdings(state, repo.namespace_id, Some(repo.id), caller.user_id).await?;
    // Only a member without a grant needs to know whether the namespace is a proxy cache.
    let pull_through = !public
        && held.repo_role.is_none()
        && held.team_role.is_some()
        && is_proxy_cache(state, repo.namespace_id).await?;
    Ok(RepositoryStanding {
        public,
        role: held.repo_role,
        namespace: NamespaceStanding {
            owns: false,
            team_role: held.team_role,
        },
        pull_through,
    })
}

async fn is_proxy_cache(state: &AppState, namespace_id: Uuid) -> Result<bool, DbError> {
    Ok(
        annals_projections::queries::proxy_cache::config(state.live_db().as_ref(), namespace_id)
            .await?
            .is_some(),
    )
}

/// The standing of `caller` on a repository of the proxy-cache organization `namespace_id`
/// that the cache has not fetched yet: what its members may pull through.
pub async fn pull_through(
    state: &AppState,
    caller: &Caller,
    namespace_id: Uuid,
) -> Result<RepositoryStanding, DbError> {
    Ok(RepositoryStanding {
        public: false,
        role: None,
        namespace: namespace(state, caller, namespace_id).await?,
        pull_through: true,
    })
}
