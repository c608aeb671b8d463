//! A registry's repositories, their tags and manifests, and deleting a tag or a manifest. A
//! repository name with `/` arrives percent-encoded (`my%2Frepo`) and is decoded with the path.

use annals_commands::{ContentCommand, RepositoryRef};
use annals_domain::{Digest, NamespaceName, RepositoryName, TagName};
use annals_projections::queries::docr::{self, ManifestSummary, TagSummary};
use annals_projections::queries::registries::RegistryView;
use annals_projections::queries::repositories::{self, RepositoryView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::error::DoError;
use super::extract::{
    Ctx, DoPath, DoQuery, Links, Meta, PageQuery, encode, link, named_registry, page_envelope,
    rfc3339,
};
use crate::state::AppState;

/// A tag of a repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryRepositoryTag {
    pub registry_name: String,
    pub repository: String,
    pub tag: String,
    pub manifest_digest: String,
    pub compressed_size_bytes: u64,
    pub size_bytes: u64,
    /// RFC 3339.
    pub updated_at: String,
}

fn tag_json(registry: &str, repository: &str, t: &TagSummary) -> RegistryRepositoryTag {
    RegistryRepositoryTag {
        registry_name: registry.to_owned(),
        repository: repository.to_owned(),
        tag: t.name.clone(),
        manifest_digest: t.digest.clone(),
        compressed_size_bytes: t.size,
        size_bytes: t.size,
        updated_at: rfc3339(t.updated_at),
    }
}

/// A blob a manifest references.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Blob {
    pub digest: String,
    pub compressed_size_bytes: u64,
}

/// A manifest of a repository.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryRepositoryManifest {
    pub digest: String,
    pub registry_name: String,
    pub repository: String,
    pub compressed_size_bytes: u64,
    pub size_bytes: u64,
    /// RFC 3339.
    pub updated_at: String,
    pub tags: Vec<String>,
    pub blobs: Vec<Blob>,
}

fn manifest_json(
    registry: &str,
    repository: &str,
    m: &ManifestSummary,
) -> RegistryRepositoryManifest {
    RegistryRepositoryManifest {
        digest: m.digest.clone(),
        registry_name: registry.to_owned(),
        repository: repository.to_owned(),
        compressed_size_bytes: m.size,
        size_bytes: m.size,
        updated_at: rfc3339(m.updated_at),
        tags: m.tags.clone(),
        blobs: m
            .blobs
            .iter()
            .map(|(d, s)| Blob {
                digest: d.clone(),
                compressed_size_bytes: *s,
            })
            .collect(),
    }
}

/// A repository in the (V1) list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryRepository {
    pub registry_name: String,
    pub name: String,
    pub latest_tag: Option<RegistryRepositoryTag>,
    pub tag_count: u64,
}

/// `{repositories, meta, links}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryRepositoryList {
    pub repositories: Vec<RegistryRepository>,
    pub meta: Meta,
    pub links: Links,
}

/// A repository in the V2 list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryRepositoryV2 {
    pub registry_name: String,
    pub name: String,
    pub latest_manifest: Option<RegistryRepositoryManifest>,
    pub tag_count: u64,
    pub manifest_count: u64,
}

/// `{repositories, meta, links}` (V2: `links.pages.next` carries a `page_token`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistryRepositoryListV2 {
    pub repositories: Vec<RegistryRepositoryV2>,
    pub meta: Meta,
    pub links: Links,
}

/// `{tags, meta, links}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TagList {
    pub tags: Vec<RegistryRepositoryTag>,
    pub meta: Meta,
    pub links: Links,
}

/// `{manifests, meta, links}`
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ManifestList {
    pub manifests: Vec<RegistryRepositoryManifest>,
    pub meta: Meta,
    pub links: Links,
}

/// List all container repositories (deprecated by V2, still served).
#[utoipa::path(get, path = "/v2/registry/{registry_name}/repositories", operation_id = "registry_list_repositories", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"), PageQuery),
    responses((status = 200, body = RegistryRepositoryList, description = "A page of repositories with their latest tag")))]
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<RegistryRepositoryList>, DoError> {
    let q = q.checked()?;
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let db = state.db();
    let (page, total) = docr::repositories(
        db.as_ref(),
        registry.namespace_id,
        None,
        q.offset(),
        q.per_page(),
    )
    .await?;
    let mut out = Vec::with_capacity(page.len());
    for r in &page {
        let (latest, _) = docr::tags(db.as_ref(), r.id, 0, 1).await?;
        out.push(RegistryRepository {
            registry_name: registry.name.clone(),
            name: r.name.clone(),
            latest_tag: latest.first().map(|t| tag_json(&registry.name, &r.name, t)),
            tag_count: r.tag_count,
        });
    }
    let path = format!("/v2/registry/{}/repositories", encode(&registry.name));
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(RegistryRepositoryList {
        repositories: out,
        meta,
        links,
    }))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct V2Query {
    /// Which 'page' of paginated results to return (ignored with `page_token`).
    #[param(minimum = 1, maximum = 100_000)]
    page: Option<u64>,
    /// Number of items returned per page.
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<u64>,
    /// Token to retrieve the next page, from `links.pages.next`.
    page_token: Option<String>,
}

/// List all container repositories (V2): `page_token` (a keyset cursor: the last name of the
/// previous page) wins over `page`.
#[utoipa::path(get, path = "/v2/registry/{registry_name}/repositoriesV2", operation_id = "registry_list_repositories_v2", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"), V2Query),
    responses((status = 200, body = RegistryRepositoryListV2, description = "A page of repositories with their latest manifest")))]
pub async fn list_v2(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoQuery(q): DoQuery<V2Query>,
) -> Result<Json<RegistryRepositoryListV2>, DoError> {
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let paging = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .checked()?;
    let after = match q.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| DoError::bad_request("invalid page_token"))?,
        ),
        None => None,
    };
    let per_page = paging.per_page();
    let db = state.db();
    let (mut page, total) = docr::repositories(
        db.as_ref(),
        registry.namespace_id,
        after.as_deref(),
        paging.offset(),
        per_page + 1,
    )
    .await?;
    let more = page.len() as u64 > per_page;
    page.truncate(per_page as usize);
    let mut out = Vec::with_capacity(page.len());
    for r in &page {
        let (latest, _) = docr::manifests(db.as_ref(), r.id, 0, 1).await?;
        out.push(RegistryRepositoryV2 {
            registry_name: registry.name.clone(),
            name: r.name.clone(),
            latest_manifest: latest
                .first()
                .map(|m| manifest_json(&registry.name, &r.name, m)),
            tag_count: r.tag_count,
            manifest_count: r.manifest_count,
        });
    }
    let path = format!("/v2/registry/{}/repositoriesV2", encode(&registry.name));
    let mut links = Links::default();
    if let (true, Some(last)) = (more, page.last()) {
        links.pages.next = Some(link(
            &state,
            &path,
            &[
                ("page_token", URL_SAFE_NO_PAD.encode(last.name.as_bytes())),
                ("per_page", per_page.to_string()),
            ],
        ));
    }
    Ok(Json(RegistryRepositoryListV2 {
        repositories: out,
        meta: Meta { total },
        links,
    }))
}

/// The repository `repository` of the caller's registry `registry_name`.
async fn repository(
    state: &AppState,
    ctx: &Ctx,
    registry_name: &str,
    repository: &str,
) -> Result<(RegistryView, RepositoryView), DoError> {
    let registry = named_registry(state, &ctx.caller, registry_name).await?;
    let repo = repositories::get(state.db().as_ref(), &registry.name, repository)
        .await?
        .ok_or_else(|| DoError::not_found(format!("repository {repository:?} not found")))?;
    Ok((registry, repo))
}

fn repository_ref(
    registry: &RegistryView,
    repo: &RepositoryView,
) -> Result<RepositoryRef, DoError> {
    Ok(RepositoryRef {
        namespace: NamespaceName::parse(&registry.name)?,
        name: RepositoryName::parse(&repo.name)?,
    })
}

fn repository_path(registry: &str, repository: &str, what: &str) -> String {
    format!(
        "/v2/registry/{}/repositories/{}/{what}",
        encode(registry),
        encode(repository)
    )
}

/// List all container repository tags.
#[utoipa::path(get, path = "/v2/registry/{registry_name}/repositories/{repository_name}/tags", operation_id = "registry_list_repository_tags", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"),
        ("repository_name" = String, Path, description = "The name of a container registry repository (`/` as `%2F`)"),
        PageQuery),
    responses((status = 200, body = TagList, description = "A page of tags")))]
pub async fn tags(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, repository_name)): DoPath<(String, String)>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<TagList>, DoError> {
    let q = q.checked()?;
    let (registry, repo) = repository(&state, &ctx, &registry_name, &repository_name).await?;
    let (page, total) = docr::tags(state.db().as_ref(), repo.id, q.offset(), q.per_page()).await?;
    let tags = page
        .iter()
        .map(|t| tag_json(&registry.name, &repo.name, t))
        .collect();
    let path = repository_path(&registry.name, &repo.name, "tags");
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(TagList { tags, meta, links }))
}

/// List all container repository manifests.
#[utoipa::path(get, path = "/v2/registry/{registry_name}/repositories/{repository_name}/digests", operation_id = "registry_list_repository_manifests", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"),
        ("repository_name" = String, Path, description = "The name of a container registry repository (`/` as `%2F`)"),
        PageQuery),
    responses((status = 200, body = ManifestList, description = "A page of manifests")))]
pub async fn digests(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, repository_name)): DoPath<(String, String)>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<ManifestList>, DoError> {
    let q = q.checked()?;
    let (registry, repo) = repository(&state, &ctx, &registry_name, &repository_name).await?;
    let (page, total) =
        docr::manifests(state.db().as_ref(), repo.id, q.offset(), q.per_page()).await?;
    let manifests = page
        .iter()
        .map(|m| manifest_json(&registry.name, &repo.name, m))
        .collect();
    let path = repository_path(&registry.name, &repo.name, "digests");
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(ManifestList {
        manifests,
        meta,
        links,
    }))
}

/// Delete a container repository tag.
#[utoipa::path(delete, path = "/v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}", operation_id = "registry_delete_repository_tag", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"),
        ("repository_name" = String, Path, description = "The name of a container registry repository (`/` as `%2F`)"),
        ("repository_tag" = String, Path, description = "The name of a container registry repository tag")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_tag(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, repository_name, tag)): DoPath<(String, String, String)>,
) -> Result<StatusCode, DoError> {
    change(&state, &ctx, &registry_name, &repository_name, || {
        let tag = TagName::parse(&tag)
            .map_err(|_| DoError::not_found(format!("tag {tag:?} not found")))?;
        Ok(ContentCommand::DeleteTag { tag })
    })
    .await
}

/// Delete a container repository manifest.
#[utoipa::path(delete, path = "/v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}", operation_id = "registry_delete_repository_manifest", tag = "registry",
    params(("registry_name" = String, Path, description = "The name of a container registry"),
        ("repository_name" = String, Path, description = "The name of a container registry repository (`/` as `%2F`)"),
        ("manifest_digest" = String, Path, description = "The manifest digest of a container registry repository tag")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_manifest(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, repository_name, digest)): DoPath<(String, String, String)>,
) -> Result<StatusCode, DoError> {
    change(&state, &ctx, &registry_name, &repository_name, || {
        let digest = Digest::parse(&digest)
            .map_err(|_| DoError::unprocessable(format!("invalid manifest digest {digest:?}")))?;
        Ok(ContentCommand::DeleteManifest { digest })
    })
    .await
}

/// Runs the content command `command` builds (once the repository is found, so an unknown
/// repository answers 404 before a malformed argument does) and answers `204 No Content`.
async fn change(
    state: &AppState,
    ctx: &Ctx,
    registry_name: &str,
    repository_name: &str,
    command: impl FnOnce() -> Result<ContentCommand, DoError>,
) -> Result<StatusCode, DoError> {
    let (registry, repo) = repository(state, ctx, registry_name, repository_name).await?;
    let done = state
        .commands
        .change_content(
            &ctx.envelope,
            &repository_ref(&registry, &repo)?,
            command()?,
        )
        .await?;
    state.settle(&done).await;
    Ok(StatusCode::NO_CONTENT)
}
