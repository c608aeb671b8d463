//! Quay's auto-prune policies (organization, user and repository) and the worker that applies
//! them: each route's life cycle with its log kinds, pruning exactly the matching tags of real
//! pushes (the usage log naming the policy of every deletion), `creation_date`, bad input
//! refused with no event, non-administrators refused, and a worker killed with SIGKILL that
//! resumes without deleting anything twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use annals_tests::oci::Image;
use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use reqwest::Method;
use serde_json::Value;

on_both_backends! {
    policy_routes_live_and_log_their_kinds => life_cycle;
    bad_policies_are_refused_without_an_event => bad_input;
    only_administrators_may_touch_policies => non_admins;
    policies_prune_exactly_the_tags_they_match => prunes_matching;
    creation_date_prunes_tags_older_than_the_value => creation_date;
    a_killed_worker_resumes_without_double_deletes => killed_worker;
}

const ORG: &str = "/api/v1/organization/acme/autoprunepolicy/";
const USER: &str = "/api/v1/user/autoprunepolicy/";
const REPO: &str = "/api/v1/repository/acme/app/autoprunepolicy/";

/// How long the worker may take to reach what a test waits for.
const DEADLINE: Duration = Duration::from_secs(60);

async fn setup(server: &Server) {
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "app", "visibility": "private", "description": ""}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
}

/// The kinds in a usage log (newest first).
async fn log_kinds(server: &Server, path: &str) -> Vec<String> {
    log_entries(server, path)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn log_entries(server: &Server, path: &str) -> Vec<Value> {
    let (s, b) = server.get(path).await;
    assert_eq!(s, 200, "{b}");
    b["logs"].as_array().cloned().unwrap_or_default()
}

/// Creates, lists, reads, updates and deletes one policy under `base`; answers the kinds the
/// scope's log must then show.
async fn walk(server: &Server, base: &str) {
    let body = json!({"method": "number_of_tags", "value": 5, "tagPattern": "^v", "tagPatternMatches": true});
    let (s, made) = server.post(base, body.clone()).await;
    assert_eq!(s, 201, "{made}");
    let uuid = made["uuid"].as_str().expect("uuid").to_owned();

    // The same values again are a duplicate, as in Quay.
    let (s, dup) = server.post(base, body).await;
    assert_quay_error(s, &dup, 400, "invalid_request");
    assert!(
        dup["error_message"]
            .as_str()
            .unwrap()
            .contains("duplicate policies are not permitted"),
        "{dup}"
    );

    let (s, list) = server.get(base).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        list["policies"],
        json!([{"uuid": uuid, "method": "number_of_tags", "value": 5, "tagPattern": "^v", "tagPatternMatches": true}])
    );
    let one = format!("{base}{uuid}");
    let (s, got) = server.get(&one).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got, list["policies"][0]);

    let (s, b) = server
        .put(&one, json!({"method": "creation_date", "value": "2w"}))
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, got) = server.get(&one).await;
    assert_eq!(
        got,
        json!({"uuid": uuid, "method": "creation_date", "value": "2w", "tagPattern": null, "tagPatternMatches": true})
    );

    let (s, gone) = server.delete(&one).await;
    assert_eq!(s, 200, "{gone}");
    assert_eq!(gone, json!({"uuid": uuid}));
    let (s, b) = server.get(&one).await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, b) = server.delete(&one).await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, b) = server
        .put(&one, json!({"method": "number_of_tags", "value": 1}))
        .await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, list) = server.get(base).await;
    assert_eq!(s, 200);
    assert_eq!(list["policies"], json!([]));
}

async fn life_cycle(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    walk(&server, ORG).await;
    walk(&server, USER).await;
    walk(&server, REPO).await;

    let org_kinds = log_kinds(&server, "/api/v1/organization/acme/logs").await;
    for kind in [
        "create_namespace_autoprune_policy",
        "update_namespace_autoprune_policy",
        "delete_namespace_autoprune_policy",
        "create_repository_autoprune_policy",
        "update_repository_autoprune_policy",
        "delete_repository_autoprune_policy",
    ] {
        assert_eq!(
            org_kinds.iter().filter(|k| *k == kind).count(),
            1,
            "{kind} in {org_kinds:?}"
        );
    }
    let repo_kinds = log_kinds(&server, "/api/v1/repository/acme/app/logs").await;
    assert!(
        repo_kinds.contains(&"create_repository_autoprune_policy".to_owned())
            && !repo_kinds.contains(&"create_namespace_autoprune_policy".to_owned()),
        "{repo_kinds:?}"
    );
    let user_kinds = log_kinds(&server, "/api/v1/user/logs").await;
    for kind in [
        "create_namespace_autoprune_policy",
        "update_namespace_autoprune_policy",
        "delete_namespace_autoprune_policy",
    ] {
        assert!(
            user_kinds.contains(&kind.to_owned()),
            "{kind} in {user_kinds:?}"
        );
    }
    let created = log_entries(&server, "/api/v1/organization/acme/logs")
        .await
        .into_iter()
        .find(|e| e["kind"] == "create_repository_autoprune_policy")
        .unwrap();
    assert_eq!(created["metadata"]["method"], "number_of_tags");
    assert_eq!(created["metadata"]["value"], 5);
    assert_eq!(created["metadata"]["tag_pattern"], "^v");
    assert_eq!(created["metadata"]["repo"], "app");

    // Policies of an organization or repository that does not exist.
    let (s, b) = server
        .get("/api/v1/organization/nobody/autoprunepolicy/")
        .await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, b) = server
        .post(
            "/api/v1/repository/acme/nothing/autoprunepolicy/",
            json!({"method": "number_of_tags", "value": 1}),
        )
        .await;
    assert_quay_error(s, &b, 404, "not_found");
    let (s, b) = server.get(&format!("{ORG}not-a-uuid")).await;
    assert_quay_error(s, &b, 404, "not_found");
}

async fn bad_input(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let huge = "a".repeat(600);
    let bad = [
        json!({"method": "keep_some", "value": 3}),
        json!({"method": "number_of_tags", "value": 0}),
        json!({"method": "number_of_tags", "value": -2}),
        json!({"method": "number_of_tags", "value": 1_000_000_000_000u64}),
        json!({"method": "number_of_tags", "value": "3"}),
        json!({"method": "number_of_tags", "value": 2.5}),
        json!({"method": "creation_date", "value": "7x"}),
        json!({"method": "creation_date", "value": "-1d"}),
        json!({"method": "creation_date", "value": "0d"}),
        json!({"method": "creation_date", "value": "9999999999999d"}),
        json!({"method": "creation_date", "value": 7}),
        json!({"method": "number_of_tags", "value": 3, "tagPattern": "(unclosed"}),
        json!({"method": "number_of_tags", "value": 3, "tagPattern": "a{1000}{1000}"}),
        json!({"method": "number_of_tags", "value": 3, "tagPattern": huge}),
        json!({"method": "number_of_tags", "value": 3, "tagPattern": "   "}),
        json!({"method": "number_of_tags", "value": 3, "tagPattern": 12}),
        json!({"method": "number_of_tags", "value": 3, "tagPatternMatches": "no"}),
        json!({"method": "number_of_tags"}),
        json!({"value": 3}),
        json!({}),
        json!([1, 2]),
    ];
    let (s, made) = server
        .post(ORG, json!({"method": "number_of_tags", "value": 9}))
        .await;
    assert_eq!(s, 201);
    let existing = format!("{ORG}{}", made["uuid"].as_str().unwrap());
    let before = server.event_count().await;
    for body in &bad {
        for base in [ORG, USER, REPO] {
            let (s, b) = server.post(base, body.clone()).await;
            assert_quay_error(s, &b, 400, "invalid_request");
        }
        let (s, b) = server.put(&existing, body.clone()).await;
        assert_quay_error(s, &b, 400, "invalid_request");
    }
    let (s, b) = server.request(Method::PUT, &existing, None, None).await;
    assert_quay_error(s, &b, 400, "invalid_request");
    let missing = server
        .post(ORG, json!({"method": "number_of_tags"}))
        .await
        .1;
    assert_eq!(
        missing["error_message"],
        "Missing the following parameters: method, value"
    );
    assert_eq!(
        server.event_count().await,
        before,
        "a refused policy appended an event"
    );
}

async fn non_admins(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    let (s, made) = server
        .post(ORG, json!({"method": "number_of_tags", "value": 9}))
        .await;
    assert_eq!(s, 201);
    let org_policy = format!("{ORG}{}", made["uuid"].as_str().unwrap());
    let (s, made) = server
        .post(REPO, json!({"method": "number_of_tags", "value": 9}))
        .await;
    assert_eq!(s, 201);
    let repo_policy = format!("{REPO}{}", made["uuid"].as_str().unwrap());
    // mallory holds every scope and is a member of acme, but administers nothing there.
    let mallory = server
        .user_token(
            "acme",
            "mallory",
            "repo:admin repo:create user:admin org:admin",
        )
        .await;
    let (s, b) = server
        .put(
            "/api/v1/organization/acme/team/readers",
            json!({"role": "member"}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let (s, b) = server
        .put(
            "/api/v1/organization/acme/team/readers/members/mallory",
            json!({}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let before = server.event_count().await;
    let body = Some(json!({"method": "number_of_tags", "value": 1}));
    for (method, path, body) in [
        (Method::GET, ORG.to_owned(), None),
        (Method::POST, ORG.to_owned(), body.clone()),
        (Method::GET, org_policy.clone(), None),
        (Method::PUT, org_policy.clone(), body.clone()),
        (Method::DELETE, org_policy.clone(), None),
        (Method::GET, REPO.to_owned(), None),
        (Method::POST, REPO.to_owned(), body.clone()),
        (Method::GET, repo_policy.clone(), None),
        (Method::PUT, repo_policy.clone(), body.clone()),
        (Method::DELETE, repo_policy.clone(), None),
    ] {
        let (s, b) = server
            .request(method.clone(), &path, body, Some(&mallory))
            .await;
        assert_eq!(s, 403, "{method} {path}: {b}");
    }
    // Refusals are audit events of the caller's; no policy changed.
    let (_, list) = server.get(ORG).await;
    assert_eq!(list["policies"].as_array().unwrap().len(), 1);
    let events = server.events().await;
    assert!(
        events[before as usize..]
            .iter()
            .all(|e| !e.event_type.starts_with("autoprune.")),
        "a refused caller changed a policy"
    );
    // mallory's own namespace is hers.
    let (s, b) = server
        .request(
            Method::POST,
            USER,
            Some(json!({"method": "number_of_tags", "value": 1})),
            Some(&mallory),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (_, mine) = server
        .request(Method::GET, USER, None, Some(&mallory))
        .await;
    assert_eq!(mine["policies"].as_array().unwrap().len(), 1);
    let (_, admins) = server.get(USER).await;
    assert_eq!(admins["policies"], json!([]));
}

/// Pushes a small distinct image under each tag, in order.
async fn push_tags(server: &Server, repository: &str, tags: &[&str]) {
    for tag in tags {
        let image = Image::new(&format!("{repository}:{tag}"), 1, 64);
        server.push_image(repository, tag, &image).await;
    }
}

/// The live tags of a repository.
async fn live_tags(server: &Server, repository: &str) -> BTreeSet<String> {
    let (s, b) = server
        .get(&format!(
            "/api/v1/repository/{repository}/tag/?onlyActiveTags=true&limit=100"
        ))
        .await;
    assert_eq!(s, 200, "{b}");
    b["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls until the repository's live tags are `expected`, or fails at the deadline.
async fn wait_for_tags(server: &Server, repository: &str, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|t| t.to_string()).collect();
    let started = Instant::now();
    loop {
        let now = live_tags(server, repository).await;
        if now == expected {
            return;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{repository} kept {now:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Tag → the uuid of the policy each `autoprune_tag_delete` entry of the log names.
async fn pruned_by(server: &Server, log: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in log_entries(server, log).await {
        if e["kind"] == "autoprune_tag_delete" {
            assert_eq!(e["metadata"]["performer"], "autoprune worker", "{e}");
            assert!(e.get("performer").is_none(), "{e}");
            out.entry(e["metadata"]["tag"].as_str().unwrap().to_owned())
                .or_default()
                .push(e["metadata"]["policy"]["uuid"].as_str().unwrap().to_owned());
        }
    }
    out
}

async fn prunes_matching(backend: Backend) {
    let server = Server::start(backend).await;
    setup(&server).await;
    push_tags(
        &server,
        "acme/app",
        &["v1", "v2", "v3", "v4", "latest", "dev-1", "dev-2", "dev-3"],
    )
    .await;
    // The namespace keeps the newest two `v` tags; the repository the newest `dev-` tag.
    let (s, ns) = server
        .post(
            ORG,
            json!({"method": "number_of_tags", "value": 2, "tagPattern": "^v"}),
        )
        .await;
    assert_eq!(s, 201, "{ns}");
    let (s, repo) = server
        .post(
            REPO,
            json!({"method": "number_of_tags", "value": 1, "tagPattern": "^dev-", "tagPatternMatches": true}),
        )
        .await;
    assert_eq!(s, 201, "{repo}");
    wait_for_tags(&server, "acme/app", &["v3", "v4", "latest", "dev-3"]).await;

    // A push after the policies is pruned soon after it lands.
    push_tags(&server, "acme/app", &["v5", "dev-4"]).await;
    wait_for_tags(&server, "acme/app", &["v4", "v5", "latest", "dev-4"]).await;

    // Another repository of the namespace: only the namespace policy applies there.
    push_tags(&server, "acme/other", &["v1", "v2", "v3", "dev-1", "dev-2"]).await;
    wait_for_tags(&server, "acme/other", &["v2", "v3", "dev-1", "dev-2"]).await;

    let (ns, repo) = (
        ns["uuid"].as_str().unwrap().to_owned(),
        repo["uuid"].as_str().unwrap().to_owned(),
    );
    let by = pruned_by(&server, "/api/v1/repository/acme/app/logs").await;
    let expected: BTreeMap<String, Vec<String>> = [
        ("v1", &ns),
        ("v2", &ns),
        ("v3", &ns),
        ("dev-1", &repo),
        ("dev-2", &repo),
        ("dev-3", &repo),
    ]
    .into_iter()
    .map(|(t, p)| (t.to_owned(), vec![p.clone()]))
    .collect();
    assert_eq!(by, expected);
    let other = pruned_by(&server, "/api/v1/repository/acme/other/logs").await;
    assert_eq!(other, BTreeMap::from([("v1".to_owned(), vec![ns.clone()])]));

    // The entry carries the policy's scope, method and value.
    let entry = log_entries(&server, "/api/v1/repository/acme/app/logs")
        .await
        .into_iter()
        .find(|e| e["kind"] == "autoprune_tag_delete" && e["metadata"]["tag"] == "dev-1")
        .unwrap();
    let policy = &entry["metadata"]["policy"];
    assert_eq!(policy["method"], "number_of_tags");
    assert_eq!(policy["value"], 1);
    assert_eq!(policy["tag_pattern"], "^dev-");
    assert_eq!(policy["namespace"], "acme");
    assert_eq!(policy["repository"], "app");
    assert_eq!(entry["metadata"]["namespace"], "acme");
    assert_eq!(entry["metadata"]["repo"], "app");

    // Deleting the policies stops the pruning.
    for (base, uuid) in [(ORG, &ns), (REPO, &repo)] {
        let (s, _) = server.delete(&format!("{base}{uuid}")).await;
        assert_eq!(s, 200);
    }
    push_tags(&server, "acme/app", &["v6", "dev-5"]).await;
    // A later policy and push: the worker follows the log in order, so once it pruned these
    // it has passed the pushes above, which no policy covers any more.
    let (s, _) = server
        .post(
            REPO,
            json!({"method": "number_of_tags", "value": 1, "tagPattern": "^canary"}),
        )
        .await;
    assert_eq!(s, 201);
    push_tags(&server, "acme/app", &["canary-1", "canary-2"]).await;
    wait_for_tags(
        &server,
        "acme/app",
        &["v4", "v5", "v6", "latest", "dev-4", "dev-5", "canary-2"],
    )
    .await;
}

async fn creation_date(backend: Backend) {
    let server = Server::start_with(backend, &[("ANNALS_AUTOPRUNE_INTERVAL_S", "1")]).await;
    setup(&server).await;
    push_tags(&server, "acme/app", &["old-1", "old-2", "keep"]).await;
    let (s, made) = server
        .post(
            REPO,
            json!({"method": "creation_date", "value": "1s", "tagPattern": "keep", "tagPatternMatches": false}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    wait_for_tags(&server, "acme/app", &["keep"]).await;
    let by = pruned_by(&server, "/api/v1/repository/acme/app/logs").await;
    let uuid = made["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        by,
        BTreeMap::from([
            ("old-1".to_owned(), vec![uuid.clone()]),
            ("old-2".to_owned(), vec![uuid.clone()]),
        ])
    );
    let entry = log_entries(&server, "/api/v1/repository/acme/app/logs")
        .await
        .into_iter()
        .find(|e| e["kind"] == "autoprune_tag_delete")
        .unwrap();
    assert_eq!(entry["metadata"]["policy"]["method"], "creation_date");
    assert_eq!(entry["metadata"]["policy"]["value"], "1s");
    assert_eq!(entry["metadata"]["policy"]["tag_pattern_matches"], false);
}

async fn killed_worker(backend: Backend) {
    let mut server = Server::start(backend).await;
    setup(&server).await;
    let names: Vec<String> = (0..30).map(|i| format!("t{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    push_tags(&server, "acme/app", &refs).await;
    let (s, _) = server
        .post(REPO, json!({"method": "number_of_tags", "value": 1}))
        .await;
    assert_eq!(s, 201);
    // Kill the server once the worker has begun to prune (29 deletions, one command each).
    let started = Instant::now();
    while !server
        .events()
        .await
        .iter()
        .any(|e| e.event_type == "repository.tag_autopruned.v1")
    {
        assert!(started.elapsed() < DEADLINE, "the worker never pruned");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    server.restart().await;
    wait_for_tags(&server, "acme/app", &["t29"]).await;

    let pruned: Vec<String> = server
        .events()
        .await
        .into_iter()
        .filter(|e| e.event_type == "repository.tag_autopruned.v1")
        .map(|e| e.data["tag"].as_str().unwrap().to_owned())
        .collect();
    let distinct: BTreeSet<&String> = pruned.iter().collect();
    assert_eq!(pruned.len(), 29, "{pruned:?}");
    assert_eq!(distinct.len(), 29, "a tag was pruned twice: {pruned:?}");
    assert!(!distinct.contains(&"t29".to_owned()));
    // And no deletion of any other kind.
    assert!(
        server
            .events()
            .await
            .iter()
            .all(|e| e.event_type != "repository.tag_deleted.v1")
    );
}
