//! Helpers for tests that drive Debian's `skopeo`: an OCI image layout on disk, and whether
//! skopeo is here at all.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::oci::{Image, OCI_MANIFEST, sha256};

/// Writes `image` as an OCI image layout with one tagged manifest.
pub fn write_layout(dir: &Path, image: &Image, tag: &str) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    for blob in image.blobs().into_iter().chain([image.manifest.as_slice()]) {
        std::fs::write(blobs.join(&sha256(blob)[7..]), blob).unwrap();
    }
    std::fs::write(
        dir.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

pub fn skopeo_available() -> bool {
    let found = Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("ANNALS_REQUIRE_SKOPEO").is_none(),
            "ANNALS_REQUIRE_SKOPEO is set but skopeo is not installed"
        );
        eprintln!("skopeo is not installed; skipping (bash .ci/run installs it)");
    }
    found
}
