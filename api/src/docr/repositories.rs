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
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::DoError;
use super::extract::{
    Ctx, DoPath, DoQuery, PageQuery, encode, link, named_registry, page_envelope, rfc3339,
};
use crate::state::AppState;

fn tag_json(registry: &str, repository: &str, t: &TagSummary) -> Value {
    json!({
        "registry_name": registry,
        "repository": repository,
        "tag": t.name,
        "manifest_digest": t.digest,
        "compressed_size_bytes": t.size,
        "size_bytes": t.size,
        "updated_at": rfc3339(t.updated_at),
    })
}

fn manifest_json(registry: &str, repository: &str, m: &ManifestSummary) -> Value {
    json!({
        "digest": m.digest,
        "registry_name": registry,
        "repository": repository,
        "compressed_size_bytes": m.size,
        "size_bytes": m.size,
        "updated_at": rfc3339(m.updated_at),
        "tags": m.tags,
        "blobs": m.blobs.iter().map(|(d, s)| json!({"digest": d, "compressed_size_bytes": s})).collect::<Vec<_>>(),
    })
}

/// `GET /v2/registry/{registry_name}/repositories` (deprecated by V2, still served).
pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<Value>, DoError> {
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
        out.push(json!({
            "registry_name": registry.name,
            "name": r.name,
            "latest_tag": latest.first().map(|t| tag_json(&registry.name, &r.name, t)),
            "tag_count": r.tag_count,
        }));
    }
    let path = format!("/v2/registry/{}/repositories", encode(&registry.name));
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(
        json!({"repositories": out, "meta": meta, "links": links}),
    ))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct V2Query {
    page: Option<u64>,
    per_page: Option<u64>,
    page_token: Option<String>,
}

/// `GET /v2/registry/{registry_name}/repositoriesV2`: `page_token` (a keyset cursor: the last
/// name of the previous page) wins over `page`.
pub async fn list_v2(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath(registry_name): DoPath<String>,
    DoQuery(q): DoQuery<V2Query>,
) -> Result<Json<Value>, DoError> {
    let registry = named_registry(&state, &ctx.caller, &registry_name).await?;
    let paging = PageQuery {
        page: q.page,
        per_page: q.per_page,
    };
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
        out.push(json!({
            "registry_name": registry.name,
            "name": r.name,
            "latest_manifest": latest.first().map(|m| manifest_json(&registry.name, &r.name, m)),
            "tag_count": r.tag_count,
            "manifest_count": r.manifest_count,
        }));
    }
    let path = format!("/v2/registry/{}/repositoriesV2", encode(&registry.name));
    let mut pages = Map::new();
    if let (true, Some(last)) = (more, page.last()) {
        pages.insert(
            "next".into(),
            link(
                &state,
                &path,
                &[
                    ("page_token", URL_SAFE_NO_PAD.encode(last.name.as_bytes())),
                    ("per_page", per_page.to_string()),
                ],
            )
            .into(),
        );
    }
    Ok(Json(json!({
        "repositories": out,
        "meta": {"total": total},
        "links": {"pages": pages},
    })))
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

/// `GET /v2/registry/{registry_name}/repositories/{repository_name}/tags`
pub async fn tags(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, repository_name)): DoPath<(String, String)>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<Value>, DoError> {
    let (registry, repo) = repository(&state, &ctx, &registry_name, &repository_name).await?;
    let (page, total) = docr::tags(state.db().as_ref(), repo.id, q.offset(), q.per_page()).await?;
    let tags: Vec<Value> = page
        .iter()
        .map(|t| tag_json(&registry.name, &repo.name, t))
        .collect();
    let path = repository_path(&registry.name, &repo.name, "tags");
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(json!({"tags": tags, "meta": meta, "links": links})))
}

/// `GET /v2/registry/{registry_name}/repositories/{repository_name}/digests`
pub async fn digests(
    State(state): State<AppState>,
    ctx: Ctx,
    DoPath((registry_name, repository_name)): DoPath<(String, String)>,
    DoQuery(q): DoQuery<PageQuery>,
) -> Result<Json<Value>, DoError> {
    let (registry, repo) = repository(&state, &ctx, &registry_name, &repository_name).await?;
    let (page, total) =
        docr::manifests(state.db().as_ref(), repo.id, q.offset(), q.per_page()).await?;
    let manifests: Vec<Value> = page
        .iter()
        .map(|m| manifest_json(&registry.name, &repo.name, m))
        .collect();
    let path = repository_path(&registry.name, &repo.name, "digests");
    let (meta, links) = page_envelope(&state, &path, &q, total);
    Ok(Json(
        json!({"manifests": manifests, "meta": meta, "links": links}),
    ))
}

/// `DELETE /v2/registry/{registry_name}/repositories/{repository_name}/tags/{repository_tag}`
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

/// `DELETE /v2/registry/{registry_name}/repositories/{repository_name}/digests/{manifest_digest}`
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
