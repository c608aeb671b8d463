//! Pulls through a proxy-cache organization: before a manifest `GET`/`HEAD` is served, a caller
//! who may pull through the organization (its members, as Quay's `can_pullthru`; never an
//! anonymous caller, even of a public organization) has the cache bring the reference up to
//! date (`annals_workers::proxy_cache`). Everyone else — and every organization that caches
//! nothing — goes the ordinary way, where the ordinary checks answer.

use annals_domain::access::{Need, allows};
use annals_domain::{Digest, TagName};
use annals_projections::queries::namespaces::{self, NamespaceView};
use annals_projections::queries::proxy_cache as queries;
use annals_workers::proxy_cache::{ProxyCache, Wanted};
use annals_workers::upstream::UpstreamError;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::auth;
use super::error::OciError;
use super::repo;
use crate::access::{Caller, standing};
use crate::state::AppState;

/// Brings `reference` of `name` in from the upstream when `name` is in a proxy-cache
/// organization and the caller may pull through it; otherwise does nothing.
pub async fn prepare(
    state: &AppState,
    parts: &Parts,
    name: &str,
    reference: &str,
) -> Result<(), OciError> {
    let (Ok(target), Some(wanted)) = (repo::parse_name(name), wanted(reference)) else {
        return Ok(());
    };
    let db = state.db();
    let Some(namespace) = namespaces::by_name(db.as_ref(), target.namespace.as_str())
        .await?
        .filter(NamespaceView::is_organization)
    else {
        return Ok(());
    };
    let Some(config) = queries::config(db.as_ref(), namespace.id).await? else {
        return Ok(());
    };
    let scope = format!("repository:{name}:pull");
    let Some(caller) = auth::identify(state, parts, Some(&scope)).await? else {
        return Ok(());
    };
    if !may_pull_through(state, &caller.caller, &namespace).await? {
        return Ok(());
    }
    let cache = ProxyCache {
        commands: &state.commands,
        watch: &state.watch,
        blobs: &state.blobs,
        db: db.as_ref(),
        delivery: &state.events.delivery,
        settings: &state.upstream,
    };
    let pull = repo::envelope(Some(&caller), parts);
    // Held until what a fetch brought is projected: a concurrent pull then finds it.
    let _fetching = state
        .proxy_fetches
        .lock(format!("{target}:{}", wanted.as_str()))
        .await;
    match cache.bring(&config, &target, &wanted, &pull).await {
        Ok(Some(done)) => {
            state.settle(&done).await;
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(refusal(e, reference)),
    }
}

/// Whether `caller` may pull through the proxy-cache organization `namespace` (whether or
/// not the repository exists yet).
pub async fn may_pull_through(
    state: &AppState,
    caller: &Caller,
    namespace: &NamespaceView,
) -> Result<bool, OciError> {
    let standing = standing::pull_through(state, caller, namespace.id).await?;
    Ok(allows(&caller.subject, &Need::ReadRepository(standing)))
}

fn wanted(reference: &str) -> Option<Wanted> {
    if reference.contains(':') {
        Digest::parse(reference).ok().map(Wanted::Digest)
    } else {
        TagName::parse(reference).ok().map(Wanted::Tag)
    }
}

/// What a pull that the upstream could not serve answers.
fn refusal(e: UpstreamError, reference: &str) -> OciError {
    match e {
        UpstreamError::NotFound => OciError::manifest_unknown(reference),
        UpstreamError::Command(e) => e.into(),
        UpstreamError::Blocked(_) | UpstreamError::Unauthorized => OciError::denied(format!(
            "the proxy cache cannot pull from its upstream registry: {e}"
        )),
        UpstreamError::Unreachable(_) | UpstreamError::Invalid(_) => OciError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            format!("the proxy cache cannot reach its upstream registry: {e}"),
        ),
    }
}
