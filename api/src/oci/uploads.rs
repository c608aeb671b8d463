//! Blob uploads: monolithic (`POST ?digest=`), streamed and chunked (`POST`, `PATCH`..., `PUT
//! ?digest=`), status (`GET`), cancel (`DELETE`) and cross-repository mount (`POST ?mount=&from=`).
//! Bytes go to disk as they arrive; the digest is verified before the blob becomes visible, and
//! only then is the upload recorded as an event.

use std::collections::HashMap;

use annals_projections::queries::content;
use annals_store::blobs::UploadError;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use uuid::Uuid;

use super::blobs::parse_digest;
use super::error::OciError;
use super::repo::{self, Pushing, parse_name};
use crate::state::AppState;

fn query(parts: &Parts) -> HashMap<String, String> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn upload_response(status: StatusCode, name: &str, id: Uuid, size: u64) -> Response {
    Response::builder()
        .status(status)
        .header(header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}"))
        .header(header::RANGE, format!("0-{}", size.saturating_sub(1)))
        .header("docker-upload-uuid", id.to_string())
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .expect("valid response")
}

fn blob_created(name: &str, digest: &annals_domain::Digest) -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .expect("valid response")
}

fn upload_error(e: UploadError, name: &str, id: Uuid) -> OciError {
    match e {
        UploadError::Unknown => OciError::upload_unknown(),
        UploadError::OutOfOrder { have, got } => OciError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            format!("chunk starts at {got}, the upload has {have} bytes"),
        )
        .with_header(header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}"))
        .with_header(header::RANGE, format!("0-{}", have.saturating_sub(1)))
        .with_header(
            "docker-upload-uuid".parse().expect("header name"),
            id.to_string(),
        ),
        UploadError::DigestMismatch { .. } => OciError::digest_invalid(e.to_string()),
        UploadError::Truncated(_) => OciError::new(
            StatusCode::BAD_REQUEST,
            "BLOB_UPLOAD_INVALID",
            e.to_string(),
        ),
        UploadError::TooLarge(_) => {
            OciError::new(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID", e.to_string())
        }
        UploadError::TooMany(_) => OciError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOOMANYREQUESTS",
            e.to_string(),
        )
        .with_header(header::RETRY_AFTER, "10"),
        UploadError::Body(_) => OciError::new(
            StatusCode::BAD_REQUEST,
            "BLOB_UPLOAD_INVALID",
            e.to_string(),
        ),
        UploadError::Io(io) => OciError::internal(io),
    }
}

/// The upload id in the path, belonging to this repository.
async fn session(state: &AppState, name: &str, id: &str) -> Result<Uuid, OciError> {
    let id = Uuid::parse_str(id).map_err(|_| OciError::upload_unknown())?;
    let info = state
        .blobs
        .upload_status(id)
        .await
        .map_err(|e| upload_error(e, name, id))?;
    if info.repository != name {
        return Err(OciError::upload_unknown());
    }
    Ok(id)
}

/// Where a chunk starts, from its `Content-Range: start-end` (checked to be well formed).
fn content_range(parts: &Parts) -> Result<Option<u64>, OciError> {
    let Some(value) = parts.headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = || {
        OciError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            "malformed Content-Range",
        )
    };
    let value = value.to_str().map_err(|_| bad())?;
    let value = value
        .trim()
        .trim_start_matches("bytes")
        .trim_start_matches(['=', ' ']);
    let value = value.split('/').next().unwrap_or("");
    let (start, end) = value.split_once('-').ok_or_else(bad)?;
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    Ok(Some(start))
}

/// Refuses a body whose declared length alone passes the largest blob, before reading it.
fn check_declared_length(state: &AppState, parts: &Parts, have: u64) -> Result<(), OciError> {
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if have.saturating_add(n) > state.max_blob_bytes => Err(OciError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "SIZE_INVALID",
            UploadError::TooLarge(state.max_blob_bytes).to_string(),
        )),
        _ => Ok(()),
    }
}

/// Appends the request body to the upload, where its `Content-Range` (if any) says it starts;
/// answers the upload's new size. A body that breaks off leaves the upload as it was.
async fn append_chunk(
    state: &AppState,
    parts: &Parts,
    name: &str,
    id: Uuid,
    body: Body,
) -> Result<u64, OciError> {
    let start = content_range(parts)?;
    let have = state
        .blobs
        .upload_status(id)
        .await
        .map_err(|e| upload_error(e, name, id))?
        .size;
    check_declared_length(state, parts, have)?;
    state
        .blobs
        .append_upload(
            id,
            start,
            Some(state.max_blob_bytes),
            body.into_data_stream(),
        )
        .await
        .map_err(|e| upload_error(e, name, id))
}

/// Records the blob in the repository (an event) and answers `201 Created`. `persist` makes
/// the bytes visible in the blob store once the record is decided (within the tier, the
/// registry writable), so a refused blob is never stored.
async fn record_blob<P, PFut>(
    state: &AppState,
    pushing: &Pushing,
    name: &str,
    digest: &annals_domain::Digest,
    size: u64,
    mounted_from: Option<String>,
    persist: P,
) -> Result<Response, OciError>
where
    P: Fn() -> PFut,
    PFut: std::future::Future<Output = std::io::Result<()>>,
{
    let done = state
        .commands
        .record_blob(
            &pushing.envelope,
            &pushing.target,
            digest.clone(),
            size,
            mounted_from,
            persist,
        )
        .await?;
    state.settle(&done).await;
    Ok(blob_created(name, digest))
}

/// Verifies the upload against its digest, then records the blob and stores it.
async fn finish(
    state: &AppState,
    pushing: &Pushing,
    name: &str,
    id: Uuid,
    digest: &annals_domain::Digest,
) -> Result<Response, OciError> {
    let size = state
        .blobs
        .verify_upload(id, digest)
        .await
        .map_err(|e| upload_error(e, name, id))?;
    let persist = || async {
        state
            .blobs
            .complete_upload(id, digest)
            .await
            .map(|_| ())
            .map_err(std::io::Error::other)
    };
    record_blob(state, pushing, name, digest, size, None, persist).await
}

/// `POST /v2/<name>/blobs/uploads/`.
pub async fn start(
    state: &AppState,
    parts: &Parts,
    name: &str,
    body: Body,
) -> Result<Response, OciError> {
    let _writing = state.blobs.write_guard();
    let pushing = repo::open_push(state, parts, name).await?;
    let q = query(parts);
    if let Some(mount) = q.get("mount")
        && let Some(response) = mount_from(state, &pushing, name, mount, q.get("from")).await?
    {
        return Ok(response);
    }
    let digest = q.get("digest").map(|d| parse_digest(d)).transpose()?;
    if digest.is_some() {
        check_declared_length(state, parts, 0)?;
    }
    let upload = state
        .blobs
        .start_upload(
            name,
            &pushing.caller.caller.user_id.to_string(),
            state.upload_limits,
        )
        .await
        .map_err(|e| upload_error(e, name, Uuid::nil()))?;
    let Some(digest) = digest else {
        return Ok(upload_response(StatusCode::ACCEPTED, name, upload.id, 0));
    };
    // Monolithic: the body is the whole blob.
    if let Err(e) = state
        .blobs
        .append_upload(
            upload.id,
            Some(0),
            Some(state.max_blob_bytes),
            body.into_data_stream(),
        )
        .await
    {
        let _ = state.blobs.cancel_upload(upload.id).await;
        return Err(upload_error(e, name, upload.id));
    }
    let result = finish(state, &pushing, name, upload.id, &digest).await;
    if result.is_err() {
        let _ = state.blobs.cancel_upload(upload.id).await;
    }
    result
}

/// A cross-repository mount: answers 201 when `from` has the blob — or, without `from`, a
/// repository the caller may read does (the spec's automatic content discovery) — and `None`
/// to fall back to a plain upload as the spec asks. A source the caller may not read is
/// treated as not having the blob, so a mount never reveals another repository's content.
async fn mount_from(
    state: &AppState,
    pushing: &Pushing,
    name: &str,
    mount: &str,
    from: Option<&String>,
) -> Result<Option<Response>, OciError> {
    /// How many repositories holding the blob discovery looks at.
    const DISCOVERY_CANDIDATES: u32 = 32;
    let digest = parse_digest(mount)?;
    let db = state.db();
    let caller = &pushing.caller.caller;
    let source_id = match from {
        Some(from) => {
            let Ok(source) = parse_name(from) else {
                return Ok(None);
            };
            repo::mount_source(state, caller, &source).await?
        }
        None => {
            let mut found = None;
            let candidates =
                content::repositories_with_blob(db.as_ref(), &digest, DISCOVERY_CANDIDATES).await?;
            for candidate in candidates {
                if repo::may_read(state, caller, &candidate).await? {
                    found = Some(candidate.id);
                    break;
                }
            }
            found
        }
    };
    let Some(source_id) = source_id else {
        return Ok(None);
    };
    let (Some(size), Some(_)) = (
        content::linked_blob(db.as_ref(), source_id, &digest).await?,
        state.blobs.size(&digest).await?,
    ) else {
        return Ok(None);
    };
    // The stored file is claimed (stamped) once the mount is decided, so a collection running
    // meanwhile keeps it.
    let persist = || async {
        match state.blobs.claim(&digest).await? {
            Some(_) => Ok(()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("blob {digest} was collected during the mount"),
            )),
        }
    };
    record_blob(state, pushing, name, &digest, size, from.cloned(), persist)
        .await
        .map(Some)
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`: one more chunk.
pub async fn patch(
    state: &AppState,
    parts: &Parts,
    name: &str,
    id: &str,
    body: Body,
) -> Result<Response, OciError> {
    let _writing = state.blobs.write_guard();
    repo::open_push(state, parts, name).await?;
    let id = session(state, name, id).await?;
    let size = append_chunk(state, parts, name, id, body).await?;
    Ok(upload_response(StatusCode::ACCEPTED, name, id, size))
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=`: the last chunk (maybe empty) and the digest.
pub async fn put(
    state: &AppState,
    parts: &Parts,
    name: &str,
    id: &str,
    body: Body,
) -> Result<Response, OciError> {
    let _writing = state.blobs.write_guard();
    let pushing = repo::open_push(state, parts, name).await?;
    let id = session(state, name, id).await?;
    let digest = query(parts)
        .get("digest")
        .map(|d| parse_digest(d))
        .transpose()?
        .ok_or_else(|| OciError::digest_invalid("the digest query parameter is required"))?;
    append_chunk(state, parts, name, id, body).await?;
    finish(state, &pushing, name, id, &digest).await
}

/// `GET /v2/<name>/blobs/uploads/<id>`: how far the upload got.
pub async fn status(
    state: &AppState,
    parts: &Parts,
    name: &str,
    id: &str,
) -> Result<Response, OciError> {
    repo::open_push(state, parts, name).await?;
    let id = session(state, name, id).await?;
    let info = state
        .blobs
        .upload_status(id)
        .await
        .map_err(|e| upload_error(e, name, id))?;
    Ok(upload_response(StatusCode::NO_CONTENT, name, id, info.size))
}

/// `DELETE /v2/<name>/blobs/uploads/<id>`: abandon it.
pub async fn cancel(
    state: &AppState,
    parts: &Parts,
    name: &str,
    id: &str,
) -> Result<Response, OciError> {
    repo::open_push(state, parts, name).await?;
    let id = session(state, name, id).await?;
    state
        .blobs
        .cancel_upload(id)
        .await
        .map_err(|e| upload_error(e, name, id))?;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .expect("valid response"))
}
