//! The ledger from outside: signed checkpoints, tiles and proofs from a live server check out
//! against the verifier key `annals ledger key` prints; `annals verify` passes an untouched log
//! and names the first divergence after each kind of tampering done straight in the database.

use std::time::Duration;

use annals_domain::ledger::merkle::{self, Hash};
use annals_domain::ledger::note::{Checkpoint, NoteVerifier};
use annals_tests::{Backend, Server, json, on_both_backends};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

on_both_backends! {
    routes_serve_verifiable_proofs => routes_serve_verifiable_proofs;
    untouched_log_verifies => untouched_log_verifies;
    changed_event_is_named => changed_event_is_named;
    deleted_event_is_named => deleted_event_is_named;
    inserted_event_is_named => inserted_event_is_named;
    swapped_events_are_named => swapped_events_are_named;
    forged_checkpoint_is_named => forged_checkpoint_is_named;
    go_verifier_checks_a_live_server => go_verifier_checks_a_live_server;
    a_superuser_verifies_over_http => a_superuser_verifies_over_http;
}

/// `POST /ledger/verify` runs the verification as a job a superuser follows to its report.
async fn a_superuser_verifies_over_http(backend: Backend) {
    let server = Server::start(backend).await;
    make_events(&server).await;
    let (_, signed) = caught_up(&server).await;
    let (s, b) = server
        .request(reqwest::Method::POST, "/ledger/verify", None, Some(""))
        .await;
    assert_eq!((s.as_u16(), b["status"].as_u64()), (401, Some(401)), "{b}");
    let (s, job) = server.post("/ledger/verify", json!({})).await;
    assert!([200, 202].contains(&s.as_u16()), "{s} {job}");
    let id = job["job_id"].as_str().unwrap().to_owned();
    let path = format!("/ledger/verify/{id}");
    let mut done = Value::Null;
    for _ in 0..300 {
        let (s, b) = server.get(&path).await;
        assert_eq!(s, 200, "{b}");
        if b["status"] != "running" {
            done = b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "verified", "{done}");
    assert!(done["report"]["divergence"].is_null(), "{done}");
    assert!(
        done["report"]["ledger_size"].as_u64().unwrap() >= signed.size,
        "{done}"
    );
    assert_eq!(done["checked"], done["report"]["events"]);
    let (s, _) = server.get("/ledger/verify/not-a-uuid").await;
    assert_eq!(s, 400);
    let (s, _) = server.get(&format!("/ledger/verify/{}", uuid_nil())).await;
    assert_eq!(s, 404);
}

fn uuid_nil() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

async fn make_events(server: &Server) {
    for org in ["ledgera", "ledgerb", "ledgerc"] {
        let (s, b) = server
            .post("/api/v1/organization/", json!({"name": org}))
            .await;
        assert!(s.is_success(), "{s} {b}");
    }
    let (s, b) = server
        .post(
            "/api/v1/repository",
            json!({"namespace": "ledgera", "repository": "web", "visibility": "private", "description": "ü \"quoted\" 1.5"}),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
}

async fn text(server: &Server, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::get(server.url(path)).await.unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

pub fn verifier_key(server: &Server) -> String {
    let out = server.command(&["ledger", "key"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The latest checkpoint once the ledger holds every event of the log.
async fn caught_up(server: &Server) -> (String, Checkpoint) {
    let want = server.event_count().await as u64;
    let verifier = NoteVerifier::parse(&verifier_key(server)).unwrap();
    for _ in 0..200 {
        let (status, body) = text(server, "/ledger/checkpoint").await;
        if status == 200 {
            let note = String::from_utf8(body).unwrap();
            let cp = Checkpoint::parse(verifier.open(&note).expect("checkpoint verifies")).unwrap();
            if cp.size == want {
                return (note, cp);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the ledger did not reach {want} events");
}

fn hash(s: &Value) -> Hash {
    B64.decode(s.as_str().unwrap()).unwrap().try_into().unwrap()
}

async fn routes_serve_verifiable_proofs(backend: Backend) {
    let server = Server::start(backend).await;
    let (_, first) = caught_up(&server).await;
    make_events(&server).await;
    let (note, cp) = caught_up(&server).await;
    assert!(note.contains("\n\n\u{2014} "), "{note}");
    assert!(cp.size > first.size, "{first:?} {cp:?}");
    let size = cp.size;

    // Leaf hashes from the level-0 tile and the entries tile agree, and each inclusion proof
    // verifies against the signed root.
    let (status, tile) = text(&server, &format!("/ledger/tile/0/000.p/{size}")).await;
    assert_eq!(status, 200);
    assert_eq!(tile.len() as u64, size * 32);
    let (status, entries) = text(&server, &format!("/ledger/tile/entries/000.p/{size}")).await;
    assert_eq!(status, 200);
    let mut at = 0;
    for index in 0..size {
        let len = u16::from_be_bytes([entries[at], entries[at + 1]]) as usize;
        let leaf = merkle::leaf_hash(&entries[at + 2..at + 2 + len]);
        at += 2 + len;
        assert_eq!(&tile[index as usize * 32..][..32], &leaf);
        let (s, proof) = server
            .get(&format!(
                "/ledger/proof/inclusion?index={index}&tree_size={size}"
            ))
            .await;
        assert_eq!(s, 200, "{proof}");
        assert_eq!(hash(&proof["leaf_hash"]), leaf);
        assert_eq!(hash(&proof["root_hash"]), cp.root);
        let path: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash)
            .collect();
        assert!(merkle::verify_inclusion(
            index, size, &leaf, &path, &cp.root
        ));
    }
    assert_eq!(at, entries.len());

    // Consistency from the first checkpoint (the bootstrap's) to the latest.
    if first.size > 0 {
        let (s, proof) = server
            .get(&format!(
                "/ledger/proof/consistency?first={}&second={size}",
                first.size
            ))
            .await;
        assert_eq!(s, 200, "{proof}");
        let path: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(hash)
            .collect();
        assert!(merkle::verify_consistency(
            first.size,
            size,
            &first.root,
            &cp.root,
            &path
        ));
    }

    // A usage-log entry names its leaf.
    let (s, logs) = server.get("/api/v1/organization/ledgera/logs").await;
    assert_eq!(s, 200, "{logs}");
    let entry = &logs["logs"][0];
    assert_eq!(
        entry["leaf_index"].as_u64().unwrap() + 1,
        entry["metadata"]["event"]["position"].as_u64().unwrap(),
        "{entry}"
    );

    // Bad input is refused, never a panic.
    for (path, status) in [
        (
            format!("/ledger/proof/inclusion?index={size}&tree_size={size}"),
            400,
        ),
        (
            format!("/ledger/proof/inclusion?index=0&tree_size={}", size + 1),
            404,
        ),
        ("/ledger/proof/inclusion?index=-1&tree_size=2".into(), 400),
        ("/ledger/proof/inclusion?index=x&tree_size=2".into(), 400),
        ("/ledger/proof/inclusion?tree_size=2".into(), 400),
        (
            "/ledger/proof/inclusion?index=0&tree_size=99999999999999999999999".into(),
            400,
        ),
        (
            "/ledger/proof/inclusion?index=18446744073709551614&tree_size=18446744073709551615"
                .into(),
            404,
        ),
        ("/ledger/proof/consistency?first=0&second=1".into(), 400),
        (
            format!("/ledger/proof/consistency?first={size}&second={}", size - 1),
            400,
        ),
        (
            format!("/ledger/proof/consistency?first=1&second={}", size + 1),
            404,
        ),
        ("/ledger/tile/0/000".into(), 404),
        ("/ledger/tile/0/001.p/1".into(), 404),
        ("/ledger/tile/1/000.p/1".into(), 404),
        ("/ledger/tile/0/0001".into(), 400),
        ("/ledger/tile/64/000".into(), 400),
        ("/ledger/tile/0/000.p/0".into(), 400),
        ("/ledger/tile/0/000.p/256".into(), 400),
        ("/ledger/tile/entries/x000/001".into(), 400),
        (
            "/ledger/tile/0/x018/x446/x744/x073/x709/x551/615".into(),
            404,
        ),
        (
            "/ledger/tile/7/x018/x446/x744/x073/x709/x551/616".into(),
            400,
        ),
    ] {
        let (s, body) = text(&server, &path).await;
        assert_eq!(s, status, "{path}: {}", String::from_utf8_lossy(&body));
    }
    let (s, same) = server
        .get(&format!(
            "/ledger/proof/consistency?first={size}&second={size}"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(same["hashes"], json!([]));
}

/// Runs SQL on the server's event store (SQLite `events`, PostgreSQL `annals_events`).
async fn on_events(server: &Server, sqlite: &str, postgres: &str) {
    match server.database_url() {
        None => {
            let conn = rusqlite::Connection::open(server.data_dir().join("events.db")).unwrap();
            conn.execute_batch(sqlite).unwrap();
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(postgres).await.unwrap();
        }
    }
}

/// Runs `annals verify` over the stopped server's store: its success and what it printed.
fn verify(server: &Server) -> (bool, String) {
    let out = server.command(&["verify", "--quiet"]).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A server with a few events, all in the ledger, then stopped.
async fn stopped(backend: Backend) -> (Server, Checkpoint) {
    let mut server = Server::start(backend).await;
    make_events(&server).await;
    let (_, cp) = caught_up(&server).await;
    server.kill();
    (server, cp)
}

fn expect(server: &Server, needle: &str) {
    let (ok, out) = verify(server);
    assert!(!ok, "verify passed a tampered log: {out}");
    assert!(out.contains(needle), "expected {needle:?} in: {out}");
}

async fn untouched_log_verifies(backend: Backend) {
    let (server, cp) = stopped(backend).await;
    let (ok, out) = verify(&server);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("verified {} events", cp.size)),
        "{out}"
    );
    assert!(out.contains(&B64.encode(cp.root)), "{out}");
}

async fn changed_event_is_named(backend: Backend) {
    let (server, _) = stopped(backend).await;
    let stream = server.events().await[3].stream.clone();
    on_events(
        &server,
        r#"UPDATE events SET data = '{"forged":true}' WHERE position = 4"#,
        r#"UPDATE annals_events SET data = '{"forged":true}'::jsonb WHERE position = 4"#,
    )
    .await;
    expect(
        &server,
        &format!("changed at position 4, stream {stream}, event "),
    );
}

async fn deleted_event_is_named(backend: Backend) {
    let (server, _) = stopped(backend).await;
    on_events(
        &server,
        "DELETE FROM events WHERE position = 4",
        "DELETE FROM annals_events WHERE position = 4",
    )
    .await;
    expect(&server, "missing at position 4");
}

async fn inserted_event_is_named(backend: Backend) {
    let (server, _) = stopped(backend).await;
    let id = uuid::Uuid::now_v7();
    on_events(
        &server,
        &format!(
            "UPDATE events SET position = -position - 1 WHERE position >= 4;
             UPDATE events SET position = -position WHERE position < 0;
             INSERT INTO events (position, id, stream, version, event_type, data, metadata, recorded_at)
             SELECT 4, '{id}', 'forged-1', 0, 'organization.created.v1', '{{}}', '{{}}', recorded_at FROM events WHERE position = 3;"
        ),
        &format!(
            "UPDATE annals_events SET position = -position - 1 WHERE position >= 4;
             UPDATE annals_events SET position = -position WHERE position < 0;
             INSERT INTO annals_events (position, id, stream, version, event_type, data, metadata, recorded_at)
             SELECT 4, '{id}', 'forged-1', 0, 'organization.created.v1', '{{}}'::jsonb, '{{}}'::jsonb, recorded_at FROM annals_events WHERE position = 3;"
        ),
    )
    .await;
    expect(
        &server,
        &format!("inserted at position 4, stream forged-1, event {id}"),
    );
}

async fn swapped_events_are_named(backend: Backend) {
    let (server, _) = stopped(backend).await;
    let swap = |table: &str| {
        format!(
            "UPDATE {table} SET position = -1 WHERE position = 3;
             UPDATE {table} SET position = 3 WHERE position = 5;
             UPDATE {table} SET position = 5 WHERE position = -1;"
        )
    };
    on_events(&server, &swap("events"), &swap("annals_events")).await;
    expect(&server, "reordered at position 3");
    expect(&server, "signed at position 5");
}

async fn forged_checkpoint_is_named(backend: Backend) {
    let (server, cp) = stopped(backend).await;
    let forged_root = B64.encode([7u8; 32]);
    let real_root = B64.encode(cp.root);
    match server.database_url() {
        None => {
            let conn = rusqlite::Connection::open(server.data_dir().join("ledger.db")).unwrap();
            let n = conn
                .execute(
                    "UPDATE ledger_checkpoints SET note = replace(note, ?1, ?2) WHERE size = ?3",
                    rusqlite::params![real_root, forged_root, cp.size as i64],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let n = client
                .execute(
                    "UPDATE annals_ledger.ledger_checkpoints SET note = replace(note, $1, $2) WHERE size = $3",
                    &[&real_root, &forged_root, &(cp.size as i64)],
                )
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
    }
    expect(
        &server,
        &format!("forged_checkpoint at position {}", cp.size),
    );
}

/// Builds `tests/go-verifier` with Debian's packaged golang.org/x/mod (GOPATH mode). None when
/// `go` is missing and ANNALS_REQUIRE_GO is not 1.
fn go_verifier() -> Option<std::path::PathBuf> {
    let required = std::env::var("ANNALS_REQUIRE_GO").is_ok_and(|v| v == "1");
    if std::process::Command::new("go")
        .arg("version")
        .output()
        .is_err()
    {
        assert!(
            !required,
            "ANNALS_REQUIRE_GO=1 but `go` is missing: apt-get install golang-go golang-golang-x-mod-dev"
        );
        eprintln!(
            "skipping the Go verifier: `go` is missing (apt-get install golang-go golang-golang-x-mod-dev)"
        );
        return None;
    }
    let gopath = std::env::var("ANNALS_GOPATH").unwrap_or_else(|_| "/usr/share/gocode".into());
    let out_dir = std::env::temp_dir().join(format!("annals-go-verifier-{}", std::process::id()));
    let exe = out_dir.join("go-verifier");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("go-verifier");
    let build = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(&source)
        .env("GO111MODULE", "off")
        .env("GOPATH", &gopath)
        .env("GOFLAGS", "")
        .env("GOCACHE", std::env::temp_dir().join("annals-go-cache"))
        .output()
        .expect("run go build");
    assert!(
        build.status.success(),
        "go build of the verifier failed (is golang-golang-x-mod-dev installed under {gopath}?): {}",
        String::from_utf8_lossy(&build.stderr)
    );
    Some(exe)
}

async fn go_verifier_checks_a_live_server(backend: Backend) {
    let Some(verifier) = go_verifier() else {
        return;
    };
    let server = Server::start(backend).await;
    make_events(&server).await;
    let (_, older) = caught_up(&server).await;
    // Past one full tile of leaves, so level-1 tiles and partial tiles are read.
    for i in 0..140 {
        let (s, b) = server
            .post(
                "/api/v1/organization/",
                json!({"name": format!("auditorg{i}")}),
            )
            .await;
        assert!(s.is_success(), "{s} {b}");
    }
    let (_, latest) = caught_up(&server).await;
    assert!(latest.size > 256, "{}", latest.size);
    let key = verifier_key(&server);
    let out = std::process::Command::new(&verifier)
        .arg(&server.base)
        .arg(&key)
        .arg(older.size.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Go verifier refused the ledger: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("ok: tree size {}", latest.size)),
        "{said}"
    );
}
