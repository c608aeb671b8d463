//! Copying one image from an upstream registry into a repository, through the commands of a
//! push: each blob is recorded (`CommandService::record_blob`) once its bytes are streamed into
//! an upload session and verified, then the manifest is pushed (`push_manifest`), so quotas,
//! tiers, the mirror state and the log apply as to any push. Content the repository already
//! holds is neither fetched nor recorded again.
//!
//! Every command's id derives from the envelope's and the content, so a copy repeated after a
//! crash under the same envelope appends nothing twice.

use annals_commands::{CommandService, Envelope, ManifestPush, RepositoryRef};
use annals_domain::manifest::{self, Descriptor, MAX_MANIFEST_BYTES};
use annals_domain::{Digest, TagName};
use annals_projections::ProjectionWatch;
use annals_store::blobs::{BlobStore, SessionLimits};

use super::{Upstream, UpstreamError};

/// How long a copy waits for the read models to show the blobs it recorded.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

/// The manifests an index may name for a copy to take it.
pub const MAX_INDEX_MANIFESTS: usize = 256;

/// Where a copy goes, and as whom.
pub struct Destination<'a> {
    pub commands: &'a CommandService,
    /// A manifest push checks its blobs against the read models, so they must show them.
    pub watch: &'a ProjectionWatch,
    pub blobs: &'a BlobStore,
    pub envelope: &'a Envelope,
    pub target: &'a RepositoryRef,
}

/// What a copy brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub digest: Digest,
    /// The manifest's bytes.
    pub size: u64,
    pub media_type: String,
    /// Blobs fetched from the upstream (those the repository lacked).
    pub blobs_copied: u32,
    pub bytes_copied: u64,
}

/// Blobs and bytes fetched so far.
#[derive(Default)]
struct Fetched {
    blobs: u32,
    bytes: u64,
}

/// Copies `reference` (a tag or a digest) of the upstream `repository` into the destination,
/// under `tag` when one is given. An index is copied with every manifest it names.
pub async fn copy_image(
    upstream: &Upstream,
    repository: &str,
    reference: &str,
    tag: Option<TagName>,
    into: &Destination<'_>,
) -> Result<Copied, UpstreamError> {
    let mut fetched = Fetched::default();
    let (digest, size, media_type) =
        copy_manifest(upstream, repository, reference, tag, into, &mut fetched, 0).await?;
    Ok(Copied {
        digest,
        size,
        media_type,
        blobs_copied: fetched.blobs,
        bytes_copied: fetched.bytes,
    })
}

/// Copies one manifest (an index's children first), answering its digest, size and type.
async fn copy_manifest(
    upstream: &Upstream,
    repository: &str,
    reference: &str,
    tag: Option<TagName>,
    into: &Destination<'_>,
    fetched: &mut Fetched,
    depth: u8,
) -> Result<(Digest, u64, String), UpstreamError> {
    let image = upstream.reference(repository, reference);
    let (bytes, digest) = upstream
        .bounded(
            upstream
                .client
                .pull_manifest_raw(&image, &upstream.auth, &manifest::MEDIA_TYPES),
        )
        .await?;
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(UpstreamError::Invalid(format!(
            "the manifest is {} bytes; at most {MAX_MANIFEST_BYTES} are taken",
            bytes.len()
        )));
    }
    let digest = Digest::parse(&digest)
        .map_err(|_| UpstreamError::Invalid(format!("manifest digest {digest:.80}")))?;
    let summary = manifest::parse(&bytes, None)
        .map_err(|e| UpstreamError::Invalid(format!("manifest {digest}: {e}")))?;

    // An index's manifests first: a push of an index needs them stored.
    if summary.is_index() {
        if depth > 0 || summary.manifests.len() > MAX_INDEX_MANIFESTS {
            return Err(UpstreamError::Invalid(format!(
                "index {digest} nests or names more than {MAX_INDEX_MANIFESTS} manifests"
            )));
        }
        let children: Vec<Digest> = summary.manifests.iter().map(|m| m.digest.clone()).collect();
        let (stored, _) = into
            .commands
            .held_content(into.target, &children, &[])
            .await?;
        for child in children.iter().filter(|c| !stored.contains(*c)) {
            Box::pin(copy_manifest(
                upstream,
                repository,
                &child.to_string(),
                None,
                into,
                fetched,
                depth + 1,
            ))
            .await?;
        }
    }

    let wanted: Vec<&Descriptor> = summary.required_blobs().collect();
    let digests: Vec<Digest> = wanted.iter().map(|b| b.digest.clone()).collect();
    let (stored, linked) = into
        .commands
        .held_content(into.target, std::slice::from_ref(&digest), &digests)
        .await?;
    let mut recorded = 0;
    for blob in wanted.iter().filter(|b| !linked.contains(&b.digest)) {
        let (position, bytes) = copy_blob(upstream, &image, blob, into).await?;
        recorded = recorded.max(position);
        fetched.blobs += u32::from(bytes > 0);
        fetched.bytes += bytes;
    }
    if recorded > 0 && !into.watch.wait_for(recorded, SETTLE).await {
        return Err(UpstreamError::Invalid(format!(
            "the read models did not show the blobs of {digest} within {} s",
            SETTLE.as_secs()
        )));
    }

    // A manifest stored already is pushed again only to move the tag onto it.
    if !stored.contains(&digest) || tag.is_some() {
        let _writing = into.blobs.write_guard();
        let purpose = match &tag {
            Some(tag) => format!("manifest {digest} as {tag}"),
            None => format!("manifest {digest}"),
        };
        let persist = || into.blobs.put_bytes(&digest, &bytes);
        into.commands
            .push_manifest(
                &into.envelope.follow_up(&purpose),
                into.target,
                ManifestPush {
                    digest: digest.clone(),
                    size: bytes.len() as u64,
                    summary: summary.clone(),
                    tag,
                },
                persist,
            )
            .await?;
    }
    Ok((digest, bytes.len() as u64, summary.media_type))
}

/// Links one blob to the destination: the stored bytes when the blob store has them, else
/// the upstream's, streamed into an upload session and verified. Answers the position of the
/// record and the bytes fetched.
async fn copy_blob(
    upstream: &Upstream,
    image: &oci_client::Reference,
    blob: &Descriptor,
    into: &Destination<'_>,
) -> Result<(u64, u64), UpstreamError> {
    let _writing = into.blobs.write_guard();
    let envelope = into.envelope.follow_up(&format!("blob {}", blob.digest));
    let store_error = |e: std::io::Error| UpstreamError::Invalid(e.to_string());
    if into.blobs.size(&blob.digest).await.map_err(store_error)? == Some(blob.size) {
        // Stamped once the record is decided, so a collection meanwhile keeps the file.
        let persist = || async {
            match into.blobs.claim(&blob.digest).await? {
                Some(_) => Ok(()),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("blob {} was collected during the copy", blob.digest),
                )),
            }
        };
        let done = into
            .commands
            .record_blob(
                &envelope,
                into.target,
                blob.digest.clone(),
                blob.size,
                None,
                persist,
            )
            .await?;
        return Ok((done.position, 0));
    }
    if blob.size > upstream.max_blob_bytes {
        return Err(UpstreamError::Invalid(format!(
            "blob {} is {} bytes; at most {} are taken",
            blob.digest, blob.size, upstream.max_blob_bytes
        )));
    }
    let digest = blob.digest.to_string();
    let stream = upstream
        .bounded(upstream.client.pull_blob_stream(image, digest.as_str()))
        .await?;
    let upload = into
        .blobs
        .start_upload(
            &into.target.to_string(),
            "upstream",
            SessionLimits::default(),
        )
        .await
        .map_err(|e| UpstreamError::Invalid(e.to_string()))?;
    let result = async {
        into.blobs
            .append_upload(upload.id, Some(0), Some(upstream.max_blob_bytes), stream)
            .await
            .map_err(|e| UpstreamError::Unreachable(format!("blob {digest}: {e}")))?;
        let size = into
            .blobs
            .verify_upload(upload.id, &blob.digest)
            .await
            .map_err(|e| UpstreamError::Invalid(format!("blob {digest}: {e}")))?;
        if size != blob.size {
            return Err(UpstreamError::Invalid(format!(
                "blob {digest} is {size} bytes, not the {} its manifest says",
                blob.size
            )));
        }
        let persist = || async {
            into.blobs
                .complete_upload(upload.id, &blob.digest)
                .await
                .map(|_| ())
                .map_err(std::io::Error::other)
        };
        let done = into
            .commands
            .record_blob(
                &envelope,
                into.target,
                blob.digest.clone(),
                size,
                None,
                persist,
            )
            .await?;
        Ok((done.position, size))
    }
    .await;
    if result.is_err() {
        let _ = into.blobs.cancel_upload(upload.id).await;
    }
    result
}
