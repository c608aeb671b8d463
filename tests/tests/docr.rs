//! The DigitalOcean Container Registry API over HTTP: the registry's lifecycle, subscription and
//! options, name validation, repositories (V1 and V2 with keyset tokens), tags and manifests
//! with `%2F` names, deletes, the tier's repository limit, and docker credentials used against
//! the OCI listener. Every refusal answers DigitalOcean's `{id, message}` and appends nothing.

use annals_tests::oci::{Image, OCI_MANIFEST, sha256};
use annals_tests::{ADMIN, Backend, Server, json, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::Value;

on_both_backends! {
    registry_lifecycle => registry_lifecycle;
    refusals_answer_do_errors_and_append_nothing => refusals_answer_do_errors_and_append_nothing;
    repositories_tags_and_digests => repositories_tags_and_digests;
    starter_tier_allows_one_repository => starter_tier_allows_one_repository;
    docker_credentials => docker_credentials;
}

/// Asserts DigitalOcean's error shape with this status and id.
fn assert_do_error(status: StatusCode, body: &Value, expected: u16, id: &str) {
    assert_eq!(status.as_u16(), expected, "status of {body}");
    assert_eq!(body["id"], id, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"));
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

async fn registry_lifecycle(backend: Backend) {
    let server = Server::start(backend).await;
    let (status, body) = server.get("/v2/registry").await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server.get("/v2/registry/subscription").await;
    assert_do_error(status, &body, 404, "not_found");

    let (status, options) = server.get("/v2/registry/options").await;
    assert_eq!(status, 200, "{options}");
    let regions = options["options"]["available_regions"].as_array().unwrap();
    assert!(regions.contains(&json!("fra1")), "{options}");
    let tiers = options["options"]["subscription_tiers"].as_array().unwrap();
    let slugs: Vec<&str> = tiers.iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["starter", "basic", "professional"]);
    for t in tiers {
        assert_eq!(t["eligible"], true, "{t}");
        assert_eq!(t["eligibility_reasons"], json!([]), "{t}");
        for field in [
            "name",
            "included_repositories",
            "included_storage_bytes",
            "allow_storage_overage",
            "included_bandwidth_bytes",
            "monthly_price_in_cents",
        ] {
            assert!(t.get(field).is_some(), "{field} in {t}");
        }
    }
    assert_eq!(tiers[0]["included_repositories"], 1);

    let (status, _) = server
        .post("/v2/registry/validate-name", json!({"name": "acme"}))
        .await;
    assert_eq!(status, 204);
    // Users and organizations share the namespace: the admin's own name is taken.
    let (status, body) = server
        .post("/v2/registry/validate-name", json!({"name": ADMIN}))
        .await;
    assert_do_error(status, &body, 409, "conflict");

    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "acme", "subscription_tier_slug": "basic", "region": "fra1"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let registry = &body["registry"];
    assert_eq!(registry["name"], "acme");
    assert_eq!(registry["region"], "fra1");
    assert_eq!(registry["storage_usage_bytes"], 0);
    assert_rfc3339(&registry["created_at"]);
    assert_rfc3339(&registry["storage_usage_bytes_updated_at"]);

    let (status, got) = server.get("/v2/registry").await;
    assert_eq!(status, 200);
    assert_eq!(got["registry"]["name"], "acme");
    assert_eq!(got["registry"]["created_at"], registry["created_at"]);

    // One registry per account; the name is now taken too.
    let (status, body) = server
        .post(
            "/v2/registry",
            json!({"name": "other", "subscription_tier_slug": "basic"}),
        )
        .await;
    assert_do_error(status, &body, 409, "conflict");
    let (status, body) = server
        .post("/v2/registry/validate-name", json!({"name": "acme"}))
        .await;
    assert_do_error(status, &body, 409, "conflict");

    let (status, sub) = server.get("/v2/registry/subscription").await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["subscription"]["tier"]["slug"], "basic");
    assert_eq!(sub["subscription"]["tier"]["name"], "Basic");
    assert_eq!(sub["subscription"]["tier"]["monthly_price_in_cents"], 500);
    assert_rfc3339(&sub["subscription"]["created_at"]);
    assert_rfc3339(&sub["subscription"]["updated_at"]);
    let (status, sub) = server
        .post(
            "/v2/registry/subscription",
            json!({"tier_slug": "professional"}),
        )
        .await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["subscription"]["tier"]["slug"], "professional");
    assert_eq!(
        server.get("/v2/registry/subscription").await.1["subscription"]["tier"]["slug"],
        "professional"
    );

    // The registry's organization shows in the Quay API, and its log has the registry's events.
    assert_eq!(server.get("/api/v1/organization/acme").await.0, 200);
    let (_, logs) = server.get("/api/v1/organization/acme/logs").await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"registry_create"), "{kinds:?}");
    assert!(kinds.contains(&"registry_change_subscription"), "{kinds:?}");

    // One command deletes the registry, its organization and the organization's name.
    let before = server.event_count().await;
    let (status, body) = server.delete("/v2/registry").await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.event_count().await, before + 3);
    let (status, body) = server.get("/v2/registry").await;
    assert_do_error(status, &body, 404, "not_found");
    assert_eq!(server.get("/api/v1/organization/acme").await.0, 404);
    let (status, body) = server.delete("/v2/registry").await;
    assert_do_error(status, &body, 404, "not_found");
    // The name is free again, and the account may create a registry again.
    let (status, _) = server
        .post("/v2/registry/validate-name", json!({"name": "acme"}))
        .await;
    assert_eq!(status, 204);
    create_registry(&server, "acme", "starter").await;
    assert_eq!(
        server.get("/v2/registry/subscription").await.1["subscription"]["tier"]["slug"],
        "starter"
    );
    // Its organization deleted through the Quay API first, the registry still deletes.
    assert_eq!(server.delete("/api/v1/organization/acme").await.0, 204);
    let (status, body) = server.delete("/v2/registry").await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.get("/v2/registry").await.0, 404);
}

async fn refusals_answer_do_errors_and_append_nothing(backend: Backend) {
    let server = Server::start(backend).await;
    let before = server.event_count().await;

    let (status, body) = server
        .request(Method::GET, "/v2/registry", None, Some(""))
        .await;
    assert_do_error(status, &body, 401, "unauthorized");
    let (status, body) = server
        .request(Method::GET, "/v2/registry/options", None, Some("wrong"))
        .await;
    assert_do_error(status, &body, 401, "unauthorized");
    let (status, body) = server
        .send_raw(Method::POST, "/v2/registry", "{not json")
        .await;
    assert_do_error(status, &body, 400, "bad_request");
    for bad in [
        json!({"subscription_tier_slug": "basic"}),
        json!({"name": "acme"}),
        json!({"name": "acme", "subscription_tier_slug": "gold"}),
        json!({"name": "acme", "subscription_tier_slug": "basic", "region": "mars1"}),
        json!({"name": "Not A Name!", "subscription_tier_slug": "basic"}),
    ] {
        let (status, body) = server.post("/v2/registry", bad.clone()).await;
        assert_do_error(status, &body, 422, "unprocessable_entity");
    }
    for bad in [json!({}), json!({"name": "Not A Name!"})] {
        let (status, body) = server.post("/v2/registry/validate-name", bad).await;
        assert_do_error(status, &body, 422, "unprocessable_entity");
    }
    let (status, body) = server
        .post(
            "/v2/registry/subscription",
            json!({"tier_slug": "professional"}),
        )
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server
        .get("/v2/registry/docker-credentials?expiry_seconds=-5")
        .await;
    assert_do_error(status, &body, 422, "unprocessable_entity");
    let (status, body) = server
        .get("/v2/registry/docker-credentials?read_write=maybe")
        .await;
    assert_do_error(status, &body, 400, "bad_request");
    assert_eq!(server.event_count().await, before);

    create_registry(&server, "acme", "basic").await;
    let before = server.event_count().await;
    let (status, body) = server
        .post("/v2/registry/subscription", json!({"tier_slug": "gold"}))
        .await;
    assert_do_error(status, &body, 422, "unprocessable_entity");
    let (status, body) = server.post("/v2/registry/subscription", json!({})).await;
    assert_do_error(status, &body, 422, "unprocessable_entity");
    // Another registry's name in the path is not found; so are unknown repositories.
    for path in [
        "/v2/registry/other/repositories",
        "/v2/registry/other/repositoriesV2",
        "/v2/registry/other/garbage-collection",
        "/v2/registry/other/garbage-collections",
        "/v2/registry/acme/repositories/nope/tags",
        "/v2/registry/acme/repositories/nope/digests",
        "/v2/registry/acme/garbage-collection",
    ] {
        let (status, body) = server.get(path).await;
        assert_do_error(status, &body, 404, "not_found");
    }
    let (status, body) = server
        .delete("/v2/registry/acme/repositories/nope/tags/latest")
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server
        .post("/v2/registry/other/garbage-collection", json!({}))
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server
        .post(
            "/v2/registry/acme/garbage-collection",
            json!({"type": "everything"}),
        )
        .await;
    assert_do_error(status, &body, 422, "unprocessable_entity");
    let (status, body) = server
        .put(
            "/v2/registry/acme/garbage-collection/not-a-uuid",
            json!({"cancel": true}),
        )
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server
        .put(
            &format!(
                "/v2/registry/acme/garbage-collection/{}",
                uuid::Uuid::new_v4()
            ),
            json!({"cancel": true}),
        )
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server
        .get("/v2/registry/acme/repositoriesV2?page_token=%%%")
        .await;
    assert_eq!(status.as_u16(), 400, "{body}");
    let (status, body) = server.get("/v2/registry/acme/repositories?page=x").await;
    assert_do_error(status, &body, 400, "bad_request");
    assert_eq!(server.event_count().await, before);
}

async fn repositories_tags_and_digests(backend: Backend) {
    let server = Server::start(backend).await;
    create_registry(&server, "acme", "professional").await;
    let web1 = Image::new("web-1", 2, 5_000);
    let web2 = Image::new("web-2", 1, 3_000);
    let cli = Image::new("cli", 3, 2_000);
    server.push_image("acme/web", "v1", &web1).await;
    server.push_image("acme/web", "v2", &web2).await;
    server.push_image("acme/tools/cli", "latest", &cli).await;

    let (status, body) = server.get("/v2/registry/acme/repositories").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["total"], 2);
    let repos = body["repositories"].as_array().unwrap();
    let names: Vec<&str> = repos.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["tools/cli", "web"]);
    assert_eq!(repos[0]["registry_name"], "acme");
    assert_eq!(repos[0]["tag_count"], 1);
    let latest = &repos[0]["latest_tag"];
    assert_eq!(latest["registry_name"], "acme");
    assert_eq!(latest["repository"], "tools/cli");
    assert_eq!(latest["tag"], "latest");
    assert_eq!(latest["manifest_digest"], cli.digest.as_str());
    assert_eq!(latest["compressed_size_bytes"], cli.total_bytes());
    assert_eq!(latest["size_bytes"], cli.total_bytes());
    assert_rfc3339(&latest["updated_at"]);
    assert_eq!(repos[1]["tag_count"], 2);
    assert_eq!(repos[1]["latest_tag"]["tag"], "v2");
    assert_eq!(body["links"]["pages"], json!({}));
    // The registry's usage counts the distinct blobs of its repositories.
    let blob_bytes: u64 = [&web1, &web2, &cli]
        .iter()
        .flat_map(|i| i.blobs())
        .map(|b| b.len() as u64)
        .sum();
    assert_eq!(
        server.get("/v2/registry").await.1["registry"]["storage_usage_bytes"],
        blob_bytes
    );

    // Numbered pages.
    let (_, page1) = server
        .get("/v2/registry/acme/repositories?per_page=1")
        .await;
    assert_eq!(page1["repositories"].as_array().unwrap().len(), 1);
    assert_eq!(page1["meta"]["total"], 2);
    let next = page1["links"]["pages"]["next"].as_str().unwrap();
    assert!(
        next.ends_with("/v2/registry/acme/repositories?page=2&per_page=1"),
        "{next}"
    );
    assert_eq!(page1["links"]["pages"]["last"], next);
    let (_, page2) = server
        .get("/v2/registry/acme/repositories?page=2&per_page=1")
        .await;
    assert_eq!(page2["repositories"][0]["name"], "web");
    assert!(page2["links"]["pages"]["prev"].is_string(), "{page2}");
    assert!(page2["links"]["pages"]["first"].is_string(), "{page2}");
    assert!(page2["links"]["pages"].get("next").is_none(), "{page2}");

    // V2: the latest manifest with its blobs; keyset tokens.
    let (status, v2) = server.get("/v2/registry/acme/repositoriesV2").await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["meta"]["total"], 2);
    let cli_repo = &v2["repositories"][0];
    assert_eq!(cli_repo["name"], "tools/cli");
    assert_eq!(cli_repo["tag_count"], 1);
    assert_eq!(cli_repo["manifest_count"], 1);
    let m = &cli_repo["latest_manifest"];
    assert_eq!(m["digest"], cli.digest.as_str());
    assert_eq!(m["registry_name"], "acme");
    assert_eq!(m["repository"], "tools/cli");
    assert_eq!(m["tags"], json!(["latest"]));
    assert_eq!(m["compressed_size_bytes"], cli.total_bytes());
    let blobs: Vec<Value> = cli
        .blobs()
        .iter()
        .map(|b| json!({"digest": sha256(b), "compressed_size_bytes": b.len()}))
        .collect();
    assert_eq!(m["blobs"], json!(blobs));
    assert_eq!(v2["repositories"][1]["manifest_count"], 2);
    assert_eq!(v2["repositories"][1]["tag_count"], 2);
    let (_, first) = server
        .get("/v2/registry/acme/repositoriesV2?per_page=1")
        .await;
    assert_eq!(first["repositories"][0]["name"], "tools/cli");
    let next = first["links"]["pages"]["next"].as_str().unwrap();
    assert!(next.contains("page_token="), "{next}");
    let path = &next[next.find("/v2/").unwrap()..];
    // The token wins over `page`.
    let (_, second) = server.get(&format!("{path}&page=7")).await;
    assert_eq!(second["repositories"][0]["name"], "web", "{second}");
    assert_eq!(second["repositories"].as_array().unwrap().len(), 1);
    assert!(second["links"]["pages"].get("next").is_none(), "{second}");
    let (_, by_page) = server
        .get("/v2/registry/acme/repositoriesV2?per_page=1&page=2")
        .await;
    assert_eq!(by_page["repositories"][0]["name"], "web");

    // Tags and digests of a nested name, `/` sent as %2F (either case).
    for encoded in ["tools%2Fcli", "tools%2fcli"] {
        let (status, tags) = server
            .get(&format!("/v2/registry/acme/repositories/{encoded}/tags"))
            .await;
        assert_eq!(status, 200, "{tags}");
        assert_eq!(tags["meta"]["total"], 1);
        assert_eq!(tags["tags"][0]["repository"], "tools/cli");
        assert_eq!(tags["tags"][0]["manifest_digest"], cli.digest.as_str());
    }
    let (_, tags) = server
        .get("/v2/registry/acme/repositories/web/tags?per_page=1")
        .await;
    assert_eq!(tags["meta"]["total"], 2);
    assert_eq!(tags["tags"][0]["tag"], "v2");
    assert!(tags["links"]["pages"]["next"].is_string());
    let (status, digests) = server
        .get("/v2/registry/acme/repositories/web/digests")
        .await;
    assert_eq!(status, 200, "{digests}");
    assert_eq!(digests["meta"]["total"], 2);
    let listed: Vec<&str> = digests["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&web1.digest.as_str()) && listed.contains(&web2.digest.as_str()));
    let m1 = digests["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["digest"] == web1.digest.as_str())
        .unwrap();
    assert_eq!(m1["tags"], json!(["v1"]));
    assert_eq!(m1["size_bytes"], web1.total_bytes());
    assert_eq!(m1["blobs"].as_array().unwrap().len(), 3);
    assert_rfc3339(&m1["updated_at"]);

    // Deletes: a tag, then a manifest by digest (its `:` may arrive as %3A).
    let (status, _) = server
        .delete("/v2/registry/acme/repositories/web/tags/v1")
        .await;
    assert_eq!(status, 204);
    let (status, body) = server
        .delete("/v2/registry/acme/repositories/web/tags/v1")
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (_, tags) = server.get("/v2/registry/acme/repositories/web/tags").await;
    assert_eq!(tags["meta"]["total"], 1);
    // The untagged manifest stays until deleted.
    let (_, digests) = server
        .get("/v2/registry/acme/repositories/web/digests")
        .await;
    assert_eq!(digests["meta"]["total"], 2);
    let encoded = cli.digest.replace(':', "%3A");
    let (status, body) = server
        .delete(&format!(
            "/v2/registry/acme/repositories/tools%2Fcli/digests/{encoded}"
        ))
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server
        .delete(&format!(
            "/v2/registry/acme/repositories/tools%2Fcli/digests/{}",
            cli.digest
        ))
        .await;
    assert_do_error(status, &body, 404, "not_found");
    let (status, body) = server
        .delete("/v2/registry/acme/repositories/web/digests/sha256:nothex")
        .await;
    assert_do_error(status, &body, 422, "unprocessable_entity");
    let (_, digests) = server
        .get("/v2/registry/acme/repositories/tools%2Fcli/digests")
        .await;
    assert_eq!(digests["meta"]["total"], 0);
    let (_, tags) = server
        .get("/v2/registry/acme/repositories/tools%2Fcli/tags")
        .await;
    assert_eq!(tags["meta"]["total"], 0);
    let (status, _, _) = server.pull_manifest("acme/tools/cli", "latest").await;
    assert_eq!(status, 404);
    let (status, _, bytes) = server.pull_manifest("acme/web", "v2").await;
    assert_eq!((status.as_u16(), bytes), (200, web2.manifest.clone()));

    // The deletes are in the repository's log.
    let (_, logs) = server.get("/api/v1/repository/acme/web/logs").await;
    let kinds: Vec<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"delete_tag"), "{kinds:?}");
}

async fn starter_tier_allows_one_repository(backend: Backend) {
    let server = Server::start(backend).await;
    create_registry(&server, "acme", "starter").await;
    let first = Image::new("first", 1, 1_000);
    server.push_image("acme/one", "v1", &first).await;
    // A second tag in the same repository is fine.
    server.push_image("acme/one", "v2", &first).await;
    // A second repository is not.
    let second = Image::new("second", 1, 1_000);
    let response = server
        .registry_request(
            Method::POST,
            &format!(
                "/v2/acme/two/blobs/uploads/?digest={}",
                sha256(&second.config)
            ),
        )
        .header("content-type", "application/octet-stream")
        .body(second.config.clone())
        .send()
        .await
        .unwrap();
    let (status, code) = Server::registry_error_code(response).await;
    assert_eq!(code.as_deref(), Some("DENIED"), "{status}");
    let (_, repos) = server.get("/v2/registry/acme/repositories").await;
    assert_eq!(repos["meta"]["total"], 1);
    // Options say the registry is over the limit of no tier, and upgrading lets it push.
    let (_, options) = server.get("/v2/registry/options").await;
    assert!(
        options["options"]["subscription_tiers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["eligible"] == true)
    );
    let (status, _) = server
        .post("/v2/registry/subscription", json!({"tier_slug": "basic"}))
        .await;
    assert_eq!(status, 200);
    server.push_image("acme/two", "v1", &second).await;
    // With two repositories, the starter tier is no longer eligible.
    let (_, options) = server.get("/v2/registry/options").await;
    let starter = &options["options"]["subscription_tiers"][0];
    assert_eq!(starter["eligible"], false, "{starter}");
    assert_eq!(
        starter["eligibility_reasons"],
        json!(["OverRepositoryLimit"])
    );
    let (status, body) = server
        .post("/v2/registry/subscription", json!({"tier_slug": "starter"}))
        .await;
    assert_eq!(status.as_u16(), 403, "{body}");
}

/// Decodes standard base64 (the `auth` of a docker config).
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The `username:secret` of a docker-credentials answer, checking its shape.
async fn credentials(server: &Server, query: &str) -> (String, String) {
    let (status, body) = server
        .get(&format!("/v2/registry/docker-credentials{query}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let host = server.registry.trim_start_matches("http://");
    let auths = body["auths"].as_object().unwrap();
    assert_eq!(auths.len(), 1, "{body}");
    let auth = body["auths"][host]["auth"]
        .as_str()
        .unwrap_or_else(|| panic!("no auth for {host} in {body}"));
    let decoded = String::from_utf8(base64_decode(auth)).unwrap();
    let (user, secret) = decoded.split_once(':').unwrap();
    (user.to_owned(), secret.to_owned())
}

async fn docker_credentials(backend: Backend) {
    let server = Server::start(backend).await;
    create_registry(&server, "acme", "basic").await;
    let image = Image::new("creds", 1, 1_000);
    server.push_image("acme/app", "v1", &image).await;
    let http = reqwest::Client::new();
    let pull = |user: String, secret: String| {
        http.get(format!("{}/v2/acme/app/manifests/v1", server.registry))
            .header("accept", OCI_MANIFEST)
            .basic_auth(user, Some(secret))
            .send()
    };
    let push = |user: String, secret: String, bytes: &'static [u8]| {
        http.post(format!(
            "{}/v2/acme/app/blobs/uploads/?digest={}",
            server.registry,
            sha256(bytes)
        ))
        .header("content-type", "application/octet-stream")
        .basic_auth(user, Some(secret))
        .body(bytes)
        .send()
    };

    // Read-only by default: pulls, cannot push.
    let (user, secret) = credentials(&server, "").await;
    assert_eq!(user, ADMIN);
    let response = pull(user.clone(), secret.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), image.manifest);
    let response = push(user.clone(), secret.clone(), b"read-only blob")
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 401 | 403),
        "{}",
        response.status()
    );
    // A wrong secret or user is refused.
    let response = pull(user.clone(), format!("{secret}x")).await.unwrap();
    assert_eq!(response.status(), 401);
    let response = pull("someone".into(), secret.clone()).await.unwrap();
    assert_eq!(response.status(), 401);

    // Read-write pushes.
    let (user, secret) = credentials(&server, "?read_write=true&expiry_seconds=0").await;
    let response = push(user, secret, b"read-write blob").await.unwrap();
    assert_eq!(response.status(), 201);

    // An expiring credential works until it expires.
    let (user, secret) = credentials(&server, "?read_write=true&expiry_seconds=2").await;
    assert_eq!(
        pull(user.clone(), secret.clone()).await.unwrap().status(),
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    assert_eq!(pull(user, secret).await.unwrap().status(), 401);

    // Each issue is in the account's log.
    let (_, logs) = server.get("/api/v1/user/logs").await;
    let issued = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "create_registry_credential")
        .count();
    assert_eq!(issued, 3, "{logs}");
}
