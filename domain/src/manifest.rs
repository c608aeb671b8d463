//! Manifests as the OCI image spec and Docker's schema 2 define them: what a registry must check
//! before it stores one, and what it keeps of it (the blobs and manifests it references, its
//! subject and artifact type for the referrers API).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest media type Annals stores.
pub const MEDIA_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// The largest manifest accepted; the distribution spec asks registries to take at least 4 MiB.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// A content descriptor: what a manifest says about one thing it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The platform an index gives for one of its manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Where a non-distributable layer is fetched from instead of this registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

/// Media types of layers that are never pushed to a registry (OCI's non-distributable layers,
/// Docker's foreign ones).
const FOREIGN_LAYERS: [&str; 2] = [
    "application/vnd.oci.image.layer.nondistributable.",
    "application/vnd.docker.image.rootfs.foreign.",
];
/// The most `urls` one descriptor may give, and the longest.
pub const MAX_URLS: usize = 16;
pub const MAX_URL_CHARS: usize = 2048;

impl Descriptor {
    /// A layer the registry need not hold: non-distributable, or fetched from its `urls`.
    pub fn is_foreign(&self) -> bool {
        !self.urls.is_empty()
            || FOREIGN_LAYERS
                .iter()
                .any(|p| self.media_type.starts_with(p))
    }
}

/// The operating system and architecture a manifest in an index is built for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// What a registry serves from an index to a client that cannot read indexes (as Docker's
    /// distribution does): the `linux/amd64` image.
    pub fn is_default(&self) -> bool {
        self.os == "linux" && self.architecture == "amd64"
    }
}

/// What a registry keeps of a manifest besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSummary {
    pub media_type: String,
    /// The image config (image manifests only).
    pub config: Option<Descriptor>,
    /// Layers (image manifests) — blobs.
    pub layers: Vec<Descriptor>,
    /// Child manifests (indexes and lists) — manifests in the same repository.
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

impl ManifestSummary {
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_MANIFEST_LIST
    }

    /// The blobs this manifest needs in its repository: the config and the layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(self.layers.iter())
    }

    /// The blobs the registry must hold before it accepts the manifest: all but foreign layers.
    pub fn required_blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.blobs().filter(|b| !b.is_foreign())
    }

    /// The artifact type the referrers API reports: `artifactType`, else the config's media type.
    pub fn effective_artifact_type(&self) -> Option<&str> {
        self.artifact_type
            .as_deref()
            .or_else(|| self.config.as_ref().map(|c| c.media_type.as_str()))
    }

    /// The manifest of an index for the default platform (see [`Platform::is_default`]).
    pub fn default_platform_manifest(&self) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .find(|m| m.platform.as_ref().is_some_and(Platform::is_default))
    }

    /// Bytes of the layers (what Quay and DigitalOcean report as an image's size).
    pub fn layers_size(&self) -> u64 {
        self.layers.iter().map(|l| l.size).sum()
    }
}

/// Why a manifest is refused. The OCI API answers `MANIFEST_INVALID` for `Invalid` and
/// `Unsupported` (with 415 for the latter where the media type is unknown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest invalid: {0}")]
    Invalid(String),
    #[error("unsupported manifest media type {0:?}")]
    Unsupported(String),
    #[error("manifest is {0} bytes; at most {MAX_MANIFEST_BYTES} are accepted")]
    TooLarge(usize),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<i64>,
    artifact_type: Option<String>,
    platform: Option<serde_json::Value>,
    urls: Option<Vec<String>>,
}

/// A platform is informative: one missing its os or architecture is dropped, not refused.
#[derive(Deserialize)]
struct RawPlatform {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

fn descriptor(raw: RawDescriptor, what: &str) -> Result<Descriptor, ManifestError> {
    let invalid = |m: String| ManifestError::Invalid(format!("{what}: {m}"));
    let media_type = raw
        .media_type
        .filter(|m| !m.is_empty())
        .ok_or_else(|| invalid("mediaType is required".into()))?;
    let digest = raw
        .digest
        .ok_or_else(|| invalid("digest is required".into()))
        .and_then(|d| Digest::parse(&d).map_err(|_| invalid(format!("invalid digest {d:?}"))))?;
    let size = raw
        .size
        .filter(|s| *s >= 0)
        .ok_or_else(|| invalid("size must be a non-negative integer".into()))?;
    let urls = raw.urls.unwrap_or_default();
    if urls.len() > MAX_URLS
        || urls.iter().any(|u| {
            u.len() > MAX_URL_CHARS || !(u.starts_with("http://") || u.starts_with("https://"))
        })
    {
        return Err(invalid(format!(
            "urls must be at most {MAX_URLS} http(s) URLs of at most {MAX_URL_CHARS} characters"
        )));
    }
    Ok(Descriptor {
        urls,
        media_type,
        digest,
        size: size as u64,
        artifact_type: raw.artifact_type,
        platform: raw.platform.and_then(|p| {
            let p: RawPlatform = serde_json::from_value(p).ok()?;
            Some(Platform {
                os: p.os?,
                architecture: p.architecture?,
                variant: p.variant,
            })
        }),
    })
}

/// Checks a manifest's bytes. `content_type` is the request's `Content-Type`; the body's own
/// `mediaType`, where present, must agree with it.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ManifestSummary, ManifestError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge(bytes.len()));
    }
    let raw: RawManifest = serde_json::from_slice(bytes)
        .map_err(|e| ManifestError::Invalid(format!("not a JSON manifest: {e}")))?;
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| !c.is_empty());
    let media_type = match (content_type, raw.media_type.as_deref()) {
        (Some(header), Some(body)) if header != body => {
            return Err(ManifestError::Invalid(format!(
                "Content-Type {header:?} does not match the manifest's mediaType {body:?}"
            )));
        }
        (_, Some(body)) => body.to_owned(),
        (Some(header), None) => header.to_owned(),
        (None, None) if raw.manifests.is_some() => OCI_INDEX.to_owned(),
        (None, None) => OCI_MANIFEST.to_owned(),
    };
    if !MEDIA_TYPES.contains(&media_type.as_str()) {
        return Err(ManifestError::Unsupported(media_type));
    }
    if raw.schema_version != Some(2) {
        return Err(ManifestError::Invalid("schemaVersion must be 2".into()));
    }
    let is_index = media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST;
    let subject = raw.subject.map(|s| descriptor(s, "subject")).transpose()?;
    let mut summary = ManifestSummary {
        media_type,
        config: None,
        layers: Vec::new(),
        manifests: Vec::new(),
        subject,
        artifact_type: raw.artifact_type,
        annotations: raw.annotations.unwrap_or_default(),
    };
    if is_index {
        if raw.config.is_some() || raw.layers.is_some() {
            return Err(ManifestError::Invalid(
                "an index has manifests, not config or layers".into(),
            ));
        }
        let manifests = raw
            .manifests
            .ok_or_else(|| ManifestError::Invalid("an index needs a manifests array".into()))?;
        summary.manifests = manifests
            .into_iter()
            .map(|m| descriptor(m, "manifests[]"))
            .collect::<Result<_, _>>()?;
    } else {
        let config = raw
            .config
            .ok_or_else(|| ManifestError::Invalid("an image manifest needs a config".into()))?;
        summary.config = Some(descriptor(config, "config")?);
        let layers = raw
            .layers
            .ok_or_else(|| ManifestError::Invalid("an image manifest needs layers".into()))?;
        summary.layers = layers
            .into_iter()
            .map(|l| descriptor(l, "layers[]"))
            .collect::<Result<_, _>>()?;
        if raw.manifests.is_some() {
            return Err(ManifestError::Invalid(
                "an image manifest has no manifests array".into(),
            ));
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn image(media_type: Option<&str>) -> Vec<u8> {
        let mut m = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d('a'), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d('b'), "size": 10}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": d('c'), "size": 3},
            "annotations": {"k": "v"}
        });
        if let Some(t) = media_type {
            m["mediaType"] = t.into();
        }
        serde_json::to_vec(&m).unwrap()
    }

    #[test]
    fn foreign_layers_need_not_be_held() {
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d('a'), "size": 2},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d('b'), "size": 10},
                {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "digest": d('c'), "size": 10},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d('e'), "size": 10,
                 "urls": ["https://example.com/layer"]},
            ],
        });
        let s = parse(&serde_json::to_vec(&m).unwrap(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(s.blobs().count(), 4);
        let required: Vec<String> = s.required_blobs().map(|b| b.digest.to_string()).collect();
        assert_eq!(required, [d('a'), d('b')]);
        let mut bad = m.clone();
        bad["layers"][2]["urls"] = serde_json::json!(["file:///etc/passwd"]);
        assert!(parse(&serde_json::to_vec(&bad).unwrap(), Some(OCI_MANIFEST)).is_err());
    }

    #[test]
    fn an_image_manifest_gives_its_blobs_subject_and_artifact_type() {
        let s = parse(&image(Some(OCI_MANIFEST)), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(s.blobs().count(), 2);
        assert_eq!(s.layers_size(), 10);
        assert_eq!(s.subject.as_ref().unwrap().digest.to_string(), d('c'));
        assert_eq!(
            s.effective_artifact_type(),
            Some("application/vnd.oci.image.config.v1+json")
        );
        assert_eq!(s.annotations["k"], "v");
    }

    #[test]
    fn the_media_type_comes_from_the_body_or_the_header_and_must_agree() {
        assert_eq!(
            parse(&image(None), Some(DOCKER_MANIFEST))
                .unwrap()
                .media_type,
            DOCKER_MANIFEST
        );
        assert!(matches!(
            parse(&image(Some(OCI_MANIFEST)), Some(DOCKER_MANIFEST)),
            Err(ManifestError::Invalid(_))
        ));
        assert!(matches!(
            parse(&image(None), Some("application/x-unknown")),
            Err(ManifestError::Unsupported(_))
        ));
    }

    #[test]
    fn malformed_manifests_are_invalid() {
        for bad in [
            &b"not json"[..],
            br#"{"schemaVersion": 1, "config": {}, "layers": []}"#,
            br#"{"schemaVersion": 2, "layers": []}"#,
            br#"{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:zz", "size": 1}, "layers": []}"#,
            br#"{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:aa", "size": -1}, "layers": []}"#,
        ] {
            assert!(
                matches!(parse(bad, Some(OCI_MANIFEST)), Err(ManifestError::Invalid(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(parse(&big, None), Err(ManifestError::TooLarge(_))));
    }

    #[test]
    fn an_index_lists_manifests() {
        let body = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": d('a'), "size": 5}]
        }))
        .unwrap();
        let s = parse(&body, None).unwrap();
        assert!(s.is_index());
        assert_eq!(s.manifests.len(), 1);
        assert_eq!(s.blobs().count(), 0);
    }

    #[test]
    fn an_index_names_the_default_platform_manifest() {
        let body = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": d('a'), "size": 5,
                 "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": OCI_MANIFEST, "digest": d('b'), "size": 5, "platform": "bogus"},
                {"mediaType": OCI_MANIFEST, "digest": d('c'), "size": 5,
                 "platform": {"os": "linux", "architecture": "amd64"}}
            ]
        }))
        .unwrap();
        let s = parse(&body, None).unwrap();
        assert_eq!(
            s.manifests[0].platform.as_ref().unwrap().variant.as_deref(),
            Some("v8")
        );
        assert_eq!(s.manifests[1].platform, None);
        assert_eq!(
            s.default_platform_manifest().unwrap().digest.to_string(),
            d('c')
        );
    }
}
