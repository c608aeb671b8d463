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
    /// An image with `layers` layers of `layer_size` bytes each, made unique by `seed`.
    pub fn new(seed: &str, layers: usize, layer_size: usize) -> Image {
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux", "config": {}, "created": "2026-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": []}, "annals_seed": seed
        }))
        .unwrap();
        let layers: Vec<Vec<u8>> = (0..layers)
            .map(|i| {
                let mut bytes = format!("{seed}-layer-{i}-").into_bytes();
                bytes.resize(layer_size.max(bytes.len()), b'a' + (i % 26) as u8);
                bytes
            })
            .collect();
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
        let response = self
            .registry_request(
                reqwest::Method::GET,
                &format!("/v2/{repository}/manifests/{reference}"),
            )
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
