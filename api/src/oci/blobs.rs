//! Blobs of a repository: `HEAD` and `GET /v2/<name>/blobs/<digest>`, with single byte ranges,
//! and `DELETE`. A blob is served only from a repository it was uploaded or mounted into; the
//! bytes stream from the blob store. A delete drops the repository's reference (an event); the
//! bytes go with the next garbage collection that finds them unreferenced.

use annals_commands::CommandError;
use annals_domain::content::BLOB_NOT_LINKED;
use annals_domain::digest::DigestError;
use annals_domain::{Digest, DomainError};
use annals_projections::queries::content;
use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::error::OciError;
use super::repo;
use crate::state::AppState;

pub fn parse_digest(s: &str) -> Result<Digest, OciError> {
    Digest::parse(s).map_err(|e| match e {
        DigestError::Invalid(m) => OciError::digest_invalid(m),
        DigestError::Unsupported(m) => OciError::new(StatusCode::BAD_REQUEST, "UNSUPPORTED", m),
    })
}

/// `bytes=start-end`, `start-` or the suffix `-length` (the last `length` bytes), checked
/// against the blob's size.
fn parse_range(value: &str, size: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    if start.trim().is_empty() {
        let length: u64 = end.trim().parse().ok()?;
        return (length > 0 && size > 0).then(|| (size - length.min(size), size - 1));
    }
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = match end.trim() {
        "" => size.checked_sub(1)?,
        e => e.parse::<u64>().ok()?.min(size.checked_sub(1)?),
    };
    (start <= end && start < size).then_some((start, end))
}

pub async fn get(
    state: &AppState,
    parts: &Parts,
    name: &str,
    digest: &str,
) -> Result<Response, OciError> {
    let digest = parse_digest(digest)?;
    let db = state.db();
    match repo::open(state, parts, name).await {
        Ok(opened) => {
            if content::linked_blob(db.as_ref(), opened.repo.id, &digest)
                .await?
                .is_none()
            {
                return Err(OciError::blob_unknown(&digest));
            }
        }
        // A repository still being pushed shows its pusher the blobs uploaded so far, which
        // wait on the stream its first manifest will create; to anyone else it is unknown.
        Err(unknown) if unknown.code == "NAME_UNKNOWN" => {
            let pending = repo::open_push(state, parts, name)
                .await
                .map_err(|_| unknown.clone())?
                .push
                .repository_id;
            if content::linked_blob(db.as_ref(), pending, &digest)
                .await?
                .is_none()
            {
                return Err(unknown);
            }
        }
        Err(e) => return Err(e),
    }
    let Some(size) = state.blobs.size(&digest).await? else {
        return Err(OciError::blob_unknown(&digest));
    };
    let builder = Response::builder()
        .header("docker-content-digest", digest.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, "application/octet-stream");
    if parts.method == Method::HEAD {
        return Ok(builder
            .header(header::CONTENT_LENGTH, size)
            .body(Body::empty())
            .expect("valid response"));
    }
    let Some(mut file) = state.blobs.open_read(&digest).await? else {
        return Err(OciError::blob_unknown(&digest));
    };
    let range = parts
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    let (status, start, len, builder) = match range {
        None => (StatusCode::OK, 0, size, builder),
        Some(r) => {
            let Some((start, end)) = parse_range(r, size) else {
                return Err(OciError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "BLOB_UNKNOWN",
                    format!("range {r:?} is not satisfiable for {size} bytes"),
                )
                .with_header(header::CONTENT_RANGE, format!("bytes */{size}")));
            };
            (
                StatusCode::PARTIAL_CONTENT,
                start,
                end - start + 1,
                builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")),
            )
        }
    };
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = ReaderStream::with_capacity(file.take(len), 256 * 1024);
    Ok(builder
        .status(status)
        .header(header::CONTENT_LENGTH, len)
        .body(Body::from_stream(stream))
        .expect("valid response"))
}

/// `DELETE /v2/<name>/blobs/<digest>`: for the repository's administrators; refused while a
/// manifest of the repository names the blob.
pub async fn delete(
    state: &AppState,
    parts: &Parts,
    name: &str,
    digest: &str,
) -> Result<Response, OciError> {
    let digest = parse_digest(digest)?;
    let _writing = state.blobs.write_guard();
    let owning = repo::open_admin(state, parts, name).await?;
    let done = state
        .commands
        .unlink_blob(&owning.envelope, &owning.target, digest.clone())
        .await
        .map_err(|e| match e {
            CommandError::Domain(DomainError::NotFound(m)) if m.starts_with(BLOB_NOT_LINKED) => {
                OciError::blob_unknown(&digest)
            }
            e => OciError::from(e),
        })?;
    state.settle(&done).await;
    Ok(super::accepted())
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=90-200", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-4", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-500", 100), Some((0, 99)));
        assert_eq!(parse_range("bytes=-0", 100), None);
        assert_eq!(parse_range("bytes=-1", 0), None);
        assert_eq!(parse_range("bytes=-", 100), None);
    }
}
