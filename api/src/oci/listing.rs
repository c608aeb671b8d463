//! Lists: tags of a repository (`n`, `last`, `Link` to the next page), the catalog of
//! repositories, and the referrers of a manifest (`artifactType` filter).

use std::collections::HashMap;

use annals_domain::manifest::OCI_INDEX;
use annals_projections::queries::content;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::auth;
use super::blobs::parse_digest;
use super::error::OciError;
use super::repo;
use crate::state::AppState;

/// The most entries a page holds when the client does not ask for fewer.
const MAX_PAGE: usize = 1000;

fn query(parts: &Parts) -> HashMap<String, String> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn page_size(q: &HashMap<String, String>) -> Result<usize, OciError> {
    match q.get("n") {
        None => Ok(MAX_PAGE),
        Some(n) => n.parse::<usize>().map(|n| n.min(MAX_PAGE)).map_err(|_| {
            OciError::new(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                "n must be a number",
            )
        }),
    }
}

fn json_response(body: Value, link: Option<String>) -> Response {
    let mut builder = Response::builder().header(header::CONTENT_TYPE, "application/json");
    if let Some(link) = link {
        builder = builder.header(header::LINK, link);
    }
    builder
        .body(Body::from(body.to_string()))
        .expect("valid response")
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn tags(state: &AppState, parts: &Parts, name: &str) -> Result<Response, OciError> {
    let opened = repo::open(state, parts, name).await?;
    let q = query(parts);
    let n = page_size(&q)?;
    let last = q.get("last").map(String::as_str);
    let db = state.db();
    let (tags, more) = content::tag_names(db.as_ref(), opened.repo.id, last, n).await?;
    let link = (more && n > 0).then(|| {
        let last = tags.last().cloned().unwrap_or_default();
        format!(
            "</v2/{name}/tags/list?n={n}&last={}>; rel=\"next\"",
            encode(&last)
        )
    });
    Ok(json_response(json!({"name": name, "tags": tags}), link))
}

pub async fn catalog(state: &AppState, parts: &Parts) -> Result<Response, OciError> {
    let Some(who) = auth::identify(state, parts, Some("registry:catalog:*")).await? else {
        return Err(OciError::unauthorized(auth::challenge(
            state,
            Some("registry:catalog:*"),
        )));
    };
    let q = query(parts);
    let n = page_size(&q)?;
    let db = state.db();
    let (names, more) = content::catalog(
        db.as_ref(),
        who.caller.viewer(),
        q.get("last").map(String::as_str),
        n,
    )
    .await?;
    let link = (more && n > 0).then(|| {
        let last = names.last().cloned().unwrap_or_default();
        format!("</v2/_catalog?n={n}&last={}>; rel=\"next\"", encode(&last))
    });
    Ok(json_response(json!({"repositories": names}), link))
}

pub async fn referrers(
    state: &AppState,
    parts: &Parts,
    name: &str,
    digest: &str,
) -> Result<Response, OciError> {
    let subject = parse_digest(digest)?;
    let q = query(parts);
    let artifact_type = q.get("artifactType").map(String::as_str);
    let db = state.db();
    // The spec answers every subject with an index, an empty one when nothing refers to it —
    // also in a repository nothing was pushed to yet (to a caller who may know that).
    let found = match repo::open(state, parts, name).await {
        Ok(opened) => {
            content::referrers(db.as_ref(), opened.repo.id, &subject, artifact_type).await?
        }
        Err(e) if e.code == "NAME_UNKNOWN" => Vec::new(),
        Err(e) => return Err(e),
    };
    let manifests: Vec<Value> = found
        .iter()
        .map(|m| {
            let annotations: Value = serde_json::from_str(&m.annotations).unwrap_or(json!({}));
            let mut d = json!({"mediaType": m.media_type, "digest": m.digest, "size": m.size});
            if let Some(t) = &m.artifact_type {
                d["artifactType"] = json!(t);
            }
            if annotations.as_object().is_some_and(|a| !a.is_empty()) {
                d["annotations"] = annotations;
            }
            d
        })
        .collect();
    let mut builder = Response::builder().header(header::CONTENT_TYPE, OCI_INDEX);
    if artifact_type.is_some() {
        builder = builder.header("oci-filters-applied", "artifactType");
    }
    let body = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Ok(builder
        .body(Body::from(body.to_string()))
        .expect("valid response"))
}
