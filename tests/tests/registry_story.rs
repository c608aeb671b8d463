//! The whole registry story in one run, as a compliance team would replay it: skopeo copies a
//! multi-layer image into a DigitalOcean registry on Annals and back out byte for byte; a
//! second image is pushed; tags are moved, deleted and restored through the Quay routes; the
//! first image is deleted through the DigitalOcean routes; garbage collection frees exactly the
//! bytes no live manifest references (checked on disk); and the usage log shows every step
//! with its actor.

use std::time::Duration;

use annals_tests::oci::{Image, sha256};
use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};
use serde_json::Value;

on_both_backends! {
    push_retag_delete_collect_and_audit => push_retag_delete_collect_and_audit;
}

fn blob_path(server: &Server, bytes: &[u8]) -> std::path::PathBuf {
    let hex = sha256(bytes)[7..].to_owned();
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}

fn store_bytes(server: &Server) -> u64 {
    fn walk(dir: &std::path::Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| {
                        let m = e.metadata().unwrap();
                        if m.is_dir() { walk(&e.path()) } else { m.len() }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(&server.data_dir().join("blobs/blobs"))
}

async fn push_retag_delete_collect_and_audit(backend: Backend) {
    if !annals_tests::skopeo::skopeo_available() {
        return;
    }
    let server = Server::start(backend).await;
    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "story", "subscription_tier_slug": "basic", "region": "fra1"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // 1. skopeo copies image A in (four layers) and back out, byte for byte.
    let a = Image::new("story-a", 4, 200_000);
    let work = tempfile::tempdir().unwrap();
    annals_tests::skopeo::write_layout(&work.path().join("a"), &a, "v1");
    let host = server.registry.trim_start_matches("http://").to_owned();
    let creds = format!("{ADMIN}:{}", server.token);
    let dest = format!("docker://{host}/story/app:v1");
    let run = |args: Vec<String>| {
        let out = std::process::Command::new("skopeo")
            .arg("--insecure-policy")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(vec![
        "copy".into(),
        "--dest-tls-verify=false".into(),
        "--dest-creds".into(),
        creds.clone(),
        format!("oci:{}:v1", work.path().join("a").display()),
        dest.clone(),
    ]);
    run(vec![
        "copy".into(),
        "--src-tls-verify=false".into(),
        "--src-creds".into(),
        creds.clone(),
        dest.clone(),
        format!("oci:{}:v1", work.path().join("back").display()),
    ]);
    for blob in a.blobs().into_iter().chain([a.manifest.as_slice()]) {
        let copied = std::fs::read(
            work.path()
                .join("back/blobs/sha256")
                .join(&sha256(blob)[7..]),
        )
        .unwrap();
        assert!(copied == blob, "{} changed in the round trip", sha256(blob));
    }

    // 2. Image B shares nothing with A; it is pushed as v2 and `latest`.
    let b = Image::new("story-b", 2, 150_000);
    server.push_image("story/app", "v2", &b).await;
    server
        .push_manifest(
            "story/app",
            "latest",
            annals_tests::oci::OCI_MANIFEST,
            &b.manifest,
        )
        .await;

    // 3. Tags through Quay: move `latest` to A, delete it, restore it to B (its earlier value),
    //    and point v1 at B as well, so A is left untagged.
    let tag = |t: &str| format!("/api/v1/repository/story/app/tag/{t}");
    assert_eq!(
        server
            .put(&tag("latest"), json!({"manifest_digest": a.digest}))
            .await
            .0,
        201
    );
    assert_eq!(server.delete(&tag("latest")).await.0, 204);
    assert_eq!(
        server
            .post(
                &format!("{}/restore", tag("latest")),
                json!({"manifest_digest": b.digest})
            )
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .put(&tag("v1"), json!({"manifest_digest": b.digest}))
            .await
            .0,
        201
    );
    let (_, history) = server
        .get("/api/v1/repository/story/app/tag/?specificTag=latest")
        .await;
    let digests: Vec<&str> = history["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["manifest_digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests,
        [b.digest.as_str(), a.digest.as_str(), b.digest.as_str()],
        "the tag's whole history"
    );

    // 4. Delete image A through the DigitalOcean routes (the digest arrives URL-encoded).
    let encoded = a.digest.replace(':', "%3A");
    let (status, body) = server
        .delete(&format!(
            "/v2/registry/story/repositories/app/digests/{encoded}"
        ))
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.pull_manifest("story/app", &a.digest).await.0, 404);

    // 5. Garbage collection frees exactly A's bytes, on disk.
    let before = store_bytes(&server);
    let (status, body) = server
        .post(
            "/v2/registry/story/garbage-collection",
            json!({"type": "untagged manifests and unreferenced blobs"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let uuid = body["garbage_collection"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut gc = Value::Null;
    for _ in 0..300 {
        let (_, list) = server.get("/v2/registry/story/garbage-collections").await;
        gc = list["garbage_collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["uuid"] == uuid.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        if gc["status"] == "succeeded" || gc["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gc["status"], "succeeded", "{gc}");
    assert_eq!(gc["freed_bytes"].as_u64().unwrap(), a.total_bytes(), "{gc}");
    assert_eq!(
        gc["blobs_deleted"].as_u64().unwrap(),
        a.blobs().len() as u64 + 1
    );
    assert_eq!(
        before - store_bytes(&server),
        a.total_bytes(),
        "bytes freed on disk"
    );
    for blob in a.blobs().into_iter().chain([a.manifest.as_slice()]) {
        assert!(!blob_path(&server, blob).exists());
    }
    for blob in b.blobs().into_iter().chain([b.manifest.as_slice()]) {
        assert!(blob_path(&server, blob).exists());
    }
    let (status, _, bytes) = server.pull_manifest("story/app", "v1").await;
    assert_eq!((status.as_u16(), bytes), (200, b.manifest.clone()));

    // 6. The usage log tells the story, each step with its actor.
    let (_, logs) = server.get("/api/v1/repository/story/app/logs").await;
    let entries = logs["logs"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "create_repo",
        "push_repo",
        "pull_repo",
        "move_tag",
        "delete_tag",
        "revert_tag",
        "delete_manifest",
    ] {
        let entry = entries
            .iter()
            .find(|l| l["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind} missing from {kinds:?}"));
        assert_eq!(entry["performer"]["name"], ADMIN, "{entry}");
        assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    }
    let (_, org_logs) = server.get("/api/v1/organization/story/logs").await;
    let org_kinds: Vec<&str> = org_logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "registry_create",
        "registry_gc_start",
        "registry_gc_blobs_deleted",
        "registry_gc_finish",
    ] {
        assert!(
            org_kinds.contains(&kind),
            "{kind} missing from {org_kinds:?}"
        );
    }
}
