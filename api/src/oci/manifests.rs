//! Manifests: `PUT`, `GET`, `HEAD` and `DELETE /v2/<name>/manifests/<reference>`, by tag or by
//! digest, with `?tag=` on a push by digest. The digest is always computed over the exact bytes
//! received; the bytes are stored in the blob store and served back unchanged. Every `GET` is a
//! `pull_repo` event. In a proxy-cache organization a pull first brings the reference in from
//! the upstream (`proxy.rs`).

use annals_commands::{ContentCommand, ManifestPush};
use annals_domain::manifest::{self, ManifestError};
use annals_domain::{Digest, DigestAlgorithm, TagName};
use annals_projections::queries::content::{self, ManifestView};
use annals_store::blobs::digest_of;
use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;

use super::accept::Accept;
use super::blobs::parse_digest;
use super::error::OciError;
use super::repo::{self, Opened};
use crate::state::AppState;

/// A reference: a digest (contains `:`) or a tag.
enum Reference {
    Digest(Digest),
    Tag(TagName),
}

fn parse_reference(reference: &str) -> Result<Reference, OciError> {
    if reference.contains(':') {
        parse_digest(reference).map(Reference::Digest)
    } else {
        TagName::parse(reference)
            .map(Reference::Tag)
            .map_err(|e| OciError::new(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", e.to_string()))
    }
}

async fn resolve(
    state: &AppState,
    opened: &Opened,
    reference: &Reference,
) -> Result<Option<Digest>, OciError> {
    let db = state.db();
    Ok(match reference {
        Reference::Digest(d) => content::manifest(db.as_ref(), opened.repo.id, d)
            .await?
            .map(|m| m.digest),
        Reference::Tag(t) => content::tag_target(db.as_ref(), opened.repo.id, t.as_str()).await?,
    })
}

/// A manifest of the repository and its bytes.
async fn stored(
    state: &AppState,
    opened: &Opened,
    digest: &Digest,
) -> Result<Option<(ManifestView, Bytes)>, OciError> {
    let db = state.db();
    let Some(view) = content::manifest(db.as_ref(), opened.repo.id, digest).await? else {
        return Ok(None);
    };
    Ok(state
        .blobs
        .read_small(digest)
        .await?
        .map(|b| (view, b.into())))
}

/// What to serve a client whose `Accept` does not allow the stored media type, as Docker's
/// distribution does: through a tag, an index's `linux/amd64` image if that is allowed; an OCI
/// manifest or index is otherwise unknown to such a client. A Docker manifest is served as it is
/// (there is no conversion to schema 1).
async fn negotiate(
    state: &AppState,
    opened: &Opened,
    accept: &Accept,
    by_tag: bool,
    view: ManifestView,
    bytes: Bytes,
) -> Result<(ManifestView, Bytes), OciError> {
    if accept.allows(&view.media_type) {
        return Ok((view, bytes));
    }
    if by_tag
        && let Ok(index) = manifest::parse(&bytes, Some(&view.media_type))
        && let Some(child) = index.default_platform_manifest()
        && accept.allows(&child.media_type)
        && let Some(found) = stored(state, opened, &child.digest).await?
    {
        return Ok(found);
    }
    if view.media_type == manifest::OCI_MANIFEST || view.media_type == manifest::OCI_INDEX {
        return Err(OciError::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!(
                "manifest {} is {}, which the Accept header does not allow",
                view.digest, view.media_type
            ),
        ));
    }
    Ok((view, bytes))
}

pub async fn get(
    state: &AppState,
    parts: &Parts,
    name: &str,
    reference: &str,
) -> Result<Response, OciError> {
    // A proxy-cache organization first brings the reference in from its upstream.
    super::proxy::prepare(state, parts, name, reference).await?;
    let opened = repo::open(state, parts, name).await?;
    // A reference that cannot exist (a malformed tag or digest) is simply not there.
    let reference =
        parse_reference(reference).map_err(|_| OciError::manifest_unknown(reference))?;
    let not_found = || match &reference {
        Reference::Digest(d) => OciError::manifest_unknown(d),
        Reference::Tag(t) => OciError::manifest_unknown(t),
    };
    let digest = resolve(state, &opened, &reference)
        .await?
        .ok_or_else(not_found)?;
    let (view, bytes) = stored(state, &opened, &digest)
        .await?
        .ok_or_else(not_found)?;
    let (view, bytes) = negotiate(
        state,
        &opened,
        &Accept::from_headers(&parts.headers),
        matches!(reference, Reference::Tag(_)),
        view,
        bytes,
    )
    .await?;
    let digest = view.digest;
    if parts.method == Method::GET {
        let tag = match &reference {
            Reference::Tag(t) => Some(t.clone()),
            Reference::Digest(_) => None,
        };
        // The pull is served either way; a failure to record it is logged, not shown.
        if let Err(e) = state
            .commands
            .record_pull(
                &opened.envelope,
                opened.scope(),
                opened.repo.id,
                digest.clone(),
                tag,
            )
            .await
        {
            tracing::warn!("recording a pull of {name}@{digest}: {e}");
        }
    }
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, view.media_type)
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, bytes.len());
    Ok(if parts.method == Method::HEAD {
        builder.body(Body::empty())
    } else {
        builder.body(Body::from(bytes))
    }
    .expect("valid response"))
}

pub async fn put(
    state: &AppState,
    parts: &Parts,
    name: &str,
    reference: &str,
    body: Body,
) -> Result<Response, OciError> {
    let _writing = state.blobs.write_guard();
    let pushing = repo::open_push(state, parts, name).await?;
    let reference = parse_reference(reference)?;
    let bytes = axum::body::to_bytes(body, manifest::MAX_MANIFEST_BYTES)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                OciError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "SIZE_INVALID",
                    format!(
                        "manifests are limited to {} bytes",
                        manifest::MAX_MANIFEST_BYTES
                    ),
                )
            } else {
                OciError::manifest_invalid(format!("the request body broke off: {e}"))
            }
        })?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let summary = manifest::parse(&bytes, content_type).map_err(|e| match e {
        ManifestError::TooLarge(_) => {
            OciError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", e.to_string())
        }
        other => OciError::manifest_invalid(other.to_string()),
    })?;
    let (digest, mut tags) = match reference {
        Reference::Digest(expected) => {
            let actual = digest_of(expected.algorithm(), &bytes);
            if actual != expected {
                return Err(OciError::digest_invalid(format!(
                    "the manifest's digest is {actual}, not {expected}"
                )));
            }
            (expected, vec![])
        }
        Reference::Tag(tag) => (digest_of(DigestAlgorithm::Sha256, &bytes), vec![tag]),
    };
    // `?tag=` names more tags; each one applied is answered in an `OCI-Tag` header.
    let mut queried = Vec::new();
    for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        if key == "tag" {
            let tag =
                TagName::parse(&value).map_err(|e| OciError::manifest_invalid(e.to_string()))?;
            queried.push(tag.to_string());
            tags.push(tag);
        }
    }
    let mut tags = tags.into_iter();
    // The bytes are stored only once the push is decided: a refused manifest leaves nothing.
    let persist = || state.blobs.put_bytes(&digest, &bytes);
    let done = state
        .commands
        .push_manifest(
            &pushing.envelope,
            &pushing.target,
            ManifestPush {
                digest: digest.clone(),
                size: bytes.len() as u64,
                summary: summary.clone(),
                tag: tags.next(),
            },
            persist,
        )
        .await?;
    let mut last = done;
    for tag in tags {
        last = state
            .commands
            .change_content(
                &pushing.envelope.follow_up(&format!("tag {tag}")),
                &pushing.target,
                ContentCommand::SetTag {
                    tag,
                    digest: digest.clone(),
                },
            )
            .await?;
    }
    state.settle(&last).await;
    let mut builder = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/manifests/{digest}"))
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, 0);
    if let Some(subject) = &summary.subject {
        builder = builder.header("oci-subject", subject.digest.to_string());
    }
    for tag in queried {
        builder = builder.header("oci-tag", tag);
    }
    Ok(builder.body(Body::empty()).expect("valid response"))
}

pub async fn delete(
    state: &AppState,
    parts: &Parts,
    name: &str,
    reference: &str,
) -> Result<Response, OciError> {
    let _writing = state.blobs.write_guard();
    let pushing = repo::open_push(state, parts, name).await?;
    if !pushing.push.exists {
        return Err(OciError::name_unknown(name));
    }
    let command = match parse_reference(reference)? {
        Reference::Digest(digest) => ContentCommand::DeleteManifest { digest },
        Reference::Tag(tag) => ContentCommand::DeleteTag { tag },
    };
    let done = state
        .commands
        .change_content(&pushing.envelope, &pushing.target, command)
        .await
        .map_err(|e| match OciError::from(e) {
            // An unknown tag is an unknown manifest reference to OCI clients.
            e if e.code == "NAME_UNKNOWN" => OciError::manifest_unknown(reference),
            e => e,
        })?;
    state.settle(&done).await;
    Ok(super::accepted())
}
