//! The black-box test harness: starts `annals serve` as a child process on a random loopback
//! port over a fresh store (a temporary directory, or a fresh PostgreSQL database), and talks
//! HTTP to it. Tests never reach into the server; they only count rows in the event log to
//! prove that refused requests appended nothing.

pub mod gerrit;
pub mod oci;
pub mod raw;
pub mod skopeo;
pub mod smtp;
pub mod upstream_registry;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

pub use serde_json::json;

/// Which stores a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("ANNALS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(url: &str, database: &str) -> String {
    annals_api::bench::with_database(url, database)
}

/// Runs `sql` on the admin database in a throwaway runtime (usable from Drop).
fn admin_execute(sql: String) -> anyhow::Result<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client.batch_execute(&sql).await?;
            anyhow::Ok(())
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("admin thread panicked"))?
}

pub const ADMIN: &str = "admin";

/// An `Authorization: Basic` value.
pub fn basic_auth(user: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

/// A running `annals serve` and the fresh store under it.
pub struct Server {
    pub backend: Backend,
    pub base: String,
    /// `http://host:port` of the OCI registry listener.
    pub registry: String,
    /// `http://host:port` of the gRPC listener.
    pub grpc: String,
    pub token: String,
    data: tempfile::TempDir,
    database: Option<(String, String)>,
    child: Option<Child>,
    http: reqwest::Client,
    env: Vec<(String, String)>,
}

/// The binary under test: Cargo builds it beside the test executables (`target/<profile>/`),
/// which live one level down in `deps/`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_BIN_EXE_annals-under-test") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    profile_dir.join(format!("annals-under-test{}", std::env::consts::EXE_SUFFIX))
}

impl Server {
    /// Starts a server over a fresh, empty store, bootstrapped with user `admin`.
    pub async fn start(backend: Backend) -> Server {
        Server::start_with(backend, &[]).await
    }

    /// [`Server::start`] with extra environment variables for `annals serve` (kept across
    /// restarts).
    pub async fn start_with(backend: Backend, env: &[(&str, &str)]) -> Server {
        let data = tempfile::tempdir().expect("temporary directory");
        let database = match backend {
            Backend::Embedded => None,
            Backend::Postgres => {
                let name = format!("annals_bb_{}", Uuid::new_v4().simple());
                admin_execute(format!("CREATE DATABASE {name}"))
                    .expect("PostgreSQL must be reachable at ANNALS_TEST_DATABASE_URL for the PostgreSQL tests");
                Some((name.clone(), with_database(&admin_url(), &name)))
            }
        };
        let mut server = Server {
            backend,
            base: String::new(),
            registry: String::new(),
            grpc: String::new(),
            token: format!("token-{}", Uuid::new_v4().simple()),
            data,
            database,
            child: None,
            http: reqwest::Client::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        server.boot().await;
        server
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|(_, url)| url.as_str())
    }

    /// A command for the binary with this server's storage configuration.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.args(args)
            .env("ANNALS_DATA_DIR", self.data.path())
            .env_remove("ANNALS_DATABASE_URL");
        if let Some(url) = self.database_url() {
            cmd.env("ANNALS_DATABASE_URL", url);
        }
        cmd
    }

    async fn boot(&mut self) {
        let mut cmd = self.command(&["serve"]);
        cmd.env("ANNALS_LISTEN", "127.0.0.1:0")
            .env("ANNALS_REGISTRY_LISTEN", "127.0.0.1:0")
            .env("ANNALS_GRPC_LISTEN", "127.0.0.1:0")
            .env("ANNALS_BOOTSTRAP_USER", ADMIN)
            .env("ANNALS_BOOTSTRAP_TOKEN", &self.token)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn annals serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (mut base, mut grpc) = (None, None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    base = Some(addr.to_owned());
                } else if let Some(addr) = line.strip_prefix("grpc listening on ") {
                    grpc = Some(addr.to_owned());
                } else if let (Some(addr), Some(base), Some(grpc)) = (
                    line.strip_prefix("registry listening on "),
                    base.take(),
                    grpc.take(),
                ) {
                    let _ = tx.send((base, addr.to_owned(), grpc));
                }
            }
        });
        let (base, registry, grpc) =
            tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
                .await
                .expect("join")
                .expect("annals serve did not start listening within 120s");
        self.base = base;
        self.registry = registry;
        self.grpc = grpc;
        self.child = Some(child);
    }

    /// Stops the server with SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits up to `within` for the server to exit; answers whether it did.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (if running) and starts it again on the same store.
    pub async fn restart(&mut self) {
        self.kill();
        self.boot().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request as `admin` (or with `token`), answering status and JSON body (Null when
    /// the body is empty or not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token
            .or(Some(self.token.as_str()))
            .filter(|t| !t.is_empty())
        {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req).await
    }

    /// Sends a request as `admin` with extra headers; answers status and JSON body.
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(body), None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PUT, path, Some(body), None).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, None, None).await
    }

    /// Sends raw bytes as a JSON body (for malformed-JSON tests).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: &'static str,
    ) -> (StatusCode, Value) {
        let response = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Makes the user `username` (as the superuser) and answers a token of its with `scope`,
    /// minted through Quay's OAuth implicit grant with an application of `org`.
    pub async fn user_token(&self, org: &str, username: &str, scope: &str) -> String {
        let (s, made) = self
            .post(
                "/api/v1/superuser/users/",
                serde_json::json!({"username": username}),
            )
            .await;
        assert!(s.is_success(), "{s} {made}");
        let password = made["password"].as_str().expect("password").to_owned();
        let (s, app) = self
            .post(
                &format!("/api/v1/organization/{org}/applications"),
                serde_json::json!({"name": format!("app-{username}"), "redirect_uri": "http://localhost/cb"}),
            )
            .await;
        assert!(s.is_success(), "{s} {app}");
        let client_id = app["client_id"].as_str().expect("client_id");
        self.mint(&basic_auth(username, &password), client_id, scope)
            .await
    }

    /// A token with `scope` for whoever `authorization` authenticates, minted through Quay's
    /// OAuth implicit grant with the application `client_id`.
    pub async fn mint(&self, authorization: &str, client_id: &str, scope: &str) -> String {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
            .get(self.url("/oauth/authorize"))
            .query(&[
                ("response_type", "token"),
                ("client_id", client_id),
                ("scope", scope),
            ])
            .header("Authorization", authorization)
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), 302, "{:?}", response.text().await);
        let location = response.headers()["location"].to_str().expect("location");
        let fragment = location.split_once('#').expect("fragment").1;
        form_urlencoded::parse(fragment.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
            .expect("access_token")
    }

    /// How many events the store holds, read straight from its tables.
    pub async fn event_count(&self) -> i64 {
        match self.database_url() {
            None => {
                let path = self.data.path().join("events.db");
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )
                    .expect("open events.db");
                    conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
                        .expect("count")
                })
                .await
                .expect("join")
            }
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(connection);
                client
                    .query_one("SELECT COUNT(*) FROM annals_events", &[])
                    .await
                    .expect("count")
                    .get::<_, i64>(0)
            }
        }
    }
}

/// Sends a request; answers its status and JSON body (Null when empty or not JSON).
async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = req.send().await.expect("request");
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// One stored event, as the tests read it straight from the store's tables.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: i64,
    pub stream: String,
    pub event_type: String,
    pub data: Value,
    pub metadata: Value,
}

impl Server {
    /// Every stored event in position order, read straight from the store's tables.
    pub async fn events(&self) -> Vec<StoredEvent> {
        match self.database_url() {
            None => {
                let path = self.data.path().join("events.db");
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                    )
                    .expect("open events.db");
                    let mut stmt = conn
                        .prepare(
                            "SELECT position, stream, event_type, data, metadata FROM events ORDER BY position",
                        )
                        .expect("prepare");
                    stmt.query_map([], |r| {
                        let json = |s: String| serde_json::from_str(&s).unwrap_or(Value::Null);
                        Ok(StoredEvent {
                            position: r.get(0)?,
                            stream: r.get(1)?,
                            event_type: r.get(2)?,
                            data: json(r.get(3)?),
                            metadata: json(r.get(4)?),
                        })
                    })
                    .expect("query")
                    .map(|r| r.expect("row"))
                    .collect()
                })
                .await
                .expect("join")
            }
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(connection);
                client
                    .query(
                        "SELECT position, stream, event_type, data, metadata FROM annals_events ORDER BY position",
                        &[],
                    )
                    .await
                    .expect("events")
                    .iter()
                    .map(|r| StoredEvent {
                        position: r.get(0),
                        stream: r.get(1),
                        event_type: r.get(2),
                        data: r.get(3),
                        metadata: r.get(4),
                    })
                    .collect()
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if let Some((name, _)) = self.database.take() {
            let _ = admin_execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Asserts a Quay error body: every field of Quay's error model, with this status and type.
pub fn assert_quay_error(status: StatusCode, body: &Value, expected: u16, error_type: &str) {
    assert_eq!(status.as_u16(), expected, "status of {body}");
    assert_eq!(body["status"], expected, "{body}");
    assert_eq!(body["error_type"], error_type, "{body}");
    assert_eq!(body["title"], error_type, "{body}");
    assert!(
        body["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["detail"], body["error_message"], "{body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with(&format!("/api/v1/error/{error_type}"))),
        "{body}"
    );
}

/// Defines `<name>_sqlite` and `<name>_postgres` tests running `body(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident => $body:ident;)*) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$body($crate::Backend::Embedded).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$body($crate::Backend::Postgres).await
                }
            }
        )*
    };
}
