//! Usage logs read from the event log: kinds, shape, performer, IP, paging, time windows and
//! aggregates, for a repository, an organization and the caller.

use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use chrono::Utc;
use serde_json::Value;

on_both_backends! {
    logs_show_everything_that_was_done => logs_show_everything_that_was_done;
    logs_page_and_filter => logs_page_and_filter;
}

fn kinds(body: &Value) -> Vec<String> {
    body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn logs_show_everything_that_was_done(backend: Backend) {
    let server = Server::start(backend).await;
    server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    server
        .put("/api/v1/organization/acme", json!({"email": "ops@acme.io"}))
        .await;
    server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private"}),
        )
        .await;
    server
        .put(
            "/api/v1/repository/acme/web",
            json!({"description": "hello"}),
        )
        .await;
    server
        .post(
            "/api/v1/repository/acme/web/changevisibility",
            json!({"visibility": "public"}),
        )
        .await;
    server
        .put(
            "/api/v1/repository/acme/web/changestate",
            json!({"state": "READ_ONLY"}),
        )
        .await;

    let (status, repo_logs) = server.get("/api/v1/repository/acme/web/logs").await;
    assert_eq!(status, 200, "{repo_logs}");
    assert_eq!(
        kinds(&repo_logs),
        [
            "change_repo_state",
            "change_repo_visibility",
            "set_repo_description",
            "add_repo_permission",
            "create_repo"
        ]
    );
    let entry = &repo_logs["logs"][3];
    assert_eq!(entry["metadata"]["repo"], "web");
    assert_eq!(entry["metadata"]["namespace"], "acme");
    assert_eq!(entry["ip"], "127.0.0.1");
    assert_eq!(entry["performer"]["name"], "admin");
    assert_eq!(entry["performer"]["kind"], "user");
    assert_eq!(entry["performer"]["is_robot"], false);
    assert!(
        entry.get("namespace").is_none(),
        "scoped logs leave the namespace out"
    );
    assert_eq!(repo_logs["logs"][1]["metadata"]["visibility"], "public");
    assert_eq!(
        repo_logs["logs"][0]["metadata"]["state_changed"],
        "READ_ONLY"
    );
    let datetime = entry["datetime"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_str(datetime, "%a, %d %b %Y %H:%M:%S %z").is_ok(),
        "{datetime}"
    );
    assert!(datetime.ends_with(" -0000"), "{datetime}");
    assert!(entry["metadata"]["event"]["position"].as_u64().unwrap() > 0);

    let org_logs = server.get("/api/v1/organization/acme/logs").await.1;
    assert_eq!(
        kinds(&org_logs),
        [
            "change_repo_state",
            "change_repo_visibility",
            "set_repo_description",
            "add_repo_permission",
            "create_repo",
            "org_change_email",
            "org_add_team_member",
            "org_create_team",
            "org_create"
        ]
    );

    server.delete("/api/v1/repository/acme/web").await;
    let user_logs = server.get("/api/v1/user/logs").await.1;
    let user_kinds = kinds(&user_logs);
    assert_eq!(user_kinds[0], "delete_repo");
    assert!(user_kinds.contains(&"org_create".to_owned()));
    assert_eq!(
        user_logs["logs"][0]["namespace"],
        json!({"kind": "org", "name": "acme", "avatar": user_logs["logs"][0]["namespace"]["avatar"].clone()})
    );

    let aggregated = server
        .get("/api/v1/organization/acme/aggregatelogs")
        .await
        .1;
    let rows = aggregated["aggregated"].as_array().unwrap();
    let count = |kind: &str| {
        rows.iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["count"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (
            count("create_repo"),
            count("org_create"),
            count("delete_repo")
        ),
        (1, 1, 1)
    );
    assert!(
        rows.iter()
            .all(|r| r["datetime"].as_str().unwrap().ends_with("00:00:00 -0000"))
    );
    let repo_agg = server.get("/api/v1/user/aggregatelogs").await.1;
    assert!(!repo_agg["aggregated"].as_array().unwrap().is_empty());
}

async fn logs_page_and_filter(backend: Backend) {
    let server = Server::start(backend).await;
    server
        .post("/api/v1/organization/", json!({"name": "busy"}))
        .await;
    server
        .post(
            "/api/v1/repository",
            json!({"namespace": "busy", "repository": "r", "visibility": "private"}),
        )
        .await;
    for i in 0..45 {
        let (status, _) = server
            .put(
                "/api/v1/repository/busy/r",
                json!({"description": format!("v{i}")}),
            )
            .await;
        assert_eq!(status, 200);
    }
    // 47 entries (the creator's admin grant among them): pages of 20, 20, 7, each a cursor below the last.
    let mut seen = Vec::new();
    let mut path = "/api/v1/repository/busy/r/logs".to_owned();
    loop {
        let (status, page) = server.get(&path).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["metadata"]["event"]["position"].as_u64().unwrap()),
        );
        match page["next_page"].as_str() {
            Some(token) => path = format!("/api/v1/repository/busy/r/logs?next_page={token}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 47);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );

    let today = Utc::now().format("%m/%d/%Y").to_string();
    let (status, body) = server
        .get(&format!(
            "/api/v1/repository/busy/r/logs?starttime={today}&endtime={today}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["logs"].as_array().unwrap().len(),
        20,
        "today's window (end inclusive) holds them"
    );
    let (status, body) = server
        .get("/api/v1/repository/busy/r/logs?starttime=01/01/2020&endtime=01/02/2020")
        .await;
    assert_eq!(
        (status.as_u16(), body["logs"].as_array().unwrap().len()),
        (200, 0)
    );
    let (status, body) = server
        .get("/api/v1/repository/busy/r/logs?performer=admin")
        .await;
    assert_eq!(
        (status.as_u16(), body["logs"].as_array().unwrap().len()),
        (200, 20)
    );
    let (status, body) = server
        .get("/api/v1/repository/busy/r/logs?performer=someoneelse")
        .await;
    assert_eq!(
        (status.as_u16(), body["logs"].as_array().unwrap().len()),
        (200, 0)
    );

    for bad in [
        "starttime=2024-01-01",
        "endtime=13/45/2024",
        "starttime=06/19/2024&endtime=06/18/2024",
        "next_page=%%%",
    ] {
        let (status, body) = server
            .get(&format!("/api/v1/repository/busy/r/logs?{bad}"))
            .await;
        assert_quay_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = server
        .get("/api/v1/organization/busy/aggregatelogs?starttime=bad")
        .await;
    assert_quay_error(status, &body, 400, "invalid_request");
    let (status, body) = server.get("/api/v1/repository/busy/nosuch/logs").await;
    assert_quay_error(status, &body, 404, "not_found");
}
