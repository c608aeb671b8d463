//! Pushing and pulling through the OCI distribution API with plain HTTP, for tests that need
//! content in a repository (real clients such as skopeo are driven in their own tests).

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{ADMIN, Server};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A tar archive holding one regular file: a real, uncompressed layer.
pub fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", content.len()).as_bytes());
    header[136..148].copy_from_slice(b"00000000000\0");
    header[148..156].copy_from_slice(b"        ");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let sum: u32 = header.iter().map(|b| *b as u32).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An image built in memory: its blobs and manifest.
#[derive(Debug, Clone)]
pub struct Image {
    pub config: Vec<u8>,
    pub layers: Vec<Vec<u8>>,
    pub manifest: Vec<u8>,
    pub digest: String,
}

impl Image {
    /// An image with `layers` gzipped tar layers, each holding one file of `layer_size` bytes
    /// (random, so the layer is about that size), made unique by `seed`; its config lists the
    /// layers' diff ids as a real one does.
    pub fn new(seed: &str, layers: usize, layer_size: usize) -> Image {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            seed.bytes()
                .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)),
        );
        let tars: Vec<Vec<u8>> = (0..layers)
            .map(|i| {
                let mut bytes = format!("{seed}-layer-{i}-").into_bytes();
                let prefix = bytes.len();
                bytes.resize(layer_size.max(prefix), 0);
                rng.fill(&mut bytes[prefix..]);
                tar_of(&format!("file-{i}"), &bytes)
            })
            .collect();
        let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
        let layers: Vec<Vec<u8>> = tars
            .iter()
            .map(|t| {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut gz, t).expect("gzip in memory");
                gz.finish().expect("gzip in memory")
            })
            .collect();
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux", "config": {}, "created": "2026-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": layers.iter().map(|_| json!({"created": "2026-01-01T00:00:00Z", "created_by": "annals test"})).collect::<Vec<_>>(),
            "annals_seed": seed
        }))
        .unwrap();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(&config), "size": config.len()},
            "layers": layers.iter().map(|l| json!({"mediaType": OCI_LAYER, "digest": sha256(l), "size": l.len()})).collect::<Vec<_>>(),
        }))
        .unwrap();
        let digest = sha256(&manifest);
        Image {
            config,
            layers,
            manifest,
            digest,
        }
    }

    /// Config and layers.
    pub fn blobs(&self) -> Vec<&[u8]> {
        std::iter::once(self.config.as_slice())
            .chain(self.layers.iter().map(Vec::as_slice))
            .collect()
    }

    /// Bytes of every blob and the manifest.
    pub fn total_bytes(&self) -> u64 {
        self.blobs().iter().map(|b| b.len() as u64).sum::<u64>() + self.manifest.len() as u64
    }
}

impl Server {
    /// A request to the registry listener as `admin` (basic auth with the API token).
    pub fn registry_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}{path}", self.registry))
            .basic_auth(ADMIN, Some(&self.token))
    }

    /// Uploads one blob monolithically (`POST .../blobs/uploads/?digest=`).
    pub async fn push_blob(&self, repository: &str, bytes: &[u8]) -> String {
        let digest = sha256(bytes);
        let response = self
            .registry_request(
                reqwest::Method::POST,
                &format!("/v2/{repository}/blobs/uploads/?digest={digest}"),
            )
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("blob upload");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{:?}",
            response.text().await
        );
        digest
    }

    /// Pushes `image` to `repository` under `reference` (a tag or its digest).
    pub async fn push_image(&self, repository: &str, reference: &str, image: &Image) {
        for blob in image.blobs() {
            self.push_blob(repository, blob).await;
        }
        self.push_manifest(repository, reference, OCI_MANIFEST, &image.manifest)
            .await;
    }

    /// Puts a manifest; answers its digest.
    pub async fn push_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        manifest: &[u8],
    ) -> String {
        let response = self
            .registry_request(
                reqwest::Method::PUT,
                &format!("/v2/{repository}/manifests/{reference}"),
            )
            .header("content-type", media_type)
            .body(manifest.to_vec())
            .send()
            .await
            .expect("manifest put");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{:?}",
            response.text().await
        );
        sha256(manifest)
    }

    /// Gets a manifest: status, `Docker-Content-Digest` and bytes.
    pub async fn pull_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> (StatusCode, Option<String>, Vec<u8>) {
        self.pull_manifest_as(
            &crate::basic_auth(ADMIN, &self.token),
            repository,
            reference,
        )
        .await
    }

    /// [`Server::pull_manifest`] with another `Authorization` value.
    pub async fn pull_manifest_as(
        &self,
        authorization: &str,
        repository: &str,
        reference: &str,
    ) -> (StatusCode, Option<String>, Vec<u8>) {
        let response = reqwest::Client::new()
            .get(format!(
                "{}/v2/{repository}/manifests/{reference}",
                self.registry
            ))
            .header("Authorization", authorization)
            .header("accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"))
            .send()
            .await
            .expect("manifest get");
        let status = response.status();
        let digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (
            status,
            digest,
            response.bytes().await.unwrap_or_default().to_vec(),
        )
    }

    /// The JSON error body's first code, for refused registry requests.
    pub async fn registry_error_code(response: reqwest::Response) -> (StatusCode, Option<String>) {
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (
            status,
            body["errors"][0]["code"].as_str().map(str::to_owned),
        )
    }
}
