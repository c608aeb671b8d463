//! Quay's three `exportlogs` routes: an export is written by the worker, announced once to a
//! real callback receiver on loopback, served at an expiring signed URL with exactly what the
//! log routes answer for its window, and logged as `export_logs_success`. Bad input is a Quay
//! 400 with nothing appended; non-admins get 403; a large export streams; a server killed
//! with SIGKILL during an export finishes it after restart; garbage collection keeps a live
//! export's file; an e-mail callback reaches a real SMTP server (Python's aiosmtpd).

use std::time::Duration;

use annals_tests::smtp::Smtp;
use annals_tests::{Backend, Server, assert_quay_error, json, on_both_backends};
use axum::Json;
use axum::routing::post;
use chrono::{SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

on_both_backends! {
    exports_of_each_log_are_announced_served_and_logged => exports_of_each_log;
    bad_requests_append_nothing_and_urls_expire => bad_requests_and_expiry;
    a_large_export_survives_a_crash => a_large_export_survives_a_crash;
    garbage_collection_keeps_a_live_export => garbage_collection_keeps_a_live_export;
    an_email_callback_goes_through_smtp => an_email_callback_goes_through_smtp;
}

/// A callback receiver on a loopback port: every JSON body POSTed to `/cb` arrives on `rx`.
struct Receiver {
    url: String,
    rx: mpsc::UnboundedReceiver<Value>,
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/cb",
        post(move |Json(body): Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, rx }
}

impl Receiver {
    async fn next(&mut self, within: Duration) -> Value {
        tokio::time::timeout(within, self.rx.recv())
            .await
            .expect("a callback in time")
            .expect("receiver open")
    }

    /// Asserts nothing more arrives for a while.
    async fn no_more(&mut self, wait: Duration) {
        if let Ok(Some(extra)) = tokio::time::timeout(wait, self.rx.recv()).await {
            panic!("a second callback: {extra}");
        }
    }
}

/// Every entry the log route answers for the window, following `next_page`.
async fn all_logs(server: &Server, path: &str, window: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = format!("{path}?{window}");
    loop {
        let (s, page) = server.get(&url).await;
        assert_eq!(s, 200, "{page}");
        out.extend(page["logs"].as_array().unwrap().iter().cloned());
        match page["next_page"].as_str() {
            Some(token) => url = format!("{path}?next_page={token}"),
            None => return out,
        }
    }
}

async fn fetch(url: &str) -> (StatusCode, Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Some activity in `acme` and `acme/web`, then a window that ends after it.
async fn activity(server: &Server) -> String {
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "acme", "repository": "web", "visibility": "private", "description": ""}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    for i in 0..5 {
        let (s, b) = server
            .put(
                "/api/v1/repository/acme/web",
                json!({"description": format!("take {i}")}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = server
        .put("/api/v1/organization/acme", json!({"email": "ops@acme.io"}))
        .await;
    assert_eq!(s, 200, "{b}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let end = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    format!("starttime=01/01/2020&endtime={end}")
}

async fn exports_of_each_log(backend: Backend) {
    let server = Server::start(backend).await;
    let mut callbacks = receiver().await;
    let window = activity(&server).await;
    let routes = [
        (
            "/api/v1/repository/acme/web",
            Some("web"),
            "/api/v1/repository/acme/web/logs",
        ),
        (
            "/api/v1/organization/acme",
            None,
            "/api/v1/organization/acme/logs",
        ),
        ("/api/v1/user", None, "/api/v1/user/logs"),
    ];
    let mut exports = Vec::new();
    for (base, repository, logs_path) in routes {
        let (s, started) = server
            .post(
                &format!("{base}/exportlogs?{window}"),
                json!({"callback_url": callbacks.url}),
            )
            .await;
        assert_eq!(s, 200, "{base}: {started}");
        let export_id = started["export_id"].as_str().unwrap().to_owned();
        uuid::Uuid::parse_str(&export_id).unwrap();

        let report = callbacks.next(Duration::from_secs(60)).await;
        assert_eq!(report["export_id"], export_id, "{report}");
        assert_eq!(report["status"], "success", "{report}");
        let namespace = if base == "/api/v1/user" {
            "admin"
        } else {
            "acme"
        };
        assert_eq!(report["namespace"], namespace, "{report}");
        assert_eq!(report["repository"].as_str(), repository, "{report}");
        let url = report["exported_data_url"].as_str().unwrap().to_owned();
        assert!(url.starts_with(&server.base), "{url}");

        // The file: anyone holding the URL may read it, no credential needed.
        let (s, file) = fetch(&url).await;
        assert_eq!(s, 200, "{file}");
        assert_eq!(file["export_id"], export_id);
        assert_eq!(file["details"]["namespace"], namespace);
        assert_eq!(file["details"]["repository"].as_str(), repository);
        assert_eq!(file["details"]["start_time"], report["start_time"]);
        assert_eq!(file["details"]["end_time"], report["end_time"]);
        let listed = all_logs(&server, logs_path, &window).await;
        assert!(listed.len() >= 2, "{listed:?}");
        assert_eq!(
            file["logs"].as_array().unwrap(),
            &listed,
            "{base}: the export holds what the log route answers for its window"
        );

        // A forged or altered URL is refused.
        let forged = format!("{}{}", &url[..url.len() - 2], "AA");
        assert_ne!(forged, url);
        let (s, body) = fetch(&forged).await;
        assert_quay_error(s, &body, 403, "unauthorized");
        let (stem, query) = url.split_once('?').unwrap();
        let expires: i64 = query
            .split('&')
            .find_map(|p| p.strip_prefix("expires="))
            .unwrap()
            .parse()
            .unwrap();
        let longer = url.replace(
            &format!("expires={expires}"),
            &format!("expires={}", expires + 86_400),
        );
        let (s, _) = fetch(&longer).await;
        assert_eq!(s, 403, "a longer life is not this server's signature");
        let (s, _) = fetch(stem).await;
        assert_eq!(s, 403, "an unsigned URL");
        exports.push((export_id, base, repository));
    }
    callbacks.no_more(Duration::from_millis(1500)).await;

    // The log shows each export's success, by its requester, with Quay's metadata.
    for (export_id, base, repository) in exports {
        let logs_path = if base == "/api/v1/user" {
            "/api/v1/user/logs".to_owned()
        } else {
            format!("{base}/logs")
        };
        let logged = all_logs(&server, &logs_path, "").await;
        let entry = logged
            .iter()
            .find(|e| e["kind"] == "export_logs_success" && e["metadata"]["export_id"] == export_id)
            .unwrap_or_else(|| panic!("{logs_path} shows no export_logs_success: {logged:?}"));
        assert_eq!(entry["metadata"]["url"], callbacks.url, "{entry}");
        assert_eq!(entry["metadata"]["repo"].as_str(), repository, "{entry}");
        assert_eq!(entry["performer"]["name"], "admin", "{entry}");
        assert!(
            entry["metadata"]["entries"].as_u64().unwrap() >= 2,
            "{entry}"
        );
        assert_eq!(
            entry["metadata"]["event"]["type"], "log_export.completed.v1",
            "{entry}"
        );
    }
    // Each export is requested, completed and notified on its own stream.
    let events = server.events().await;
    let steps: Vec<&str> = events
        .iter()
        .filter(|e| e.stream.starts_with("logexport-"))
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        steps
            .iter()
            .filter(|t| **t == "log_export.requested.v1")
            .count(),
        3
    );
    assert_eq!(
        steps
            .iter()
            .filter(|t| **t == "log_export.completed.v1")
            .count(),
        3
    );
    let notified: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "log_export.notified.v1")
        .collect();
    assert_eq!(notified.len(), 3);
    for n in notified {
        assert_eq!(n.data["callback"]["delivered"], true, "{:?}", n.data);
    }
}

async fn bad_requests_and_expiry(backend: Backend) {
    let server = Server::start_with(backend, &[("ANNALS_LOG_EXPORT_URL_TTL_S", "2")]).await;
    let mut callbacks = receiver().await;
    activity(&server).await;
    let before = server.event_count().await;
    let org = "/api/v1/organization/acme/exportlogs";
    let cb = json!({"callback_url": callbacks.url});
    for (path, body, why) in [
        (org.to_owned(), json!({}), "no callback"),
        (
            org.to_owned(),
            json!({"callback_url": "", "callback_email": ""}),
            "empty callbacks",
        ),
        (
            org.to_owned(),
            json!({"callback_url": "ftp://example.com/x"}),
            "not http",
        ),
        (
            org.to_owned(),
            json!({"callback_url": "http://"}),
            "no host",
        ),
        (
            org.to_owned(),
            json!({"callback_email": "not-an-address"}),
            "bad e-mail",
        ),
        (
            format!("{org}?starttime=13/45/2024"),
            cb.clone(),
            "bad starttime",
        ),
        (
            format!("{org}?endtime=yesterday"),
            cb.clone(),
            "bad endtime",
        ),
        (
            format!("{org}?starttime=06/19/2024&endtime=06/18/2024"),
            cb.clone(),
            "reversed window",
        ),
        (
            "/api/v1/repository/acme/web/exportlogs".to_owned(),
            json!({"callback_url": "gopher://x"}),
            "repository, not http",
        ),
        (
            "/api/v1/user/exportlogs".to_owned(),
            json!({}),
            "user, no callback",
        ),
    ] {
        let (s, b) = server.post(&path, body).await;
        assert_quay_error(s, &b, 400, "invalid_request");
        assert!(!b["error_message"].as_str().unwrap().is_empty(), "{why}");
    }
    let (s, b) = server
        .send_raw(Method::POST, org, "{\"callback_url\": ")
        .await;
    assert_quay_error(s, &b, 400, "invalid_request");
    assert_eq!(
        server.event_count().await,
        before,
        "bad input appends nothing"
    );

    // Only administrators export an organization's or a repository's log.
    let scopes = "repo:read repo:write repo:admin repo:create user:read user:admin org:admin";
    let carol = server.user_token("acme", "carol", scopes).await;
    for path in [org, "/api/v1/repository/acme/web/exportlogs"] {
        let (s, b) = server
            .request(Method::POST, path, Some(cb.clone()), Some(&carol))
            .await;
        assert_eq!(s, 403, "{path}: {b}");
    }
    // ... and a user's own export is of their own log.
    let (s, b) = server
        .request(
            Method::POST,
            "/api/v1/user/exportlogs",
            Some(cb.clone()),
            Some(&carol),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let report = callbacks.next(Duration::from_secs(60)).await;
    assert_eq!(report["namespace"], "carol", "{report}");
    let (s, file) = fetch(report["exported_data_url"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    assert!(
        file["logs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["metadata"]["namespace"] != "acme" || e["performer"]["name"] == "carol"),
        "carol's export shows only her own log: {file}"
    );

    // The URL expires.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (s, b) = fetch(report["exported_data_url"].as_str().unwrap()).await;
    assert_quay_error(s, &b, 403, "unauthorized");
    let (s, _) = fetch(&server.url(&format!(
        "/exportedlogs/{}?expires=99999999999&signature=AAAA",
        uuid::Uuid::new_v4()
    )))
    .await;
    assert_eq!(s, 403);
}

async fn a_large_export_survives_a_crash(backend: Backend) {
    let mut server = Server::start(backend).await;
    let mut callbacks = receiver().await;
    let window = activity(&server).await;
    // A few thousand entries: description changes, eight writers at a time, each on its own
    // repository (one stream each, so they do not contend).
    let client = reqwest::Client::new();
    for w in 0..8 {
        let (s, b) = server
            .post(
                "/api/v1/repository",
                json!({"namespace": "acme", "repository": format!("w{w}"), "visibility": "private", "description": ""}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (client, url, token) = (
                client.clone(),
                server.url(&format!("/api/v1/repository/acme/w{w}")),
                server.token.clone(),
            );
            tokio::spawn(async move {
                for i in 0..300 {
                    let r = client
                        .put(&url)
                        .bearer_auth(&token)
                        .json(&json!({"description": format!("{w}-{i}")}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let window = window.replace(
        &window[window.find("endtime=").unwrap()..],
        &format!(
            "endtime={}",
            Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
        ),
    );
    let (s, b) = server
        .post(
            &format!("/api/v1/organization/acme/exportlogs?{window}"),
            json!({"callback_url": callbacks.url}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let export_id = b["export_id"].as_str().unwrap().to_owned();
    // Killed while the worker writes (or just after): the export finishes after the restart,
    // and is announced once.
    // Killed as soon as the worker is writing (its upload session exists), SIGKILL.
    let uploads = server.data_dir().join("blobs/uploads");
    let sessions = || {
        std::fs::read_dir(&uploads)
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("info.json")).ok())
            .filter(|info| info.contains(&format!("log-export:{export_id}")))
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sessions() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server.kill();
    // An export cut off mid-way leaves its upload session behind, for the upload expiry.
    let abandoned = sessions();
    eprintln!("killed with {abandoned} export upload session(s) open");
    server.restart().await;
    let report = callbacks.next(Duration::from_secs(120)).await;
    assert_eq!(report["export_id"], export_id);
    assert_eq!(report["status"], "success", "{report}");
    callbacks.no_more(Duration::from_millis(1500)).await;
    // Fetched from the server as it now runs (a URL announced before the kill names the
    // old port).
    let url = report["exported_data_url"].as_str().unwrap();
    let path = &url[url.find("/exportedlogs/").unwrap()..];
    let response = reqwest::get(server.url(path)).await.unwrap();
    assert_eq!(response.status(), 200);
    let file: Value = response.json().await.unwrap();
    let logs = file["logs"].as_array().unwrap();
    assert!(logs.len() > 2400, "{} entries", logs.len());
    let leaves: Vec<u64> = logs
        .iter()
        .map(|e| e["leaf_index"].as_u64().unwrap())
        .collect();
    assert!(
        leaves.windows(2).all(|w| w[0] > w[1]),
        "newest first, each entry once"
    );
    let (s, aggregated) = server
        .get(&format!("/api/v1/organization/acme/aggregatelogs?{window}"))
        .await;
    assert_eq!(s, 200);
    let counted: i64 = aggregated["aggregated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["count"].as_i64().unwrap())
        .sum();
    assert_eq!(
        logs.len() as i64,
        counted,
        "the export holds every entry: {aggregated}"
    );
    let listed = all_logs(&server, "/api/v1/organization/acme/logs", &window).await;
    assert_eq!(logs, &listed);
}

async fn garbage_collection_keeps_a_live_export(backend: Backend) {
    let server = Server::start(backend).await;
    let mut callbacks = receiver().await;
    // A DigitalOcean registry (its organization `acme`) with an orphan blob to collect.
    let (s, b) = server
        .post(
            "/v2/registry",
            json!({"name": "acme", "subscription_tier_slug": "professional", "region": "ams3"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let image = annals_tests::oci::Image::new("export-gc", 1, 1_000);
    server.push_image("acme/web", "v1", &image).await;
    let orphan = b"an orphan blob the collection deletes".to_vec();
    server.push_blob("acme/web", &orphan).await;
    let hex = annals_tests::oci::sha256(&orphan);
    let hex = hex.trim_start_matches("sha256:");
    let orphan_file = server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(&hex[..2])
        .join(hex);
    assert!(orphan_file.exists());

    let (s, b) = server
        .post(
            "/api/v1/organization/acme/exportlogs",
            json!({"callback_url": callbacks.url}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let report = callbacks.next(Duration::from_secs(60)).await;
    let url = report["exported_data_url"].as_str().unwrap().to_owned();
    let (s, before) = fetch(&url).await;
    assert_eq!(s, 200);

    let (s, b) = server
        .post(
            "/v2/registry/acme/garbage-collection",
            json!({"type": "untagged manifests and unreferenced blobs"}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let uuid = b["garbage_collection"]["uuid"].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, list) = server
            .get("/v2/registry/acme/garbage-collections?per_page=200")
            .await;
        let gc = list["garbage_collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["uuid"] == uuid)
            .cloned()
            .unwrap();
        if gc["status"] == "succeeded" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{gc}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !orphan_file.exists(),
        "the collection ran and deleted the orphan"
    );
    let (s, after) = fetch(&url).await;
    assert_eq!(s, 200, "the export's file outlives the collection: {after}");
    assert_eq!(before, after);
}

async fn an_email_callback_goes_through_smtp(backend: Backend) {
    let Some(smtp) = Smtp::start().await else {
        eprintln!("aiosmtpd is not installed (pip install aiosmtpd): skipping the e-mail test");
        return;
    };
    let url = smtp.url();
    let server = Server::start_with(
        backend,
        &[
            ("ANNALS_SMTP_URL", url.as_str()),
            ("ANNALS_SMTP_FROM", "Annals <annals@example.com>"),
        ],
    )
    .await;
    let (s, b) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = server
        .post(
            "/api/v1/organization/acme/exportlogs",
            json!({"callback_email": "ops@acme.io"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let export_id = b["export_id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mail = loop {
        let found = smtp.mails().into_iter().next();
        if let Some(mail) = found {
            // The body is quoted-printable (the link is longer than a mail line): undo it.
            break mail
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=");
        }
        assert!(std::time::Instant::now() < deadline, "no mail arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(mail.contains("To: ops@acme.io"), "{mail}");
    assert!(mail.contains("annals@example.com"), "{mail}");
    assert!(mail.contains(&export_id), "{mail}");
    // The link in the mail serves the export.
    let link = mail
        .lines()
        .find(|l| l.contains("/exportedlogs/"))
        .unwrap_or_else(|| panic!("no link in {mail}"))
        .trim()
        .to_owned();
    let (s, file) = fetch(&link).await;
    assert_eq!(s, 200, "{link}: {file}");
    assert_eq!(file["export_id"], export_id);
    // ... and the notification records it as delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let events = server.events().await;
        if let Some(n) = events
            .iter()
            .find(|e| e.event_type == "log_export.notified.v1")
        {
            assert_eq!(n.data["email"]["delivered"], true, "{:?}", n.data);
            assert!(n.data["callback"].is_null(), "{:?}", n.data);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never notified");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
