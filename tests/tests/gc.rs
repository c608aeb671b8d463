//! Garbage collection through the DigitalOcean API: what a collection frees (exactly the blobs
//! only deleted content used, never a blob a live manifest or another namespace needs), the
//! untagged-manifest sweep, the read-only window, cancel, one collection at a time, resuming
//! after a crash, and the usage log.

use std::path::PathBuf;
use std::time::Duration;

use annals_tests::oci::{Image, OCI_INDEX, OCI_MANIFEST, sha256};
use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};
use reqwest::Method;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

on_both_backends! {
    collection_frees_exactly_what_deleted_content_used => collection_frees_exactly_what_deleted_content_used;
    untagged_manifests_then_unreferenced_blobs => untagged_manifests_then_unreferenced_blobs;
    cancel_and_one_collection_at_a_time => cancel_and_one_collection_at_a_time;
    collection_resumes_after_a_crash => collection_resumes_after_a_crash;
    index_children_and_referrers_of_live_manifests_stay => index_children_and_referrers_of_live_manifests_stay;
}

const BOTH: &str = "untagged manifests and unreferenced blobs";

async fn setup(backend: Backend) -> Server {
    let server = Server::start(backend).await;
    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "acme", "subscription_tier_slug": "professional", "region": "ams3"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    server
}

/// The file of a blob in the server's blob store.
fn blob_file(server: &Server, bytes: &[u8]) -> PathBuf {
    let digest = sha256(bytes);
    let hex = digest.trim_start_matches("sha256:");
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}

/// The blob files of an image (config, layers, manifest).
fn image_files(server: &Server, image: &Image) -> Vec<PathBuf> {
    image
        .blobs()
        .into_iter()
        .chain(std::iter::once(image.manifest.as_slice()))
        .map(|b| blob_file(server, b))
        .collect()
}

/// Bytes and count of the blobs and manifest of an image.
fn image_bytes(image: &Image) -> (u64, u64) {
    (image.total_bytes(), image.blobs().len() as u64 + 1)
}

async fn start_gc(server: &Server, body: Value) -> Value {
    let (status, body) = server
        .post("/v2/registry/acme/garbage-collection", body)
        .await;
    assert_eq!(status, 201, "{body}");
    let gc = body["garbage_collection"].clone();
    assert_eq!(gc["registry_name"], "acme");
    assert_eq!(gc["blobs_deleted"], 0);
    assert_eq!(gc["freed_bytes"], 0);
    for field in ["created_at", "updated_at"] {
        chrono::DateTime::parse_from_rfc3339(gc[field].as_str().unwrap()).unwrap();
    }
    assert!(uuid::Uuid::parse_str(gc["uuid"].as_str().unwrap()).is_ok());
    gc
}

/// Polls the collection list until the collection `uuid` has `status`.
async fn wait_for_status(server: &Server, uuid: &Value, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let (code, list) = server
            .get("/v2/registry/acme/garbage-collections?per_page=200")
            .await;
        assert_eq!(code, 200, "{list}");
        let gc = list["garbage_collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| &g["uuid"] == uuid)
            .cloned()
            .unwrap_or_else(|| panic!("{uuid} not in {list}"));
        if gc["status"] == status {
            return gc;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "collection never reached {status:?}: {gc}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the active collection until it has `status`.
async fn wait_for_active_status(server: &Server, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = server.get("/v2/registry/acme/garbage-collection").await;
        assert_eq!(code, 200, "{body}");
        if body["garbage_collection"]["status"] == status {
            return body["garbage_collection"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {status:?}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pulls an image's manifest and blobs and compares them byte for byte.
async fn assert_pulls(server: &Server, repository: &str, tag: &str, image: &Image) {
    let (status, digest, bytes) = server.pull_manifest(repository, tag).await;
    assert_eq!(status, 200);
    assert_eq!(digest.as_deref(), Some(image.digest.as_str()));
    assert_eq!(bytes, image.manifest);
    for blob in image.blobs() {
        let response = server
            .registry_request(
                Method::GET,
                &format!("/v2/{repository}/blobs/{}", sha256(blob)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().as_ref(), blob);
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Starts a monolithic blob upload to another namespace and sends only its headers: the
/// registry write stays in flight until the connection closes.
async fn hold_a_write(server: &Server) -> TcpStream {
    let host = server.registry.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let auth = base64(format!("{ADMIN}:{}", server.token).as_bytes());
    let request = format!(
        "POST /v2/{ADMIN}/held/blobs/uploads/?digest={} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\npartial",
        sha256(b"never sent")
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream
}

async fn log_kinds(server: &Server) -> Vec<String> {
    let (status, logs) = server.get("/api/v1/organization/acme/logs").await;
    assert_eq!(status, 200, "{logs}");
    logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn collection_frees_exactly_what_deleted_content_used(backend: Backend) {
    let server = setup(backend).await;
    let gone = Image::new("gc-gone", 2, 6_000);
    let kept = Image::new("gc-kept", 2, 5_000);
    server.push_image("acme/web", "gone", &gone).await;
    server.push_image("acme/web", "kept", &kept).await;
    // Content outside the registry: an image, and a blob uploaded without a manifest. Neither
    // is this registry's to collect.
    let elsewhere = Image::new("gc-elsewhere", 1, 2_000);
    server
        .push_image(&format!("{ADMIN}/other"), "v1", &elsewhere)
        .await;
    let orphan = b"an orphan blob of another namespace".to_vec();
    server.push_blob(&format!("{ADMIN}/other"), &orphan).await;
    // An orphan of the registry itself: uploaded, never referenced.
    let own_orphan = b"an orphan blob of the registry".to_vec();
    server.push_blob("acme/web", &own_orphan).await;

    let (status, body) = server
        .delete(&format!(
            "/v2/registry/acme/repositories/web/digests/{}",
            gone.digest
        ))
        .await;
    assert_eq!(status, 204, "{body}");
    // Deleting a manifest frees nothing by itself.
    assert!(image_files(&server, &gone).iter().all(|f| f.exists()));

    let gc = start_gc(&server, json!({"type": BOTH})).await;
    assert_eq!(gc["type"], BOTH);
    assert_eq!(gc["status"], "requested");
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    let (bytes, count) = image_bytes(&gone);
    assert_eq!(
        done["freed_bytes"],
        bytes + own_orphan.len() as u64,
        "{done}"
    );
    assert_eq!(done["blobs_deleted"], count + 1, "{done}");

    for file in image_files(&server, &gone) {
        assert!(!file.exists(), "{} still exists", file.display());
    }
    assert!(!blob_file(&server, &own_orphan).exists());
    for file in image_files(&server, &kept)
        .into_iter()
        .chain(image_files(&server, &elsewhere))
    {
        assert!(file.exists(), "{} was deleted", file.display());
    }
    assert!(blob_file(&server, &orphan).exists());
    assert_pulls(&server, "acme/web", "kept", &kept).await;
    assert_pulls(&server, &format!("{ADMIN}/other"), "v1", &elsewhere).await;

    // Nothing is active any more; the history lists it; the registry takes pushes again.
    let (status, body) = server.get("/v2/registry/acme/garbage-collection").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["id"], "not_found");
    let (_, list) = server.get("/v2/registry/acme/garbage-collections").await;
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(list["garbage_collections"][0], done);
    server
        .push_image("acme/web", "after", &Image::new("gc-after", 1, 100))
        .await;
    // The re-pushed image needs its blobs again: a push of the deleted image works.
    server.push_image("acme/web", "gone", &gone).await;
    assert_pulls(&server, "acme/web", "gone", &gone).await;

    let kinds = log_kinds(&server).await;
    for kind in [
        "registry_gc_start",
        "registry_gc_status",
        "registry_gc_blobs_deleted",
        "registry_gc_finish",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

async fn untagged_manifests_then_unreferenced_blobs(backend: Backend) {
    let server = setup(backend).await;
    let old = Image::new("gc-old", 2, 3_000);
    let new = Image::new("gc-new", 2, 3_000);
    server.push_image("acme/app/api", "latest", &old).await;
    // Moving the tag leaves the old manifest untagged.
    server.push_image("acme/app/api", "latest", &new).await;
    let (_, digests) = server
        .get("/v2/registry/acme/repositories/app%2Fapi/digests")
        .await;
    assert_eq!(digests["meta"]["total"], 2);

    let gc = start_gc(&server, json!({"type": "untagged manifests only"})).await;
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    assert_eq!(
        (done["blobs_deleted"].clone(), done["freed_bytes"].clone()),
        (json!(0), json!(0))
    );
    let (_, digests) = server
        .get("/v2/registry/acme/repositories/app%2Fapi/digests")
        .await;
    assert_eq!(digests["meta"]["total"], 1, "{digests}");
    assert_eq!(digests["manifests"][0]["digest"], new.digest.as_str());
    let (status, _, _) = server.pull_manifest("acme/app/api", &old.digest).await;
    assert_eq!(status, 404);
    // Only manifests went; their bytes are still stored.
    assert!(image_files(&server, &old).iter().all(|f| f.exists()));

    // No body: the default type, unreferenced blobs only.
    let (status, body) = server
        .request(
            Method::POST,
            "/v2/registry/acme/garbage-collection",
            None,
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let gc = body["garbage_collection"].clone();
    assert_eq!(gc["type"], "unreferenced blobs only");
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    let (bytes, count) = image_bytes(&old);
    assert_eq!(done["freed_bytes"], bytes, "{done}");
    assert_eq!(done["blobs_deleted"], count, "{done}");
    assert!(image_files(&server, &old).iter().all(|f| !f.exists()));
    assert_pulls(&server, "acme/app/api", "latest", &new).await;

    // A collection with nothing to do succeeds and frees nothing.
    let gc = start_gc(&server, json!({"type": BOTH})).await;
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    assert_eq!(done["freed_bytes"], 0);
    let (_, list) = server
        .get("/v2/registry/acme/garbage-collections?per_page=2")
        .await;
    assert_eq!(list["meta"]["total"], 3);
    assert_eq!(list["garbage_collections"][0]["uuid"], gc["uuid"]);
    assert!(list["links"]["pages"]["next"].is_string(), "{list}");
}

async fn cancel_and_one_collection_at_a_time(backend: Backend) {
    let server = setup(backend).await;
    let image = Image::new("gc-cancel", 1, 2_000);
    server.push_image("acme/web", "v1", &image).await;
    let (status, _) = server
        .delete(&format!(
            "/v2/registry/acme/repositories/web/digests/{}",
            image.digest
        ))
        .await;
    assert_eq!(status, 204);
    server
        .push_image("acme/web", "keep", &Image::new("gc-keep", 1, 500))
        .await;

    let held = hold_a_write(&server).await;
    let gc = start_gc(&server, json!({"type": BOTH})).await;
    let (status, body) = server
        .post(
            "/v2/registry/acme/garbage-collection",
            json!({"type": BOTH}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["id"], "conflict");
    let active = wait_for_active_status(&server, "waiting for write JWTs to expire").await;
    assert_eq!(active["uuid"], gc["uuid"]);

    // Read-only: pushes are refused; the registry cannot be deleted meanwhile.
    let response = server
        .registry_request(
            Method::POST,
            &format!("/v2/acme/web/blobs/uploads/?digest={}", sha256(b"late")),
        )
        .header("content-type", "application/octet-stream")
        .body(b"late".to_vec())
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(response).await;
    assert!(status.as_u16() >= 400, "{status}");
    assert!(code.is_some());
    let (status, body) = server.delete("/v2/registry").await;
    assert_eq!(status, 403, "{body}");
    // Every path meets the read-only window, not only the registry's own: Quay's tag and
    // repository routes too.
    let (status, body) = server.delete("/api/v1/repository/acme/web/tag/keep").await;
    assert_eq!(status, 503, "{body}");
    let (status, body) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "during-gc", "visibility": "private"}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(server.get("/api/v1/repository/acme/during-gc").await.0, 404);

    let path = format!(
        "/v2/registry/acme/garbage-collection/{}",
        gc["uuid"].as_str().unwrap()
    );
    let (status, body) = server.put(&path, json!({"cancel": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["garbage_collection"]["status"], "cancelling");
    let (status, body) = server.put(&path, json!({"cancel": true})).await;
    assert_eq!(status, 200, "{body}");
    drop(held);
    let done = wait_for_status(&server, &gc["uuid"], "cancelled").await;
    assert_eq!(done["freed_bytes"], 0);
    assert!(image_files(&server, &image).iter().all(|f| f.exists()));
    let (status, body) = server.get("/v2/registry/acme/garbage-collection").await;
    assert_eq!(status, 404, "{body}");
    // An ended collection cannot be cancelled; another registry's path is not found.
    let (status, body) = server.put(&path, json!({"cancel": true})).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = server
        .put(&path.replace("/acme/", "/other/"), json!({"cancel": true}))
        .await;
    assert_eq!(status, 404);
    // Without `cancel`, the update answers the collection as it is.
    let (status, body) = server.put(&path, json!({})).await;
    assert_eq!(
        (status.as_u16(), &body["garbage_collection"]["status"]),
        (200, &json!("cancelled"))
    );

    // A new one may start and runs to the end.
    let gc = start_gc(&server, json!({"type": BOTH})).await;
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    assert_eq!(done["freed_bytes"], image_bytes(&image).0);
    server
        .push_image("acme/web", "v2", &Image::new("gc-cancel-after", 1, 100))
        .await;
    let (status, body) = server.delete("/api/v1/repository/acme/web/tag/keep").await;
    assert_eq!(status, 204, "{body}");

    let kinds = log_kinds(&server).await;
    assert!(
        kinds.iter().filter(|k| *k == "registry_gc_finish").count() == 2,
        "{kinds:?}"
    );
}

async fn collection_resumes_after_a_crash(backend: Backend) {
    let mut server = setup(backend).await;
    let image = Image::new("gc-crash", 2, 2_000);
    server.push_image("acme/web", "v1", &image).await;
    let (status, _) = server
        .delete("/v2/registry/acme/repositories/web/tags/v1")
        .await;
    assert_eq!(status, 204);
    let held = hold_a_write(&server).await;
    let gc = start_gc(&server, json!({"type": BOTH})).await;
    wait_for_active_status(&server, "waiting for write JWTs to expire").await;
    server.kill();
    drop(held);
    server.restart().await;
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    let (bytes, count) = image_bytes(&image);
    assert_eq!(done["freed_bytes"], bytes, "{done}");
    assert_eq!(done["blobs_deleted"], count, "{done}");
    assert!(image_files(&server, &image).iter().all(|f| !f.exists()));
}

/// A referrer (signature-like artifact) of `subject` with the empty config.
fn referrer(subject: &str, subject_size: usize, note: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(b"{}"), "size": 2},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_size},
        "annotations": {"note": note}
    }))
    .unwrap()
}

async fn index_children_and_referrers_of_live_manifests_stay(backend: Backend) {
    let server = setup(backend).await;
    let repo = "acme/multi";
    // Two platform images pushed by digest (untagged), and a tagged index over them.
    let amd = Image::new("idx-amd64", 1, 1_500);
    let arm = Image::new("idx-arm64", 1, 1_500);
    server.push_image(repo, &amd.digest, &amd).await;
    server.push_image(repo, &arm.digest, &arm).await;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": amd.digest, "size": amd.manifest.len(), "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": arm.digest, "size": arm.manifest.len(), "platform": {"architecture": "arm64", "os": "linux"}},
        ]
    }))
    .unwrap();
    let index_digest = server.push_manifest(repo, "multi", OCI_INDEX, &index).await;
    // An untagged signature of the index (kept: its subject is live).
    server.push_blob(repo, b"{}").await;
    let signature = referrer(&index_digest, index.len(), "kept");
    server
        .push_manifest(repo, &sha256(&signature), OCI_MANIFEST, &signature)
        .await;
    // An untagged image and an untagged signature of it (both go).
    let dangling = Image::new("idx-dangling", 1, 1_200);
    server.push_image(repo, &dangling.digest, &dangling).await;
    let dangling_sig = referrer(&dangling.digest, dangling.manifest.len(), "gone");
    server
        .push_manifest(repo, &sha256(&dangling_sig), OCI_MANIFEST, &dangling_sig)
        .await;

    let gc = start_gc(&server, json!({"type": BOTH})).await;
    let done = wait_for_status(&server, &gc["uuid"], "succeeded").await;
    // The shared empty config stays (the kept signature uses it).
    assert_eq!(
        done["freed_bytes"],
        dangling.total_bytes() + dangling_sig.len() as u64,
        "{done}"
    );
    let (_, digests) = server
        .get("/v2/registry/acme/repositories/multi/digests")
        .await;
    let mut listed: Vec<&str> = digests["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    listed.sort();
    let signature_digest = sha256(&signature);
    let mut expected = vec![
        amd.digest.as_str(),
        arm.digest.as_str(),
        index_digest.as_str(),
        signature_digest.as_str(),
    ];
    expected.sort();
    assert_eq!(listed, expected);
    assert_pulls(&server, repo, &amd.digest, &amd).await;
    assert_pulls(&server, repo, &arm.digest, &arm).await;
    let (status, _, bytes) = server.pull_manifest(repo, "multi").await;
    assert_eq!((status.as_u16(), bytes), (200, index));
    assert!(blob_file(&server, b"{}").exists());
    assert!(image_files(&server, &dangling).iter().all(|f| !f.exists()));
    assert!(!blob_file(&server, &dangling_sig).exists());
}
