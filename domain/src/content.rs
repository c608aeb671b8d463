//! What a repository holds as a registry: its manifests, its tags (with every manifest each tag
//! ever pointed at, for Quay's time machine) and the labels on its manifests. Blob uploads are
//! recorded too, but whether a blob is present is a fact the caller supplies (it lives in the
//! blob store), so the rules here take it as input.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::digest::Digest;
use crate::error::DomainError;
use crate::event::DomainEvent;
use crate::manifest::ManifestSummary;
use crate::tag::TagName;

/// A manifest present in the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    pub media_type: String,
    /// Child manifests (for an index).
    pub children: Vec<Digest>,
    pub subject: Option<Digest>,
    /// The config and layer blobs it references.
    pub blobs: BTreeSet<Digest>,
    /// Labels by id: (key, value).
    pub labels: BTreeMap<Uuid, (String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagState {
    /// Where the tag points now; `None` once deleted.
    pub current: Option<Digest>,
    /// Every manifest the tag ever pointed at, oldest first.
    pub history: Vec<Digest>,
    pub expiration: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    pub manifests: BTreeMap<Digest, StoredManifest>,
    pub tags: BTreeMap<TagName, TagState>,
}

impl Content {
    /// The tags pointing at `digest` now.
    pub fn tags_of(&self, digest: &Digest) -> Vec<TagName> {
        self.tags
            .iter()
            .filter(|(_, t)| t.current.as_ref() == Some(digest))
            .map(|(name, _)| name.clone())
            .collect()
    }

    pub fn current(&self, tag: &TagName) -> Option<&Digest> {
        self.tags.get(tag).and_then(|t| t.current.as_ref())
    }

    fn point(&mut self, tag: &TagName, digest: &Digest) {
        let t = self.tags.entry(tag.clone()).or_default();
        t.current = Some(digest.clone());
        t.history.push(digest.clone());
        // A moved tag starts without the old expiration, as in Quay.
        t.expiration = None;
    }

    pub fn evolve(&mut self, event: &DomainEvent) {
        use DomainEvent::*;
        match event {
            ManifestPushed {
                digest,
                media_type,
                tag,
                config,
                layers,
                manifests,
                subject,
                ..
            } => {
                self.manifests
                    .entry(digest.clone())
                    .or_insert_with(|| StoredManifest {
                        media_type: media_type.clone(),
                        children: manifests.iter().map(|m| m.digest.clone()).collect(),
                        subject: subject.as_ref().map(|s| s.digest.clone()),
                        blobs: config
                            .iter()
                            .chain(layers)
                            .map(|b| b.digest.clone())
                            .collect(),
                        labels: BTreeMap::new(),
                    });
                if let Some(tag) = tag
                    && self.current(tag) != Some(digest)
                {
                    self.point(tag, digest);
                }
            }
            ManifestDeleted { digest, tags, .. } => {
                self.manifests.remove(digest);
                for tag in tags {
                    if let Some(t) = self.tags.get_mut(tag) {
                        t.current = None;
                    }
                }
            }
            TagCreated { tag, digest, .. }
            | TagMoved { tag, digest, .. }
            | TagRestored { tag, digest, .. } => self.point(tag, digest),
            TagDeleted { tag, .. } => {
                if let Some(t) = self.tags.get_mut(tag) {
                    t.current = None;
                    t.expiration = None;
                }
            }
            // A tag deleted by an auto-prune policy is gone like any deleted tag.
            TagAutopruned { tag, .. } => {
                if let Some(t) = self.tags.get_mut(tag) {
                    t.current = None;
                    t.expiration = None;
                }
            }
            TagExpirationChanged {
                tag, expiration, ..
            } => {
                if let Some(t) = self.tags.get_mut(tag) {
                    t.expiration = *expiration;
                }
            }
            ManifestLabelAdded {
                digest,
                label_id,
                key,
                value,
                ..
            } => {
                if let Some(m) = self.manifests.get_mut(digest) {
                    m.labels.insert(*label_id, (key.clone(), value.clone()));
                }
            }
            ManifestLabelDeleted {
                digest, label_id, ..
            } => {
                if let Some(m) = self.manifests.get_mut(digest) {
                    m.labels.remove(label_id);
                }
            }
            _ => {}
        }
    }
}

/// What can be done to a repository's content.
// A push carries the manifest's summary inline; commands are built one per request, so the
// size difference costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ContentCommand {
    /// Record a blob as uploaded into the repository.
    RecordBlob {
        digest: Digest,
        size: u64,
        mounted_from: Option<String>,
    },
    /// Store a manifest. `present_blobs` is the subset of the manifest's blobs that the
    /// repository has (the caller looks them up in the blob store).
    PushManifest {
        digest: Digest,
        size: u64,
        summary: ManifestSummary,
        tag: Option<TagName>,
        present_blobs: BTreeSet<Digest>,
    },
    DeleteManifest {
        digest: Digest,
    },
    /// Drop the repository's reference to a blob. `linked` is whether the repository holds it
    /// (a fact of the read models).
    UnlinkBlob {
        digest: Digest,
        linked: bool,
    },
    /// Point a tag at a manifest already in the repository (Quay's `PUT .../tag/{tag}`).
    SetTag {
        tag: TagName,
        digest: Digest,
    },
    DeleteTag {
        tag: TagName,
    },
    /// Point a tag back at a manifest it pointed at before.
    RestoreTag {
        tag: TagName,
        digest: Digest,
    },
    SetTagExpiration {
        tag: TagName,
        expiration: Option<DateTime<Utc>>,
    },
    AddLabel {
        digest: Digest,
        label_id: Uuid,
        key: String,
        value: String,
        media_type: String,
    },
    DeleteLabel {
        digest: Digest,
        label_id: Uuid,
    },
}

/// Why a push was refused, for the OCI error codes.
pub const BLOB_UNKNOWN: &str = "blob unknown to registry";
pub const MANIFEST_UNKNOWN: &str = "manifest unknown";
pub const BLOB_NOT_LINKED: &str = "blob unknown to repository";

const LABEL_MEDIA_TYPES: [&str; 2] = ["text/plain", "application/json"];

pub fn decide(
    repository_id: Uuid,
    content: &Content,
    command: &ContentCommand,
) -> Result<Vec<DomainEvent>, DomainError> {
    use DomainEvent::*;
    let manifest_unknown = |d: &Digest| DomainError::NotFound(format!("{MANIFEST_UNKNOWN}: {d}"));
    let tag_unknown = |t: &TagName| DomainError::NotFound(format!("tag {t} not found"));
    Ok(match command {
        ContentCommand::RecordBlob {
            digest,
            size,
            mounted_from,
        } => vec![BlobUploaded {
            repository_id,
            digest: digest.clone(),
            size: *size,
            mounted_from: mounted_from.clone(),
        }],
        ContentCommand::PushManifest {
            digest,
            size,
            summary,
            tag,
            present_blobs,
        } => {
            if let Some(missing) = summary
                .required_blobs()
                .find(|b| !present_blobs.contains(&b.digest))
            {
                return Err(DomainError::NotFound(format!(
                    "{BLOB_UNKNOWN}: {}",
                    missing.digest
                )));
            }
            if let Some(missing) = summary
                .manifests
                .iter()
                .find(|m| !content.manifests.contains_key(&m.digest))
            {
                return Err(manifest_unknown(&missing.digest));
            }
            vec![ManifestPushed {
                repository_id,
                digest: digest.clone(),
                media_type: summary.media_type.clone(),
                size: *size,
                tag: tag.clone(),
                previous: tag
                    .as_ref()
                    .and_then(|t| content.current(t))
                    .filter(|p| *p != digest)
                    .cloned(),
                config: summary.config.clone(),
                layers: summary.layers.clone(),
                manifests: summary.manifests.clone(),
                subject: summary.subject.clone(),
                artifact_type: summary.artifact_type.clone(),
                annotations: summary.annotations.clone(),
            }]
        }
        ContentCommand::DeleteManifest { digest } => {
            if !content.manifests.contains_key(digest) {
                return Err(manifest_unknown(digest));
            }
            vec![ManifestDeleted {
                repository_id,
                digest: digest.clone(),
                tags: content.tags_of(digest),
            }]
        }
        ContentCommand::UnlinkBlob { digest, linked } => {
            if !linked {
                return Err(DomainError::NotFound(format!(
                    "{BLOB_NOT_LINKED}: {digest}"
                )));
            }
            // A manifest that still names the blob would stop being pullable.
            if let Some((manifest, _)) = content
                .manifests
                .iter()
                .find(|(_, m)| m.blobs.contains(digest))
            {
                return Err(DomainError::Conflict(format!(
                    "blob {digest} is referenced by manifest {manifest}; delete the manifest first"
                )));
            }
            vec![BlobUnlinked {
                repository_id,
                digest: digest.clone(),
            }]
        }
        ContentCommand::SetTag { tag, digest } => {
            if !content.manifests.contains_key(digest) {
                return Err(manifest_unknown(digest));
            }
            match content.current(tag) {
                Some(current) if current == digest => vec![],
                Some(current) => vec![TagMoved {
                    repository_id,
                    tag: tag.clone(),
                    digest: digest.clone(),
                    previous: current.clone(),
                }],
                None => vec![TagCreated {
                    repository_id,
                    tag: tag.clone(),
                    digest: digest.clone(),
                }],
            }
        }
        ContentCommand::DeleteTag { tag } => {
            let digest = content.current(tag).ok_or_else(|| tag_unknown(tag))?;
            vec![TagDeleted {
                repository_id,
                tag: tag.clone(),
                digest: digest.clone(),
            }]
        }
        ContentCommand::RestoreTag { tag, digest } => {
            let state = content.tags.get(tag).ok_or_else(|| tag_unknown(tag))?;
            if !state.history.contains(digest) {
                return Err(DomainError::InvalidArgument(format!(
                    "tag {tag} never pointed at {digest}"
                )));
            }
            if !content.manifests.contains_key(digest) {
                return Err(manifest_unknown(digest));
            }
            if state.current.as_ref() == Some(digest) {
                vec![]
            } else {
                vec![TagRestored {
                    repository_id,
                    tag: tag.clone(),
                    digest: digest.clone(),
                    previous: state.current.clone(),
                }]
            }
        }
        ContentCommand::SetTagExpiration { tag, expiration } => {
            let state = content.tags.get(tag).ok_or_else(|| tag_unknown(tag))?;
            let digest = state.current.clone().ok_or_else(|| tag_unknown(tag))?;
            if state.expiration == *expiration {
                vec![]
            } else {
                vec![TagExpirationChanged {
                    repository_id,
                    tag: tag.clone(),
                    digest,
                    expiration: *expiration,
                }]
            }
        }
        ContentCommand::AddLabel {
            digest,
            label_id,
            key,
            value,
            media_type,
        } => {
            if !content.manifests.contains_key(digest) {
                return Err(manifest_unknown(digest));
            }
            if key.is_empty() || key.len() > 255 || key.chars().any(char::is_whitespace) {
                return Err(DomainError::InvalidArgument(format!(
                    "invalid label key {key:?}: 1 to 255 characters without whitespace"
                )));
            }
            if !LABEL_MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(DomainError::InvalidArgument(format!(
                    "invalid label media type {media_type:?}: use one of {LABEL_MEDIA_TYPES:?}"
                )));
            }
            if media_type == "application/json"
                && serde_json::from_str::<serde_json::Value>(value).is_err()
            {
                return Err(DomainError::InvalidArgument(
                    "the label's value is not valid JSON".into(),
                ));
            }
            vec![ManifestLabelAdded {
                repository_id,
                digest: digest.clone(),
                label_id: *label_id,
                key: key.clone(),
                value: value.clone(),
                media_type: media_type.clone(),
            }]
        }
        ContentCommand::DeleteLabel { digest, label_id } => {
            let manifest = content
                .manifests
                .get(digest)
                .ok_or_else(|| manifest_unknown(digest))?;
            let (key, _) = manifest
                .labels
                .get(label_id)
                .ok_or_else(|| DomainError::NotFound(format!("label {label_id} not found")))?;
            vec![ManifestLabelDeleted {
                repository_id,
                digest: digest.clone(),
                label_id: *label_id,
                key: key.clone(),
            }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{self, OCI_MANIFEST};

    fn digest(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    fn summary() -> ManifestSummary {
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest('a').to_string(), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest('b').to_string(), "size": 4}]
        });
        manifest::parse(&serde_json::to_vec(&body).unwrap(), None).unwrap()
    }

    fn run(content: &mut Content, command: ContentCommand) -> Vec<DomainEvent> {
        let events = decide(Uuid::nil(), content, &command).unwrap();
        events.iter().for_each(|e| content.evolve(e));
        events
    }

    fn push(content: &mut Content, d: char, tag: &str) -> Vec<DomainEvent> {
        run(
            content,
            ContentCommand::PushManifest {
                digest: digest(d),
                size: 100,
                summary: summary(),
                tag: Some(TagName::parse(tag).unwrap()),
                present_blobs: [digest('a'), digest('b')].into(),
            },
        )
    }

    #[test]
    fn a_push_needs_its_blobs() {
        let err = decide(
            Uuid::nil(),
            &Content::default(),
            &ContentCommand::PushManifest {
                digest: digest('f'),
                size: 1,
                summary: summary(),
                tag: None,
                present_blobs: [digest('a')].into(),
            },
        )
        .unwrap_err();
        assert!(err.to_string().starts_with(BLOB_UNKNOWN), "{err}");
    }

    #[test]
    fn tags_move_delete_and_restore_from_their_history() {
        let mut c = Content::default();
        let latest = TagName::parse("latest").unwrap();
        push(&mut c, '1', "latest");
        let moved = push(&mut c, '2', "latest");
        assert!(
            matches!(&moved[0], DomainEvent::ManifestPushed { previous: Some(p), .. } if *p == digest('1'))
        );
        assert_eq!(c.current(&latest), Some(&digest('2')));
        run(
            &mut c,
            ContentCommand::DeleteTag {
                tag: latest.clone(),
            },
        );
        assert_eq!(c.current(&latest), None);
        let restored = run(
            &mut c,
            ContentCommand::RestoreTag {
                tag: latest.clone(),
                digest: digest('1'),
            },
        );
        assert!(matches!(
            &restored[0],
            DomainEvent::TagRestored { previous: None, .. }
        ));
        assert_eq!(c.current(&latest), Some(&digest('1')));
        // A digest the tag never had cannot be restored.
        push(&mut c, '3', "other");
        assert!(
            decide(
                Uuid::nil(),
                &c,
                &ContentCommand::RestoreTag {
                    tag: latest.clone(),
                    digest: digest('3')
                }
            )
            .is_err()
        );
        // Deleting a manifest takes its tags with it.
        let deleted = run(
            &mut c,
            ContentCommand::DeleteManifest {
                digest: digest('1'),
            },
        );
        assert!(
            matches!(&deleted[0], DomainEvent::ManifestDeleted { tags, .. } if tags == &vec![latest.clone()])
        );
        assert_eq!(c.current(&latest), None);
    }

    #[test]
    fn labels_are_checked_and_removed_by_id() {
        let mut c = Content::default();
        push(&mut c, '1', "v1");
        let id = Uuid::new_v4();
        let bad = ContentCommand::AddLabel {
            digest: digest('1'),
            label_id: id,
            key: "k".into(),
            value: "{".into(),
            media_type: "application/json".into(),
        };
        assert!(decide(Uuid::nil(), &c, &bad).is_err());
        run(
            &mut c,
            ContentCommand::AddLabel {
                digest: digest('1'),
                label_id: id,
                key: "k".into(),
                value: "v".into(),
                media_type: "text/plain".into(),
            },
        );
        run(
            &mut c,
            ContentCommand::DeleteLabel {
                digest: digest('1'),
                label_id: id,
            },
        );
        assert!(c.manifests[&digest('1')].labels.is_empty());
    }

    #[test]
    fn a_blob_is_unlinked_only_when_held_and_no_manifest_names_it() {
        let mut c = Content::default();
        push(&mut c, '1', "v1");
        let unlink = |linked| ContentCommand::UnlinkBlob {
            digest: digest('b'),
            linked,
        };
        assert!(matches!(
            decide(Uuid::nil(), &c, &unlink(false)),
            Err(DomainError::NotFound(m)) if m.starts_with(BLOB_NOT_LINKED)
        ));
        assert!(matches!(
            decide(Uuid::nil(), &c, &unlink(true)),
            Err(DomainError::Conflict(_))
        ));
        run(
            &mut c,
            ContentCommand::DeleteManifest {
                digest: digest('1'),
            },
        );
        assert!(matches!(
            run(&mut c, unlink(true)).as_slice(),
            [DomainEvent::BlobUnlinked { digest: d, .. }] if *d == digest('b')
        ));
    }
}
