//! The OCI distribution API over HTTP: pushes (monolithic, chunked, mounted) and pulls byte for
//! byte, tag listing, referrers, the catalog, the token flow, and the spec's errors for bad
//! input — each refusal leaving nothing stored.

use annals_tests::oci::{Image, OCI_INDEX, OCI_MANIFEST, sha256};
use annals_tests::{ADMIN, Backend, Server, basic_auth, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    push_and_pull_round_trip => push_and_pull_round_trip;
    chunked_uploads_and_their_errors => chunked_uploads_and_their_errors;
    bad_manifests_are_refused_and_store_nothing => bad_manifests_are_refused_and_store_nothing;
    tags_referrers_catalog_and_deletes => tags_referrers_catalog_and_deletes;
    token_flow_and_anonymous_access => token_flow_and_anonymous_access;
    manifests_are_negotiated_over_accept => manifests_are_negotiated_over_accept;
    blob_deletes_mount_sources_and_empty_referrers => blob_deletes_mount_sources_and_empty_referrers;
}

async fn setup(backend: Backend) -> Server {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    server
}

async fn push_and_pull_round_trip(backend: Backend) {
    let server = setup(backend).await;
    let image = Image::new("round-trip", 3, 70_000);
    server.push_image("acme/app/web", "v1", &image).await;

    let (status, digest, bytes) = server.pull_manifest("acme/app/web", "v1").await;
    assert_eq!(status, 200);
    assert_eq!(digest.as_deref(), Some(image.digest.as_str()));
    assert_eq!(bytes, image.manifest);
    let (status, _, by_digest) = server.pull_manifest("acme/app/web", &image.digest).await;
    assert_eq!(
        (status, by_digest),
        (StatusCode::OK, image.manifest.clone())
    );

    for blob in image.blobs() {
        let url = format!("/v2/acme/app/web/blobs/{}", sha256(blob));
        let head = server
            .registry_request(Method::HEAD, &url)
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-length"],
            blob.len().to_string().as_str()
        );
        let got = server
            .registry_request(Method::GET, &url)
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), blob);
        let ranged = server
            .registry_request(Method::GET, &url)
            .header("range", "bytes=10-19")
            .send()
            .await
            .unwrap();
        assert_eq!(ranged.status(), 206);
        assert_eq!(ranged.bytes().await.unwrap().as_ref(), &blob[10..20]);
        let suffix = server
            .registry_request(Method::GET, &url)
            .header("range", "bytes=-7")
            .send()
            .await
            .unwrap();
        assert_eq!(suffix.status(), 206, "a suffix range is the last bytes");
        assert_eq!(
            suffix.bytes().await.unwrap().as_ref(),
            &blob[blob.len() - 7..]
        );
    }
    // A blob of another repository is not served from this one.
    let other = format!("/v2/acme/other/blobs/{}", sha256(&image.layers[0]));
    let (status, code) = Server::registry_error_code(
        server
            .registry_request(Method::GET, &other)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status.as_u16(), code.as_deref()),
        (404, Some("NAME_UNKNOWN"))
    );

    // The repository was created by the push, and its log shows the push and the pulls.
    let (status, repo) = server.get("/api/v1/repository/acme/app/web").await;
    assert_eq!(status, 200, "{repo}");
    let (_, logs) = server.get("/api/v1/repository/acme/app/web/logs").await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "pull_repo").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "push_repo").count(),
        1,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"create_repo"), "{kinds:?}");
    let push = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "push_repo")
        .unwrap();
    assert_eq!(push["performer"]["name"], ADMIN);
    assert_eq!(push["metadata"]["tag"], "v1");
    assert_eq!(push["ip"], "127.0.0.1");

    // A cross-repository mount links the blob without sending it.
    let layer = sha256(&image.layers[1]);
    let mounted = server
        .registry_request(
            Method::POST,
            &format!("/v2/acme/copy/blobs/uploads/?mount={layer}&from=acme/app/web"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(mounted.status(), 201);
    assert_eq!(mounted.headers()["docker-content-digest"], layer.as_str());
    let head = server
        .registry_request(Method::HEAD, &format!("/v2/acme/copy/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    // Without `from`, any repository holding the blob serves (automatic content discovery).
    let config = sha256(&image.config);
    let discovered = server
        .registry_request(
            Method::POST,
            &format!("/v2/acme/copy/blobs/uploads/?mount={config}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(discovered.status(), 201);
    // Mounting from a repository without the blob falls back to a new upload session.
    let fallback = server
        .registry_request(
            Method::POST,
            &format!(
                "/v2/acme/copy/blobs/uploads/?mount={}&from=acme/nothing",
                sha256(b"x")
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(fallback.status(), 202);
}

async fn chunked_uploads_and_their_errors(backend: Backend) {
    let server = setup(backend).await;
    let blob: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = sha256(&blob);
    let start = server
        .registry_request(Method::POST, "/v2/acme/web/blobs/uploads/")
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let chunk = |from: usize, to: usize| {
        server
            .registry_request(Method::PATCH, &location)
            .header("content-type", "application/octet-stream")
            .header("content-range", format!("{from}-{}", to - 1))
            .body(blob[from..to].to_vec())
    };
    let first = chunk(0, 100_000).send().await.unwrap();
    assert_eq!(first.status(), 202);
    assert_eq!(first.headers()["range"], "0-99999");
    // Out of order: 416, and the upload is unchanged.
    let skipped = chunk(150_000, 200_000).send().await.unwrap();
    assert_eq!(skipped.status(), 416);
    let status = server
        .registry_request(Method::GET, &location)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"], "0-99999");
    assert_eq!(chunk(100_000, 200_000).send().await.unwrap().status(), 202);
    // A wrong digest is refused and nothing becomes visible.
    let events = server.event_count().await;
    let wrong = server
        .registry_request(
            Method::PUT,
            &format!("{location}?digest={}", sha256(b"other")),
        )
        .body(blob[200_000..].to_vec())
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(wrong).await;
    assert_eq!(
        (status.as_u16(), code.as_deref()),
        (400, Some("DIGEST_INVALID"))
    );
    assert_eq!(server.event_count().await, events);
    // The session still holds the bytes; the right digest completes it.
    let done = server
        .registry_request(Method::PUT, &format!("{location}?digest={digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 201);
    let got = server
        .registry_request(Method::GET, &format!("/v2/acme/web/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), blob.as_slice());

    // A truncated monolithic upload (body shorter than the digest's content) is a digest error.
    let truncated = server
        .registry_request(
            Method::POST,
            &format!(
                "/v2/acme/web/blobs/uploads/?digest={}",
                sha256(b"complete body")
            ),
        )
        .body(&b"complete"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(
        Server::registry_error_code(truncated).await.1.as_deref(),
        Some("DIGEST_INVALID")
    );
    assert!(
        !server
            .data_dir()
            .join("blobs/blobs/sha256")
            .join(&sha256(b"complete body")[7..9])
            .exists()
    );
    // sha512 digests are verified too.
    let sha512 = format!("sha512:{}", hex_sha512(b"five twelve"));
    let ok = server
        .registry_request(
            Method::POST,
            &format!("/v2/acme/web/blobs/uploads/?digest={sha512}"),
        )
        .body(&b"five twelve"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    // Unknown and cancelled sessions.
    let cancel = server
        .registry_request(Method::POST, "/v2/acme/web/blobs/uploads/")
        .send()
        .await
        .unwrap();
    let cancel_at = cancel.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        server
            .registry_request(Method::DELETE, &cancel_at)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let gone = server
        .registry_request(Method::GET, &cancel_at)
        .send()
        .await
        .unwrap();
    assert_eq!(
        Server::registry_error_code(gone).await.1.as_deref(),
        Some("BLOB_UPLOAD_UNKNOWN")
    );
    let bogus = server
        .registry_request(Method::GET, "/v2/acme/web/blobs/uploads/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status(), 404);
}

fn hex_sha512(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha512};
    Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn bad_manifests_are_refused_and_store_nothing(backend: Backend) {
    let server = setup(backend).await;
    let image = Image::new("bad", 1, 1000);
    for blob in image.blobs() {
        server.push_blob("acme/web", blob).await;
    }
    let events = server.event_count().await;
    let put = |reference: String, media_type: &'static str, body: Vec<u8>| {
        server
            .registry_request(Method::PUT, &format!("/v2/acme/web/manifests/{reference}"))
            .header("content-type", media_type)
            .body(body)
            .send()
    };
    let cases: Vec<(String, &str, Vec<u8>, u16, &str)> = vec![
        (
            "v1".into(),
            OCI_MANIFEST,
            b"{not json".to_vec(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            "v1".into(),
            "application/x-unknown",
            image.manifest.clone(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            sha256(b"other"),
            OCI_MANIFEST,
            image.manifest.clone(),
            400,
            "DIGEST_INVALID",
        ),
        (
            "sha256:nothex".into(),
            OCI_MANIFEST,
            image.manifest.clone(),
            400,
            "DIGEST_INVALID",
        ),
        (
            "bad$tag".into(),
            OCI_MANIFEST,
            image.manifest.clone(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            "v1".into(),
            OCI_MANIFEST,
            vec![b' '; 5 * 1024 * 1024],
            413,
            "SIZE_INVALID",
        ),
    ];
    for (reference, media_type, body, status, code) in cases {
        let (got, got_code) =
            Server::registry_error_code(put(reference.clone(), media_type, body).await.unwrap())
                .await;
        assert_eq!(
            (got.as_u16(), got_code.as_deref()),
            (status, Some(code)),
            "{reference} {media_type}"
        );
    }
    // A manifest whose layer was never uploaded.
    let missing = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&image.config), "size": image.config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(b"never"), "size": 5}]
    }))
    .unwrap();
    let (status, code) =
        Server::registry_error_code(put("v1".into(), OCI_MANIFEST, missing).await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), code.as_deref()),
        (400, Some("MANIFEST_BLOB_UNKNOWN"))
    );
    // A bad repository name.
    let bad_name = server
        .registry_request(Method::GET, "/v2/acme/Bad_Name/tags/list")
        .send()
        .await
        .unwrap();
    assert_eq!(
        Server::registry_error_code(bad_name).await,
        (StatusCode::BAD_REQUEST, Some("NAME_INVALID".into()))
    );
    assert_eq!(
        server.event_count().await,
        events,
        "refusals append nothing"
    );
    let (status, _, _) = server.pull_manifest("acme/web", "v1").await;
    assert_eq!(status, 404);
}

async fn tags_referrers_catalog_and_deletes(backend: Backend) {
    let server = setup(backend).await;
    let image = Image::new("tags", 1, 100);
    server.push_image("acme/web", "v1", &image).await;
    for tag in ["v2", "a", "z"] {
        server
            .push_manifest("acme/web", tag, OCI_MANIFEST, &image.manifest)
            .await;
    }
    let tags = server
        .registry_request(Method::GET, "/v2/acme/web/tags/list?n=2")
        .send()
        .await
        .unwrap();
    let link = tags.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(link, "</v2/acme/web/tags/list?n=2&last=v1>; rel=\"next\"");
    assert_eq!(
        tags.json::<Value>().await.unwrap(),
        json!({"name": "acme/web", "tags": ["a", "v1"]})
    );
    let rest: Value = server
        .registry_request(Method::GET, "/v2/acme/web/tags/list?n=2&last=v1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["tags"], json!(["v2", "z"]));

    // A referrer (a signature-like artifact) with `subject`, pushed by digest with ?tag=.
    let empty = b"{}".to_vec();
    server.push_blob("acme/web", &empty).await;
    let referrer = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(&empty), "size": 2},
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.manifest.len()},
        "annotations": {"org.example": "yes"}
    }))
    .unwrap();
    let referrer_digest = sha256(&referrer);
    let put = server
        .registry_request(
            Method::PUT,
            &format!("/v2/acme/web/manifests/{referrer_digest}?tag=sig"),
        )
        .header("content-type", OCI_MANIFEST)
        .body(referrer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    assert_eq!(put.headers()["oci-subject"], image.digest.as_str());
    assert_eq!(
        put.headers()["oci-tag"],
        "sig",
        "each tag of ?tag= is answered"
    );
    let refs = server
        .registry_request(
            Method::GET,
            &format!("/v2/acme/web/referrers/{}", image.digest),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refs.headers()["content-type"], OCI_INDEX);
    let refs: Value = refs.json().await.unwrap();
    assert_eq!(refs["manifests"][0]["digest"], referrer_digest.as_str());
    assert_eq!(
        refs["manifests"][0]["artifactType"],
        "application/vnd.example.sig"
    );
    assert_eq!(refs["manifests"][0]["annotations"]["org.example"], "yes");
    let filtered = server
        .registry_request(
            Method::GET,
            &format!(
                "/v2/acme/web/referrers/{}?artifactType=application/other",
                image.digest
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.headers()["oci-filters-applied"], "artifactType");
    assert_eq!(
        filtered.json::<Value>().await.unwrap()["manifests"],
        json!([])
    );

    let catalog: Value = server
        .registry_request(Method::GET, "/v2/_catalog")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["repositories"], json!(["acme/web"]));

    // Delete a tag, then the manifest: its other tags go with it.
    let del = server
        .registry_request(Method::DELETE, "/v2/acme/web/manifests/z")
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 202);
    assert_eq!(server.pull_manifest("acme/web", "z").await.0, 404);
    let del = server
        .registry_request(
            Method::DELETE,
            &format!("/v2/acme/web/manifests/{}", image.digest),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 202);
    assert_eq!(server.pull_manifest("acme/web", "v1").await.0, 404);
    let tags: Value = server
        .registry_request(Method::GET, "/v2/acme/web/tags/list")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["sig"]));
    let again = server
        .registry_request(
            Method::DELETE,
            &format!("/v2/acme/web/manifests/{}", image.digest),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        Server::registry_error_code(again).await.1.as_deref(),
        Some("MANIFEST_UNKNOWN")
    );
}

async fn token_flow_and_anonymous_access(backend: Backend) {
    let server = setup(backend).await;
    let http = reqwest::Client::new();
    let base = http
        .get(format!("{}/v2/", server.registry))
        .send()
        .await
        .unwrap();
    assert_eq!(base.status(), 401);
    let challenge = base.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer realm=\"http://"),
        "{challenge}"
    );
    let realm = challenge.split('"').nth(1).unwrap().to_owned();
    let token: Value = http
        .get(format!(
            "{realm}?service=x&scope=repository:acme/web:pull,push"
        ))
        .basic_auth(ADMIN, Some(&server.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["token"].as_str().unwrap().to_owned();
    let ok = http
        .get(format!("{}/v2/", server.registry))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let image = Image::new("token", 1, 10);
    for blob in image.blobs() {
        let d = sha256(blob);
        let r = http
            .post(format!(
                "{}/v2/acme/web/blobs/uploads/?digest={d}",
                server.registry
            ))
            .bearer_auth(&bearer)
            .body(blob.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = http
        .put(format!("{}/v2/acme/web/manifests/latest", server.registry))
        .bearer_auth(&bearer)
        .header("content-type", OCI_MANIFEST)
        .body(image.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Wrong credentials are refused at the token endpoint and directly.
    let bad = http
        .get(&realm)
        .basic_auth(ADMIN, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let forged = http
        .get(format!("{}/v2/", server.registry))
        .bearer_auth(format!("{bearer}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // Anonymous: private repositories challenge, public ones pull.
    let anon = http
        .get(format!("{}/v2/acme/web/manifests/latest", server.registry))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    assert!(
        anon.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"repository:acme/web:pull\"")
    );
    assert_eq!(
        server
            .post(
                "/api/v1/repository/acme/web/changevisibility",
                json!({"visibility": "public"})
            )
            .await
            .0,
        200
    );
    let anon = http
        .get(format!("{}/v2/acme/web/manifests/latest", server.registry))
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 200);
    assert_eq!(
        anon.bytes().await.unwrap().as_ref(),
        image.manifest.as_slice()
    );
    let anon_push = http
        .put(format!("{}/v2/acme/web/manifests/other", server.registry))
        .header("content-type", OCI_MANIFEST)
        .body(image.manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anon_push.status(), 401);
}

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A manifest `GET` with these `Accept` headers: status, content type, digest header.
async fn get_with_accept(
    server: &Server,
    path: &str,
    accept: &[&str],
) -> (StatusCode, Option<String>, Option<String>) {
    let mut request = server.registry_request(Method::GET, path);
    for a in accept {
        request = request.header("accept", *a);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    (
        response.status(),
        header("content-type"),
        header("docker-content-digest"),
    )
}

async fn manifests_are_negotiated_over_accept(backend: Backend) {
    let server = setup(backend).await;
    let repo = "acme/multi";
    let amd = Image::new("negotiate-amd64", 1, 500);
    let arm = Image::new("negotiate-arm64", 1, 500);
    server.push_image(repo, &amd.digest, &amd).await;
    server.push_image(repo, &arm.digest, &arm).await;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": arm.digest, "size": arm.manifest.len(), "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": amd.digest, "size": amd.manifest.len(), "platform": {"architecture": "amd64", "os": "linux"}}
        ]
    }))
    .unwrap();
    let index_digest = server.push_manifest(repo, "multi", OCI_INDEX, &index).await;
    let by_tag = format!("/v2/{repo}/manifests/multi");
    let by_digest = format!("/v2/{repo}/manifests/{index_digest}");

    // No Accept, a wildcard, or the index's type among several headers: the index itself.
    for accept in [
        &[][..],
        &["*/*"][..],
        &[
            OCI_MANIFEST,
            &format!("{DOCKER_MANIFEST}, {OCI_INDEX};q=0.5"),
        ][..],
    ] {
        let (status, content_type, digest) = get_with_accept(&server, &by_tag, accept).await;
        assert_eq!(status, 200, "{accept:?}");
        assert_eq!(content_type.as_deref(), Some(OCI_INDEX), "{accept:?}");
        assert_eq!(digest.as_ref(), Some(&index_digest), "{accept:?}");
    }
    // A client that reads image manifests only gets the linux/amd64 image through the tag...
    let (status, content_type, digest) = get_with_accept(&server, &by_tag, &[OCI_MANIFEST]).await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some(OCI_MANIFEST));
    assert_eq!(digest.as_ref(), Some(&amd.digest));
    // ...but not by the index's digest, nor an OCI type it refuses (q=0) or does not name.
    for (path, accept) in [
        (&by_digest, OCI_MANIFEST.to_owned()),
        (&by_tag, format!("{OCI_INDEX};q=0, {DOCKER_MANIFEST}")),
        (
            &format!("/v2/{repo}/manifests/{}", amd.digest),
            DOCKER_MANIFEST.to_owned(),
        ),
    ] {
        let response = server
            .registry_request(Method::GET, path)
            .header("accept", &accept)
            .send()
            .await
            .unwrap();
        assert_eq!(
            Server::registry_error_code(response).await,
            (StatusCode::NOT_FOUND, Some("MANIFEST_UNKNOWN".to_owned())),
            "{path} {accept}"
        );
    }
    // A Docker schema 2 manifest is served as stored whatever is asked (no schema 1 conversion).
    let mut docker = serde_json::from_slice::<Value>(&amd.manifest).unwrap();
    docker["mediaType"] = DOCKER_MANIFEST.into();
    let docker = serde_json::to_vec(&docker).unwrap();
    server
        .push_manifest(repo, "docker", DOCKER_MANIFEST, &docker)
        .await;
    let (status, content_type, digest) = get_with_accept(
        &server,
        &format!("/v2/{repo}/manifests/docker"),
        &["application/vnd.docker.distribution.manifest.v1+prettyjws"],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some(DOCKER_MANIFEST));
    assert_eq!(digest, Some(sha256(&docker)));
}

/// A registry request with an explicit `Authorization` value.
fn registry_as(server: &Server, method: Method, path: &str, auth: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.registry))
        .header("Authorization", auth)
}

/// Blob DELETE is for the repository's administrators, refused while a manifest names the
/// blob, and an event (the bytes stay until garbage collection); a mount never copies a blob
/// out of a repository the caller may not read; referrers of anything in a repository nothing
/// was pushed to are an empty index.
async fn blob_deletes_mount_sources_and_empty_referrers(backend: Backend) {
    let server = setup(backend).await;
    let image = Image::new("deletable", 1, 20_000);
    server.push_image("acme/app", "v1", &image).await;
    let other = Image::new("other", 1, 1_000);
    server.push_image("acme/other", "v1", &other).await;
    let layer = sha256(&image.layers[0]);

    // A robot that may write to acme/other and nothing else.
    let (s, robot) = server
        .put("/api/v1/organization/acme/robots/ci", json!({}))
        .await;
    assert_eq!(s, 201, "{robot}");
    let robot_auth = basic_auth("acme+ci", robot["token"].as_str().unwrap());
    let (s, b) = server
        .put(
            "/api/v1/repository/acme/other/permissions/user/acme+ci",
            json!({"role": "write"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // Mounting from a repository it may not read falls back to an upload, with or without
    // `from`, and the blob is not readable through acme/other.
    let before = server.event_count().await;
    for query in [
        format!("mount={layer}&from=acme/app"),
        format!("mount={layer}"),
    ] {
        let r = registry_as(
            &server,
            Method::POST,
            &format!("/v2/acme/other/blobs/uploads/?{query}"),
            &robot_auth,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{query}");
    }
    let r = registry_as(
        &server,
        Method::GET,
        &format!("/v2/acme/other/blobs/{layer}"),
        &robot_auth,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        server.event_count().await,
        before,
        "a refused mount appends nothing"
    );

    // A writer may not delete blobs; an administrator may not while a manifest names one.
    let other_layer = sha256(&other.layers[0]);
    let r = registry_as(
        &server,
        Method::DELETE,
        &format!("/v2/acme/other/blobs/{other_layer}"),
        &robot_auth,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // (The refusal itself is recorded; the conflict below appends nothing.)
    let before = server.event_count().await;
    let r = server
        .registry_request(Method::DELETE, &format!("/v2/acme/app/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&image.digest),
        "{body}"
    );
    assert_eq!(server.event_count().await, before);

    // Once the manifest is gone the blob can be deleted: 202, then unknown.
    let r = server
        .registry_request(
            Method::DELETE,
            &format!("/v2/acme/app/manifests/{}", image.digest),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = server
        .registry_request(Method::DELETE, &format!("/v2/acme/app/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = server
        .registry_request(Method::GET, &format!("/v2/acme/app/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = server
        .registry_request(Method::DELETE, &format!("/v2/acme/app/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "BLOB_UNKNOWN");
    let unlinked: Vec<_> = server
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "repository.blob_unlinked.v1")
        .collect();
    assert_eq!(unlinked.len(), 1);
    assert_eq!(unlinked[0].data["digest"], layer.as_str());
    assert_eq!(unlinked[0].metadata["actor"]["name"], ADMIN);
    // Uploading it again links it again.
    server.push_blob("acme/app", &image.layers[0]).await;
    let r = server
        .registry_request(Method::GET, &format!("/v2/acme/app/blobs/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Referrers in a repository nothing was pushed to: an empty index.
    let r = server
        .registry_request(Method::GET, &format!("/v2/acme/ghost/referrers/{layer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], OCI_INDEX);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["manifests"], json!([]));
}
