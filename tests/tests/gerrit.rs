//! The Gerrit plugins REST API over HTTP: install (raw body, `file:` URL in the plugin
//! directory, `http:` URL), list with every option, status, enable, disable, delete, reload;
//! the authenticated (`/a/`) and anonymous paths; Gerrit's XSSI line, content types and
//! plain-text errors; refused input leaves no event and no bytes; the usage log names each
//! step's actor.

use std::path::PathBuf;

use annals_tests::gerrit::{Auth, Body, jar, zip_of};
use annals_tests::{Backend, Server, json, on_both_backends};
use reqwest::Method;
use serde_json::Value;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends! {
    plugins_are_installed_listed_and_managed => plugins_are_installed_listed_and_managed;
    bad_input_is_refused_and_leaves_nothing => bad_input_is_refused_and_leaves_nothing;
    callers_need_the_capabilities => callers_need_the_capabilities;
}

/// The largest jar the tests' servers take.
const MAX_JAR: usize = 64 << 10;

async fn start(backend: Backend) -> Server {
    Server::start_with(
        backend,
        &[
            ("ANNALS_GERRIT_MANDATORY_PLUGINS", "replication, other"),
            ("ANNALS_GERRIT_MAX_JAR_BYTES", &MAX_JAR.to_string()),
        ],
    )
    .await
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn blob_path(server: &Server, bytes: &[u8]) -> PathBuf {
    let hex = sha256_hex(bytes);
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}

fn plugin_dir(server: &Server) -> PathBuf {
    server.data_dir().join("gerrit-plugins")
}

/// Upload sessions left on disk.
fn open_uploads(server: &Server) -> usize {
    std::fs::read_dir(server.data_dir().join("blobs/uploads"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Serves `jar` at `/plugin.jar` (404 elsewhere) on a loopback port; answers its base URL.
async fn serve_jar(jar: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let jar = jar.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request);
                let response = if line.starts_with("GET /plugin.jar ") {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/java-archive\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        jar.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&jar);
                    r
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                };
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    base
}

fn ids(list: &Value) -> Vec<String> {
    list.as_object()
        .unwrap_or_else(|| panic!("not a map: {list}"))
        .keys()
        .cloned()
        .collect()
}

async fn plugins_are_installed_listed_and_managed(backend: Backend) {
    let server = start(backend).await;
    let token = server.token.clone();
    let admin = Auth::Basic("admin", &token);
    let bearer = Auth::Bearer(&token);

    // A raw jar body on the authenticated path: 201, Gerrit's JSON.
    let v28 = jar(Some("delete-project"), "2.8", Some("3.9"));
    let answer = server
        .gerrit(
            Method::PUT,
            "/a/plugins/delete-project",
            admin,
            Body::Jar(v28.clone()),
        )
        .await;
    let info = answer.ok_json(201).clone();
    assert_eq!(
        info,
        json!({"id": "delete-project", "version": "2.8", "api_version": "3.9",
            "index_url": "plugins/delete-project/", "filename": "delete-project.jar"})
    );
    assert!(
        answer.body.starts_with(")]}'\n{\n  \"id\""),
        "pretty by default"
    );
    assert!(blob_path(&server, &v28).is_file(), "the jar is stored");
    // Installing again overwrites: 200. `{id}.jar` names the same plugin.
    let v29 = jar(Some("delete-project"), "2.9", None);
    let answer = server
        .gerrit(
            Method::PUT,
            "/a/plugins/delete-project.jar",
            admin,
            Body::Jar(v29.clone()),
        )
        .await;
    assert_eq!(answer.ok_json(200)["version"], "2.9");
    assert!(answer.json.get("api_version").is_none());
    // The manifest's Gerrit-PluginName takes precedence over the path's id; without one the
    // path names the plugin (with the anonymous path's bearer token, compact on request).
    let answer = server
        .gerrit(
            Method::PUT,
            "/plugins/ignored?pp=0",
            bearer,
            Body::Jar(jar(Some("reviewers-by-blame"), "1.0", None)),
        )
        .await;
    assert_eq!(answer.ok_json(201)["id"], "reviewers-by-blame");
    assert!(answer.body.starts_with(")]}'\n{\"id\""), "{}", answer.body);
    let answer = server
        .gerrit(
            Method::PUT,
            "/plugins/some-plugin.jar",
            bearer,
            Body::Jar(jar(None, "0.1", None)),
        )
        .await;
    assert_eq!(answer.ok_json(201)["id"], "some-plugin");

    // From a file: URL inside the plugin directory.
    std::fs::write(
        plugin_dir(&server).join("sop.jar"),
        jar(Some("some-other-plugin"), "5.0", None),
    )
    .unwrap();
    let url = format!(
        "file://{}",
        plugin_dir(&server).join("sop.jar").to_str().unwrap()
    );
    let input = json!({ "url": url }).to_string();
    let answer = server
        .gerrit(
            Method::PUT,
            "/a/plugins/some-other-plugin",
            admin,
            Body::Json(input.clone()),
        )
        .await;
    assert_eq!(answer.ok_json(201)["version"], "5.0");

    // From an http: URL.
    let base = serve_jar(jar(Some("replication"), "3.0", Some("3.9"))).await;
    let input = json!({ "url": format!("{base}/plugin.jar") }).to_string();
    let answer = server
        .gerrit(
            Method::PUT,
            "/a/plugins/replication",
            admin,
            Body::Json(input.clone()),
        )
        .await;
    assert_eq!(answer.ok_json(201)["version"], "3.0");
    let input = json!({ "url": format!("{base}/missing.jar") }).to_string();
    server
        .gerrit(
            Method::PUT,
            "/a/plugins/replication",
            admin,
            Body::Json(input.clone()),
        )
        .await
        .error(400, "HTTP 404");

    // Listing: enabled ones, sorted by id, with every option.
    let list = |query: &'static str| {
        let server = &server;
        async move {
            server
                .gerrit(
                    Method::GET,
                    &format!("/a/plugins/{query}"),
                    Auth::Basic("admin", &server.token),
                    Body::None,
                )
                .await
        }
    };
    let all = [
        "delete-project",
        "replication",
        "reviewers-by-blame",
        "some-other-plugin",
        "some-plugin",
    ];
    assert_eq!(ids(list("").await.ok_json(200)), all);
    let answer = list("").await;
    assert_eq!(
        answer.json["delete-project"],
        json!({"id": "delete-project", "version": "2.9", "index_url": "plugins/delete-project/",
            "filename": "delete-project.jar"})
    );

    // Disable one (POST gerrit~disable), another by DELETE: only `all` lists them.
    let answer = server
        .gerrit(
            Method::POST,
            "/a/plugins/reviewers-by-blame/gerrit~disable",
            admin,
            Body::None,
        )
        .await;
    assert_eq!(answer.ok_json(200)["disabled"], true);
    let answer = server
        .gerrit(Method::DELETE, "/plugins/some-plugin", bearer, Body::None)
        .await;
    assert_eq!(answer.ok_json(200)["disabled"], true);
    assert_eq!(
        ids(list("").await.ok_json(200)),
        ["delete-project", "replication", "some-other-plugin"]
    );
    for q in ["?all", "?a", "?all=true", "?all=1", "?a=TRUE"] {
        assert_eq!(ids(list(q).await.ok_json(200)), all, "{q}");
    }
    for q in ["?all=false", "?all=0"] {
        assert_eq!(ids(list(q).await.ok_json(200)).len(), 3, "{q}");
    }
    assert_eq!(
        list("?all").await.json["reviewers-by-blame"]["disabled"],
        true
    );
    assert_eq!(ids(list("?n=1").await.ok_json(200)), ["delete-project"]);
    assert_eq!(
        ids(list("?all&n=1&S=1").await.ok_json(200)),
        ["replication"]
    );
    assert_eq!(
        ids(list("?all&S=3").await.ok_json(200)),
        ["some-other-plugin", "some-plugin"]
    );
    assert_eq!(ids(list("?n=0").await.ok_json(200)).len(), 3);
    assert_eq!(ids(list("?all&S=99").await.ok_json(200)).len(), 0);
    assert_eq!(
        ids(list("?all&p=some").await.ok_json(200)),
        ["some-other-plugin", "some-plugin"]
    );
    assert_eq!(ids(list("?all&p=Some").await.ok_json(200)).len(), 0);
    assert_eq!(ids(list("?p=re").await.ok_json(200)), ["replication"]);
    assert_eq!(
        ids(list("?all&r=some.*plugin").await.ok_json(200)),
        ["some-other-plugin", "some-plugin"]
    );
    assert_eq!(ids(list("?all&r=some").await.ok_json(200)).len(), 0);
    assert_eq!(
        ids(list("?all&r=.*PLUGIN").await.ok_json(200)).len(),
        0,
        "case-sensitive"
    );
    assert_eq!(
        ids(list("?all&m=PROJECT").await.ok_json(200)),
        ["delete-project"]
    );
    assert_eq!(
        ids(list("?all&m=BY-b").await.ok_json(200)),
        ["reviewers-by-blame"]
    );
    assert_eq!(
        ids(list("?all&m=plugin&n=1&S=1").await.ok_json(200)),
        ["some-plugin"]
    );

    // Status, enable.
    let answer = server
        .gerrit(
            Method::GET,
            "/a/plugins/some-plugin/gerrit~status",
            admin,
            Body::None,
        )
        .await;
    assert_eq!(
        answer.ok_json(200).clone(),
        json!({"id": "some-plugin", "version": "0.1", "index_url": "plugins/some-plugin/",
            "filename": "some-plugin.jar", "disabled": true})
    );
    let answer = server
        .gerrit(
            Method::POST,
            "/plugins/some-plugin/gerrit~enable",
            bearer,
            Body::None,
        )
        .await;
    assert!(answer.ok_json(200).get("disabled").is_none());
    assert_eq!(ids(list("").await.ok_json(200)).len(), 4);

    // Mandatory plugins are not disabled, by either route; nothing is recorded.
    let before = server.event_count().await;
    server
        .gerrit(Method::DELETE, "/a/plugins/replication", admin, Body::None)
        .await
        .error(405, "Plugin replication is mandatory");
    server
        .gerrit(
            Method::POST,
            "/plugins/replication/gerrit~disable",
            bearer,
            Body::None,
        )
        .await
        .error(405, "Plugin replication is mandatory");
    assert_eq!(server.event_count().await, before);
    assert!(ids(list("").await.ok_json(200)).contains(&"replication".to_owned()));

    // Reload reads the stored jar again: bytes changed under the store show.
    let stored = blob_path(&server, &v29);
    std::fs::write(&stored, jar(Some("delete-project"), "2.9.1", Some("3.10"))).unwrap();
    let answer = server
        .gerrit(
            Method::POST,
            "/a/plugins/delete-project/gerrit~reload",
            admin,
            Body::None,
        )
        .await;
    assert_eq!(answer.ok_json(200)["version"], "2.9.1");
    let answer = server
        .gerrit(
            Method::GET,
            "/plugins/delete-project/gerrit~status",
            bearer,
            Body::None,
        )
        .await;
    assert_eq!(answer.ok_json(200)["version"], "2.9.1");
    assert_eq!(answer.json["api_version"], "3.10");
    // A jar whose bytes are gone cannot be reloaded: 409, nothing recorded.
    std::fs::remove_file(&stored).unwrap();
    let before = server.event_count().await;
    server
        .gerrit(
            Method::POST,
            "/a/plugins/delete-project/gerrit~reload",
            admin,
            Body::None,
        )
        .await
        .error(409, "no longer stored");
    assert_eq!(server.event_count().await, before);

    // The usage log: each step, by its actor.
    let (status, logs) = server.get("/api/v1/superuser/logs").await;
    assert_eq!(status, 200, "{logs}");
    let entries: Vec<(String, String, Value)> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("gerrit_plugin_"))
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["performer"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["metadata"].clone(),
            )
        })
        .collect();
    let count = |kind: &str| entries.iter().filter(|(k, _, _)| k == kind).count();
    assert_eq!(count("gerrit_plugin_install"), 6, "{entries:?}");
    assert_eq!(count("gerrit_plugin_disable"), 2, "{entries:?}");
    assert_eq!(count("gerrit_plugin_enable"), 1, "{entries:?}");
    assert_eq!(count("gerrit_plugin_reload"), 1, "{entries:?}");
    assert!(
        entries.iter().all(|(_, who, _)| who == "admin"),
        "{entries:?}"
    );
    let sources: Vec<&str> = entries
        .iter()
        .filter(|(k, _, _)| k == "gerrit_plugin_install")
        .map(|(_, _, m)| m["source"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"upload"), "{sources:?}");
    assert!(
        sources.iter().any(|s| s.starts_with("file://")),
        "{sources:?}"
    );
    assert!(
        sources.iter().any(|s| s.starts_with("http://127.0.0.1")),
        "{sources:?}"
    );
    let reload = entries
        .iter()
        .find(|(k, _, _)| k == "gerrit_plugin_reload")
        .unwrap();
    assert_eq!(reload.2["version"], "2.9.1");
    assert_eq!(reload.2["plugin"], "delete-project");
}

async fn bad_input_is_refused_and_leaves_nothing(backend: Backend) {
    let server = start(backend).await;
    let token = server.token.clone();
    let admin = Auth::Basic("admin", &token);
    server
        .gerrit(
            Method::PUT,
            "/a/plugins/known",
            admin,
            Body::Jar(jar(None, "1", None)),
        )
        .await
        .ok_json(201);
    std::fs::write(server.data_dir().join("outside.jar"), jar(None, "1", None)).unwrap();
    std::fs::create_dir_all(plugin_dir(&server).join("sub")).unwrap();
    let outside = server.data_dir().join("outside.jar");
    let outside = outside.to_str().unwrap();
    let dotdot = format!(
        "file://{}/sub/../../outside.jar",
        plugin_dir(&server).to_str().unwrap()
    );
    let inputs: Vec<(Method, String, Body, u16, &str)> = vec![
        (
            Method::GET,
            "/a/plugins/unknown/gerrit~status".into(),
            Body::None,
            404,
            "Not found",
        ),
        (
            Method::POST,
            "/a/plugins/unknown/gerrit~enable".into(),
            Body::None,
            404,
            "Not found",
        ),
        (
            Method::POST,
            "/a/plugins/unknown/gerrit~disable".into(),
            Body::None,
            404,
            "Not found",
        ),
        (
            Method::POST,
            "/a/plugins/unknown/gerrit~reload".into(),
            Body::None,
            404,
            "Not found",
        ),
        (
            Method::DELETE,
            "/a/plugins/unknown".into(),
            Body::None,
            404,
            "Not found",
        ),
        (
            Method::GET,
            "/a/plugins/no%20such/gerrit~status".into(),
            Body::None,
            404,
            "Not found",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Jar(b"not a jar".to_vec()),
            400,
            "not a jar",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Jar(Vec::new()),
            400,
            "not a jar",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Jar(zip_of(&[("readme.txt", b"hello")])),
            400,
            "no META-INF/MANIFEST.MF",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Jar(jar(Some("bad name!"), "1", None)),
            400,
            "invalid plugin name",
        ),
        (
            Method::PUT,
            "/a/plugins/-x".into(),
            Body::Jar(jar(None, "1", None)),
            400,
            "invalid plugin name",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("{\"url\": ".into()),
            400,
            "malformed PluginInput",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("{}".into()),
            400,
            "malformed PluginInput",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("[1]".into()),
            400,
            "malformed PluginInput",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json(json!({"url": format!("file://{outside}")}).to_string()),
            400,
            "plugin directory",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json(json!({"url": dotdot}).to_string()),
            400,
            "plugin directory",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("{\"url\": \"file:///etc/passwd\"}".into()),
            400,
            "plugin directory",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("{\"url\": \"ftp://example.com/x.jar\"}".into()),
            400,
            "scheme",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("{\"url\": \"not a url\"}".into()),
            400,
            "invalid plugin url",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json("{\"url\": \"http://127.0.0.1:1/x.jar\"}".into()),
            400,
            "cannot fetch",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Jar(vec![7u8; MAX_JAR + 1]),
            413,
            "larger than",
        ),
        (
            Method::PUT,
            "/a/plugins/x".into(),
            Body::Json(format!("{{\"url\": \"{}\"}}", "a".repeat(70_000))),
            413,
            "PluginInput",
        ),
        (
            Method::GET,
            "/a/plugins/?r=(".into(),
            Body::None,
            400,
            "invalid regex",
        ),
        (
            Method::GET,
            "/a/plugins/?r=a)|(b".into(),
            Body::None,
            400,
            "invalid regex",
        ),
        (
            Method::GET,
            "/a/plugins/?p=a&r=b".into(),
            Body::None,
            400,
            "specify exactly one of p/m/r",
        ),
        (
            Method::GET,
            "/a/plugins/?p=a&m=b".into(),
            Body::None,
            400,
            "specify exactly one of p/m/r",
        ),
        (
            Method::GET,
            "/a/plugins/?m=a&r=b".into(),
            Body::None,
            400,
            "specify exactly one of p/m/r",
        ),
        (
            Method::GET,
            "/a/plugins/?n=-1".into(),
            Body::None,
            400,
            "not a valid value",
        ),
        (
            Method::GET,
            "/a/plugins/?S=99999999999".into(),
            Body::None,
            400,
            "not a valid value",
        ),
        (
            Method::GET,
            "/a/plugins/?n=x".into(),
            Body::None,
            400,
            "not a valid value",
        ),
        (
            Method::GET,
            "/a/plugins/?all=maybe".into(),
            Body::None,
            400,
            "not a valid value",
        ),
        (
            Method::GET,
            "/a/plugins/?bogus".into(),
            Body::None,
            400,
            "not a valid option",
        ),
    ];
    let before = server.event_count().await;
    for (method, path, body, status, message) in inputs {
        let what = format!("{method} {path}");
        let answer = server.gerrit(method, &path, admin, body).await;
        assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.body);
        answer.error(status, message);
        assert_eq!(
            server.event_count().await,
            before,
            "{what} recorded an event"
        );
        assert_eq!(open_uploads(&server), 0, "{what} left an upload session");
    }
    // Nothing but the one good jar was stored.
    let stored: usize = walk(&server.data_dir().join("blobs/blobs"));
    assert_eq!(stored, 1);
    // And the known plugin is as it was.
    let answer = server
        .gerrit(Method::GET, "/a/plugins/", admin, Body::None)
        .await;
    assert_eq!(ids(answer.ok_json(200)), ["known"]);
}

/// How many files are under `dir`.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn callers_need_the_capabilities(backend: Backend) {
    let server = start(backend).await;
    let token = server.token.clone();
    let (s, bob) = server
        .post("/api/v1/superuser/users/", json!({"username": "bob"}))
        .await;
    assert!(s.is_success(), "{bob}");
    let bob = bob["password"].as_str().unwrap().to_owned();
    let mut pass = 0;
    server
        .gerrit(
            Method::PUT,
            "/a/plugins/p",
            Auth::Basic("admin", &token),
            Body::Jar(jar(None, "1", None)),
        )
        .await
        .ok_json(201);

    // /a/ without credentials, or with bad ones: 401 and Gerrit's challenge.
    for auth in [
        Auth::None,
        Auth::Basic("admin", "wrong"),
        Auth::Basic("nobody", &token),
        Auth::Bearer(&token),
    ] {
        for (method, path) in [
            (Method::GET, "/a/plugins/"),
            (Method::GET, "/a/plugins/p/gerrit~status"),
            (Method::POST, "/a/plugins/p/gerrit~disable"),
        ] {
            let answer = server.gerrit(method, path, auth, Body::None).await;
            answer.error(401, "Unauthorized");
            assert_eq!(
                answer.www_authenticate.as_deref(),
                Some("Basic realm=\"Gerrit Code Review\""),
                "{path} {auth:?}"
            );
            pass += 1;
        }
    }
    // The anonymous path: nobody is refused as Gerrit refuses an anonymous user; a bad bearer
    // token is 401.
    for (method, path) in [
        (Method::GET, "/plugins/"),
        (Method::GET, "/plugins/p/gerrit~status"),
        (Method::POST, "/plugins/p/gerrit~enable"),
        (Method::PUT, "/plugins/p"),
    ] {
        server
            .gerrit(method.clone(), path, Auth::None, Body::None)
            .await
            .error(403, "Authentication required");
        server
            .gerrit(method, path, Auth::Bearer("not-a-token"), Body::None)
            .await
            .error(401, "Unauthorized");
    }
    // A user without 'Administrate Server' may view but not administer.
    let bob_auth = Auth::Basic("bob", &bob);
    assert_eq!(
        ids(server
            .gerrit(Method::GET, "/a/plugins/", bob_auth, Body::None)
            .await
            .ok_json(200)),
        ["p"]
    );
    server
        .gerrit(
            Method::GET,
            "/a/plugins/p/gerrit~status",
            bob_auth,
            Body::None,
        )
        .await
        .ok_json(200);
    let before = server.event_count().await;
    for (method, path, body) in [
        (Method::PUT, "/a/plugins/q", Body::Jar(jar(None, "1", None))),
        (Method::POST, "/a/plugins/p/gerrit~disable", Body::None),
        (Method::POST, "/a/plugins/p/gerrit~enable", Body::None),
        (Method::POST, "/a/plugins/p/gerrit~reload", Body::None),
        (Method::DELETE, "/a/plugins/p", Body::None),
    ] {
        server
            .gerrit(method, path, bob_auth, body)
            .await
            .error(403, "administrate server not permitted");
    }
    // Refusals of an authenticated caller are recorded (its audit log), nothing else changed.
    assert!(server.event_count().await > before);
    assert_eq!(open_uploads(&server), 0);
    let answer = server
        .gerrit(
            Method::GET,
            "/a/plugins/p/gerrit~status",
            bob_auth,
            Body::None,
        )
        .await;
    assert!(answer.ok_json(200).get("disabled").is_none());
    // A token without user:read may not view plugins.
    let (s, app) = server
        .post("/api/v1/organization/", json!({"name": "acme"}))
        .await;
    assert_eq!(s, 201, "{app}");
    let (s, app) = server
        .post(
            "/api/v1/organization/acme/applications",
            json!({"name": "g", "redirect_uri": "http://localhost/cb"}),
        )
        .await;
    assert!(s.is_success(), "{app}");
    let client_id = app["client_id"].as_str().unwrap();
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(server.url("/oauth/authorize"))
        .query(&[
            ("response_type", "token"),
            ("client_id", client_id),
            ("scope", "repo:read"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location.split_once('#').unwrap().1.to_owned();
    let repo_read = form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    server
        .gerrit(
            Method::GET,
            "/a/plugins/",
            Auth::Basic("admin", &repo_read),
            Body::None,
        )
        .await
        .error(403, "view plugins not permitted");
    server
        .gerrit(
            Method::GET,
            "/plugins/",
            Auth::Bearer(&repo_read),
            Body::None,
        )
        .await
        .error(403, "view plugins not permitted");
    // Even the superuser's, without super:user, may not administer.
    server
        .gerrit(
            Method::POST,
            "/plugins/p/gerrit~disable",
            Auth::Bearer(&repo_read),
            Body::None,
        )
        .await
        .error(403, "administrate server not permitted");
    assert_eq!(pass, 12);
}
