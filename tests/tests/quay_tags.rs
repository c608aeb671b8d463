//! Quay's tag, manifest, label and image routes over content pushed through the OCI listener:
//! the tag history with its periods, moving, expiring, deleting and restoring tags (the time
//! machine), labels, and the log kinds of each step.

use annals_tests::oci::{Image, OCI_MANIFEST};
use annals_tests::{ADMIN, Backend, Server, assert_quay_error, json, on_both_backends};
use serde_json::Value;

on_both_backends! {
    tag_history_moves_deletes_and_restores => tag_history_moves_deletes_and_restores;
    manifests_labels_and_images => manifests_labels_and_images;
}

async fn setup(backend: Backend) -> (Server, Image, Image) {
    let server = Server::start(backend).await;
    assert_eq!(
        server
            .post("/api/v1/organization/", json!({"name": "acme"}))
            .await
            .0,
        201
    );
    let (one, two) = (Image::new("one", 2, 1000), Image::new("two", 1, 2000));
    server.push_image("acme/web", "latest", &one).await;
    server.push_image("acme/web", "stable", &two).await;
    (server, one, two)
}

fn kinds(logs: &Value) -> Vec<String> {
    logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn tag_history_moves_deletes_and_restores(backend: Backend) {
    let (server, one, two) = setup(backend).await;
    let (status, tags) = server.get("/api/v1/repository/acme/web/tag/").await;
    assert_eq!(status, 200, "{tags}");
    assert_eq!(tags["page"], 1);
    assert_eq!(tags["has_additional"], false);
    let names: Vec<&str> = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stable", "latest"], "newest first");
    let latest = &tags["tags"][1];
    assert_eq!(latest["manifest_digest"], one.digest.as_str());
    assert_eq!(latest["is_manifest_list"], false);
    assert_eq!(latest["reversion"], false);
    assert!(latest["start_ts"].as_i64().unwrap() > 1_700_000_000);
    assert!(latest.get("end_ts").is_none());
    assert_eq!(
        latest["size"],
        one.manifest.len() as u64 + one.layers.iter().map(|l| l.len() as u64).sum::<u64>()
    );

    // Move `latest` to the second image: the first period ends.
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web/tag/latest",
            json!({"manifest_digest": two.digest}),
        )
        .await;
    assert_eq!((status.as_u16(), body), (201, json!("Updated")));
    let (_, tags) = server
        .get("/api/v1/repository/acme/web/tag/?specificTag=latest")
        .await;
    let periods = tags["tags"].as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[0]["manifest_digest"], two.digest.as_str());
    assert!(periods[1]["end_ts"].is_i64(), "{tags}");
    assert_eq!(
        server
            .pull_manifest("acme/web", "latest")
            .await
            .1
            .as_deref(),
        Some(two.digest.as_str())
    );

    // Delete it, then restore the first manifest from its history.
    assert_eq!(
        server
            .delete("/api/v1/repository/acme/web/tag/latest")
            .await
            .0,
        204
    );
    assert_eq!(server.pull_manifest("acme/web", "latest").await.0, 404);
    let (_, active) = server
        .get("/api/v1/repository/acme/web/tag/?onlyActiveTags=true")
        .await;
    assert_eq!(active["tags"].as_array().unwrap().len(), 1);
    let (status, body) = server
        .post(
            "/api/v1/repository/acme/web/tag/latest/restore",
            json!({"manifest_digest": one.digest}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, tags) = server
        .get("/api/v1/repository/acme/web/tag/?specificTag=latest&onlyActiveTags=true")
        .await;
    assert_eq!(tags["tags"][0]["reversion"], true);
    assert_eq!(tags["tags"][0]["manifest_digest"], one.digest.as_str());
    assert_eq!(
        server.pull_manifest("acme/web", "latest").await.2,
        one.manifest
    );

    // Refusals: a digest the tag never had, an unknown manifest, bad names and filters; none
    // appends anything.
    let events = server.event_count().await;
    let (status, body) = server
        .post(
            "/api/v1/repository/acme/web/tag/stable/restore",
            json!({"manifest_digest": one.digest}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let unknown = format!("sha256:{}", "0".repeat(64));
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web/tag/x",
            json!({"manifest_digest": unknown}),
        )
        .await;
    assert_quay_error(status, &body, 404, "not_found");
    let (status, body) = server
        .put(
            "/api/v1/repository/acme/web/tag/.bad",
            json!({"manifest_digest": one.digest}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .get("/api/v1/repository/acme/web/tag/?filter_tag_name=regex:x")
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server.delete("/api/v1/repository/acme/web/tag/nope").await;
    assert_quay_error(status, &body, 404, "not_found");
    assert_eq!(server.event_count().await, events);

    // Filters and paging.
    let (_, like) = server
        .get("/api/v1/repository/acme/web/tag/?filter_tag_name=like:tab")
        .await;
    assert!(
        like["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] == "stable")
    );
    let (_, paged) = server
        .get("/api/v1/repository/acme/web/tag/?limit=1&page=2")
        .await;
    assert_eq!(paged["tags"].as_array().unwrap().len(), 1);
    assert_eq!(paged["has_additional"], true);

    // Expiration: set, seen in the list and the repository's tags map, cleared.
    let at = chrono::Utc::now().timestamp() + 3600;
    assert_eq!(
        server
            .put(
                "/api/v1/repository/acme/web/tag/stable",
                json!({"expiration": at})
            )
            .await
            .0,
        201
    );
    let (_, repo) = server.get("/api/v1/repository/acme/web").await;
    assert!(repo["tags"]["stable"]["expiration"].is_string(), "{repo}");
    assert_eq!(
        repo["tags"]["latest"]["manifest_digest"],
        one.digest.as_str()
    );
    assert_eq!(
        server
            .put(
                "/api/v1/repository/acme/web/tag/stable",
                json!({"expiration": null})
            )
            .await
            .0,
        201
    );
    let (_, repo) = server
        .get("/api/v1/repository/acme/web?includeTags=false")
        .await;
    assert_eq!(repo["tags"], json!({}));

    let (_, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    let kinds = kinds(&logs);
    for kind in [
        "push_repo",
        "move_tag",
        "delete_tag",
        "revert_tag",
        "change_tag_expiration",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    let revert = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "revert_tag")
        .unwrap();
    assert_eq!(revert["performer"]["name"], ADMIN);
    assert_eq!(revert["metadata"]["tag"], "latest");
    assert_eq!(revert["metadata"]["manifest_digest"], one.digest.as_str());
}

async fn manifests_labels_and_images(backend: Backend) {
    let (server, one, _) = setup(backend).await;
    let base = format!("/api/v1/repository/acme/web/manifest/{}", one.digest);
    let (status, m) = server.get(&base).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["digest"], one.digest.as_str());
    assert_eq!(m["is_manifest_list"], false);
    assert_eq!(
        m["manifest_data"].as_str().unwrap().as_bytes(),
        one.manifest.as_slice()
    );
    assert_eq!(
        m["config_media_type"],
        "application/vnd.oci.image.config.v1+json"
    );
    assert_eq!(m["layers"].as_array().unwrap().len(), 2);

    let (status, added) = server
        .post(
            &format!("{base}/labels"),
            json!({"key": "owner", "value": "team-a", "media_type": "text/plain"}),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let id = added["label"]["id"].as_str().unwrap().to_owned();
    assert_eq!(added["label"]["source_type"], "api");
    let (_, listed) = server.get(&format!("{base}/labels?filter=own")).await;
    assert_eq!(listed["labels"][0]["value"], "team-a");
    let (_, none) = server.get(&format!("{base}/labels?filter=zzz")).await;
    assert_eq!(none["labels"], json!([]));
    let (status, got) = server.get(&format!("{base}/labels/{id}")).await;
    assert_eq!((status.as_u16(), got["key"].as_str()), (200, Some("owner")));

    let events = server.event_count().await;
    let (status, body) = server
        .post(
            &format!("{base}/labels"),
            json!({"key": "j", "value": "{not json", "media_type": "application/json"}),
        )
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .post(&format!("{base}/labels"), json!({"key": "", "value": "v"}))
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server
        .get("/api/v1/repository/acme/web/manifest/sha256:nothex")
        .await;
    assert_quay_error(status, &body, 404, "not_found");
    assert_eq!(server.event_count().await, events);

    assert_eq!(server.delete(&format!("{base}/labels/{id}")).await.0, 204);
    assert_eq!(server.get(&format!("{base}/labels/{id}")).await.0, 404);
    let (_, security) = server.get(&format!("{base}/security")).await;
    assert_eq!(security, json!({"status": "unsupported", "data": null}));

    let (_, images) = server.get("/api/v1/repository/acme/web/image/").await;
    assert_eq!(images["images"].as_array().unwrap().len(), 3, "{images}");
    let first = images["images"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .get(&format!("/api/v1/repository/acme/web/image/{first}"))
            .await
            .0,
        200
    );
    let (_, tag_images) = server
        .get("/api/v1/repository/acme/web/tag/latest/images")
        .await;
    assert_eq!(tag_images["images"].as_array().unwrap().len(), 2);
    assert_eq!(
        tag_images["images"][1]["ancestors"],
        format!("/{}/", tag_images["images"][0]["id"].as_str().unwrap())
    );

    let (_, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    let kinds = kinds(&logs);
    assert!(kinds.iter().any(|k| k == "manifest_label_add"), "{kinds:?}");
    assert!(
        kinds.iter().any(|k| k == "manifest_label_delete"),
        "{kinds:?}"
    );
    let _ = OCI_MANIFEST;
}
