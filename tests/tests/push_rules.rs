//! The rules of a push hold on every path: a manifest that is refused leaves no repository and
//! no bytes behind, and a registry's tier limits repositories whether they are created by a
//! push or through the Quay API.

use annals_tests::oci::{Image, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256};
use annals_tests::{Backend, Server, json, on_both_backends};
use reqwest::Method;

on_both_backends! {
    a_refused_manifest_leaves_no_repository_and_no_bytes => a_refused_manifest_leaves_nothing;
    the_tier_limits_repositories_on_every_path => the_tier_limits_repositories_on_every_path;
    parallel_uploads_into_one_repository_all_land => parallel_uploads_into_one_repository;
}

async fn create_registry(server: &Server, name: &str, tier: &str) {
    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": name, "subscription_tier_slug": tier, "region": "fra1"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The file a blob or manifest would have in the server's blob store.
fn stored(server: &Server, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}

/// A manifest whose config was uploaded but whose layer never was, padded with an annotation
/// to about `pad` bytes.
fn dangling_manifest(config: &[u8], pad: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": OCI_LAYER, "digest": sha256(b"never uploaded"), "size": 14}],
        "annotations": {"padding": "x".repeat(pad)},
    }))
    .unwrap()
}

async fn a_refused_manifest_leaves_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    create_registry(&server, "acme", "starter").await;
    let before = server.events().await.len();

    // Blobs first, as every client pushes; then manifests that are refused: one naming a
    // blob that was never uploaded (several, large), one with a media type no registry takes.
    let config = b"{\"architecture\":\"amd64\",\"os\":\"linux\"}".to_vec();
    server.push_blob("acme/refused", &config).await;
    for pad in [1_000, 3 * 1024 * 1024, 3 * 1024 * 1024 + 1] {
        let manifest = dangling_manifest(&config, pad);
        let response = server
            .registry_request(Method::PUT, "/v2/acme/refused/manifests/v1")
            .header("content-type", OCI_MANIFEST)
            .body(manifest.clone())
            .send()
            .await
            .unwrap();
        let (status, code) = Server::registry_error_code(response).await;
        assert_eq!(
            (status.as_u16(), code.as_deref()),
            (400, Some("MANIFEST_BLOB_UNKNOWN"))
        );
        assert!(
            !stored(&server, &sha256(&manifest)).exists(),
            "a refused manifest was stored"
        );
    }
    let response = server
        .registry_request(Method::PUT, "/v2/acme/refused/manifests/v1")
        .header("content-type", "application/x-not-a-manifest")
        .body(dangling_manifest(&config, 10))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // No repository: not in Quay, not in DigitalOcean's list, not in the log.
    let (status, body) = server.get("/api/v1/repository/acme/refused").await;
    assert_eq!(status, 404, "{body}");
    let (_, repos) = server.get("/v2/registry/acme/repositories").await;
    assert_eq!(repos["meta"]["total"], 0, "{repos}");
    let events = server.events().await;
    assert!(
        events[before..]
            .iter()
            .all(|e| e.event_type != "repository.created.v1"),
        "{:?}",
        events[before..]
            .iter()
            .map(|e| &e.event_type)
            .collect::<Vec<_>>()
    );

    // The starter tier's one repository is still free: a complete push takes it, and the
    // blob uploaded before the refused manifest is already there for it.
    let image = Image::new("after-refusal", 1, 2_000);
    server.push_image("acme/refused", "v1", &image).await;
    let (status, repo) = server.get("/api/v1/repository/acme/refused").await;
    assert_eq!(status, 200, "{repo}");
    let (_, repos) = server.get("/v2/registry/acme/repositories").await;
    assert_eq!(repos["meta"]["total"], 1, "{repos}");
    // Created and pushed by one command: the creation and the push share a command id.
    let events = server.events().await;
    let created = events
        .iter()
        .find(|e| e.event_type == "repository.created.v1")
        .expect("created");
    let pushed = events
        .iter()
        .find(|e| e.event_type == "repository.manifest_pushed.v1")
        .expect("pushed");
    assert_eq!(
        created.metadata["command_id"],
        pushed.metadata["command_id"]
    );
    assert_eq!(created.stream, pushed.stream);
}

async fn the_tier_limits_repositories_on_every_path(backend: Backend) {
    let server = Server::start(backend).await;
    create_registry(&server, "acme", "starter").await;
    let create =
        |name: &str| json!({"namespace": "acme", "repository": name, "visibility": "private"});
    let (status, body) = server.post("/api/v1/repository", create("one")).await;
    assert_eq!(status, 201, "{body}");
    // The Quay API meets the tier as a push does.
    let (status, body) = server.post("/api/v1/repository", create("two")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(server.get("/api/v1/repository/acme/two").await.0, 404);
    let response = server
        .registry_request(
            Method::POST,
            &format!("/v2/acme/three/blobs/uploads/?digest={}", sha256(b"x")),
        )
        .header("content-type", "application/octet-stream")
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(response).await;
    assert_eq!((status.as_u16(), code.as_deref()), (403, Some("DENIED")));
    let (_, repos) = server.get("/v2/registry/acme/repositories").await;
    assert_eq!(repos["meta"]["total"], 1, "{repos}");

    // Concurrent creates cannot both take the last place.
    assert_eq!(server.delete("/api/v1/repository/acme/one").await.0, 204);
    let racers = (0..8).map(|i| server.post("/api/v1/repository", create(&format!("r{i}"))));
    let answers = futures::future::join_all(racers).await;
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(won, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, _)| [201, 403].contains(&s.as_u16())),
        "{answers:?}"
    );

    // A user namespace has no tier.
    for i in 0..3 {
        let (status, body) = server
            .post(
                "/api/v1/repository",
                json!({"namespace": "admin", "repository": format!("mine{i}"), "visibility": "private"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

async fn parallel_uploads_into_one_repository(backend: Backend) {
    let server = Server::start(backend).await;
    // Every upload appends to the repository's stream, so concurrent ones conflict and decide
    // again; each must still be stored once and answered 201 (`push_blob` asserts it).
    let blobs: Vec<Vec<u8>> = (0..12)
        .map(|i| format!("parallel blob {i}").into_bytes())
        .collect();
    let uploads = blobs.iter().map(|b| server.push_blob("admin/fresh", b));
    futures::future::join_all(uploads).await;
    for blob in &blobs {
        assert!(stored(&server, &sha256(blob)).exists());
    }
}
