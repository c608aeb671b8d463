//! The streams a past resource is folded from, found as they stood at the position: a name
//! means what its reservation stream said then, so a name freed and taken again since still
//! reads as the resource it named at that time. The aggregates are folded with their own
//! `evolve` (`load_until`) to learn what else the answer shows (a repository's user grantees, an
//! organization's members, a registry's repositories, a plugin's image).

use annals_commands::load_until;
use annals_domain::organization::Organization;
use annals_domain::registry::Registry;
use annals_domain::repository::Repository;
use annals_domain::reservation::{self, Reservation};
use annals_domain::spaceone_plugin::SpacePlugin;
use annals_domain::{
    NamespaceName, RepositoryName, delegate::DelegateKind, gerrit_plugin, organization, registry,
    repository, spaceone_plugin, user,
};
use annals_projections::queries::registries;
use annals_store::{EventStore, StoreError};
use annals_workers::past::Sources;
use uuid::Uuid;

use super::targets::Target;
use crate::access::Caller;
use crate::state::AppState;

/// Members and grantees whose accounts are folded in at most (their names and avatars).
const MAX_PEOPLE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] annals_projections::sql::DbError),
}

/// What `target` is folded from at `position`. Nothing when it did not exist then: the route
/// then answers from empty read models, so its own "not found" in its own shape.
pub async fn sources(
    state: &AppState,
    target: &Target,
    position: u64,
    caller: Option<&Caller>,
) -> Result<Sources, SourceError> {
    let store = state.store.as_ref();
    let mut out = Sources::default();
    match target {
        Target::Repository { namespace, name } => {
            repository_streams(store, namespace, name, position, &mut out).await?;
        }
        Target::Organization { name } => {
            if let Some(stream) = namespace_stream(store, name, position).await? {
                let org: Organization = load_until(store, &stream, position).await?.state;
                let members = org
                    .teams
                    .0
                    .values()
                    .flat_map(|team| team.members.iter())
                    .filter(|(_, member)| !member.is_robot)
                    .map(|(id, _)| user::stream(*id));
                out.streams.extend(members.take(MAX_PEOPLE));
                // Its quota, and the repositories its quota usage is counted over.
                if let Some(org_id) = stream
                    .strip_prefix("organization-")
                    .and_then(|id| id.parse::<Uuid>().ok())
                {
                    out.streams.push(annals_domain::quota::stream(org_id));
                    let held = annals_projections::queries::quotas::namespace_repository_ids(
                        state.live_db().as_ref(),
                        org_id,
                    )
                    .await?;
                    out.streams.extend(held.into_iter().map(repository::stream));
                }
                out.streams.push(stream);
            }
        }
        Target::User { name } => {
            if let Some(stream) = namespace_stream(store, name, position).await?
                && stream.starts_with("user-")
            {
                out.streams.push(stream);
            }
        }
        Target::OwnAccount => {
            if let Some(caller) = caller {
                out.streams.push(user::stream(caller.owner_id));
                out.streams.push(organization::stream(caller.owner_id));
            }
        }
        Target::OwnRegistry => {
            // The registry the caller owns now; one deleted since has no name to ask it by.
            if let Some(caller) = caller
                && let Some(found) =
                    registries::by_owner(state.live_db().as_ref(), caller.user_id).await?
            {
                registry_streams(store, found.id, found.namespace_id, position, &mut out).await?;
            }
        }
        Target::Registry { name } => {
            if let Some(stream) = namespace_stream(store, name, position).await?
                && let Some(org_id) = stream.strip_prefix("organization-")
                && let Ok(org_id) = org_id.parse::<Uuid>()
            {
                let org: Organization = load_until(store, &stream, position).await?.state;
                if let Some(registry_id) = org.registry_id {
                    registry_streams(store, registry_id, org_id, position, &mut out).await?;
                }
            }
        }
        Target::SpacePlugin { id } => {
            if spaceone_plugin::is_plugin_id(id) {
                let stream = spaceone_plugin::stream(id);
                let plugin: SpacePlugin = load_until(store, &stream, position).await?.state;
                if let Some(org_id) = plugin.organization_id {
                    out.streams.push(organization::stream(org_id));
                }
                if let Some(spec) = &plugin.spec {
                    repository_streams(
                        store,
                        spec.image.namespace.as_str(),
                        spec.image.repository.as_str(),
                        position,
                        &mut out,
                    )
                    .await?;
                }
                out.streams.push(stream);
            }
        }
        Target::GerritPlugin { id } => {
            if let Ok(id) = gerrit_plugin::parse_id(id) {
                out.streams.push(gerrit_plugin::stream(&id));
            }
        }
        Target::GerritPlugins => out.prefixes.push(gerrit_plugin::stream("")),
        Target::Subscription { id } => {
            if let Ok(id) = id.parse::<Uuid>() {
                out.streams
                    .push(annals_domain::event_subscription::stream(id));
            }
        }
    }
    Ok(out)
}

/// The stream of the user or organization that held the namespace `name` at `position`.
async fn namespace_stream(
    store: &dyn EventStore,
    name: &str,
    position: u64,
) -> Result<Option<String>, StoreError> {
    let Some((_, stream)) = namespace_holder(store, name, position).await? else {
        return Ok(None);
    };
    Ok(Some(stream))
}

async fn namespace_holder(
    store: &dyn EventStore,
    name: &str,
    position: u64,
) -> Result<Option<(Uuid, String)>, StoreError> {
    let Ok(name) = NamespaceName::parse(name) else {
        return Ok(None);
    };
    let held: Reservation = load_until(store, &reservation::namespace_stream(&name), position)
        .await?
        .state;
    let Some(owner) = held.owner else {
        return Ok(None);
    };
    let org = organization::stream(owner);
    let stream = if store.stream_version(&org).await?.is_some() {
        org
    } else {
        user::stream(owner)
    };
    Ok(Some((owner, stream)))
}

/// The repository `namespace/name` as named at `position`, its namespace and its user grantees.
async fn repository_streams(
    store: &dyn EventStore,
    namespace: &str,
    name: &str,
    position: u64,
    out: &mut Sources,
) -> Result<(), StoreError> {
    let Some((namespace_id, namespace_stream)) =
        namespace_holder(store, namespace, position).await?
    else {
        return Ok(());
    };
    let Ok(name) = RepositoryName::parse(name) else {
        return Ok(());
    };
    let held: Reservation = load_until(
        store,
        &reservation::repository_stream(namespace_id, &name),
        position,
    )
    .await?
    .state;
    let Some(repository_id) = held.owner else {
        return Ok(());
    };
    let stream = repository::stream(repository_id);
    let repo: Repository = load_until(store, &stream, position).await?.state;
    let grantees = repo
        .permissions
        .values()
        .filter(|(delegate, _)| delegate.kind == DelegateKind::User)
        .map(|(delegate, _)| user::stream(delegate.id));
    out.streams.extend(grantees.take(MAX_PEOPLE));
    out.streams.push(namespace_stream);
    out.streams.push(stream);
    Ok(())
}

/// A DigitalOcean registry, its organization and the repositories it held at `position`.
async fn registry_streams(
    store: &dyn EventStore,
    registry_id: Uuid,
    namespace_id: Uuid,
    position: u64,
    out: &mut Sources,
) -> Result<(), StoreError> {
    let stream = registry::stream(registry_id);
    let held: Registry = load_until(store, &stream, position).await?.state;
    if held.id.is_none() {
        return Ok(());
    }
    out.streams
        .extend(held.repositories.iter().map(|id| repository::stream(*id)));
    out.streams.push(organization::stream(namespace_id));
    out.streams.push(stream);
    Ok(())
}
