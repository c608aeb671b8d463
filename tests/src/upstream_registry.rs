//! A real upstream registry for the tests that copy from one (proxy cache, mirroring): Debian's
//! `docker-registry` (the CNCF distribution registry) on a free loopback port, its storage in a
//! temporary directory, optionally behind htpasswd basic auth (Debian's `apache2-utils`). It is
//! killed when dropped; `stop` and `start` keep its storage, so a test can prove a pull is
//! served without it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::oci::{Image, OCI_MANIFEST, sha256};

const BINARY: &str = "docker-registry";

/// Whether `docker-registry` is installed; outside CI a missing one skips the test (with a
/// message), under `ANNALS_REQUIRE_DOCKER_REGISTRY` it fails it.
pub fn available() -> bool {
    let found = std::path::Path::new("/usr/bin/docker-registry").exists()
        || Command::new(BINARY)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("ANNALS_REQUIRE_DOCKER_REGISTRY").is_none(),
            "ANNALS_REQUIRE_DOCKER_REGISTRY is set but docker-registry is not installed"
        );
        eprintln!("docker-registry is not installed; skipping (bash .ci/run installs it)");
    }
    found
}

/// A running (or stopped) `docker-registry`.
pub struct UpstreamRegistry {
    dir: tempfile::TempDir,
    port: u16,
    credentials: Option<(String, String)>,
    child: Option<Child>,
    http: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// An htpasswd line for `user`: bcrypt, as the registry's htpasswd auth requires.
fn htpasswd_line(user: &str, password: &str) -> String {
    let out = Command::new("htpasswd")
        .args(["-nbB", user, password])
        .output()
        .expect(
            "htpasswd (Debian's apache2-utils) must be installed for an authenticated upstream",
        );
    assert!(out.status.success(), "htpasswd failed: {out:?}");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

impl UpstreamRegistry {
    /// Starts an open registry (anonymous pulls and pushes).
    pub async fn start() -> UpstreamRegistry {
        UpstreamRegistry::launch(None).await
    }

    /// Starts a registry that answers only `user` with `password` (htpasswd basic auth).
    pub async fn start_with_auth(user: &str, password: &str) -> UpstreamRegistry {
        UpstreamRegistry::launch(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn launch(credentials: Option<(String, String)>) -> UpstreamRegistry {
        let mut registry = UpstreamRegistry {
            dir: tempfile::tempdir().expect("temporary directory"),
            port: free_port(),
            credentials,
            child: None,
            http: reqwest::Client::new(),
        };
        registry.resume().await;
        registry
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.yml")
    }

    fn write_config(&self) {
        let root = self.dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{}\n",
            root.display(),
            self.port
        );
        if let Some((user, password)) = &self.credentials {
            let file = self.dir.path().join("htpasswd");
            std::fs::write(&file, format!("{}\n", htpasswd_line(user, password)))
                .expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: annals-test\n    path: {}\n",
                file.display()
            ));
        }
        std::fs::write(self.config_path(), config).expect("write registry config");
    }

    /// Starts the registry again after [`UpstreamRegistry::stop`], on the same port and
    /// storage; answers once it serves `/v2/`.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "the upstream registry is running");
        self.write_config();
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(self.config_path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docker-registry");
        self.child = Some(child);
        for _ in 0..200 {
            if let Ok(r) = self.http.get(format!("{}/v2/", self.url())).send().await
                && matches!(r.status(), StatusCode::OK | StatusCode::UNAUTHORIZED)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("docker-registry did not serve /v2/ within 10s");
    }

    /// Kills the registry; its storage stays for [`UpstreamRegistry::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `host:port`, as a registry reference names it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url()));
        match &self.credentials {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// Pushes `image` to `repository` under `tag` (blobs monolithically, then the manifest);
    /// answers the manifest's digest.
    pub async fn push(&self, repository: &str, tag: &str, image: &Image) -> String {
        for blob in image.blobs() {
            let digest = sha256(blob);
            let started = self
                .request(
                    reqwest::Method::POST,
                    &format!("/v2/{repository}/blobs/uploads/"),
                )
                .send()
                .await
                .expect("start upload");
            assert_eq!(started.status(), StatusCode::ACCEPTED, "{started:?}");
            let location = started
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .expect("upload location")
                .to_owned();
            let location = if location.starts_with("http") {
                location
            } else {
                format!("{}{location}", self.url())
            };
            let separator = if location.contains('?') { '&' } else { '?' };
            let mut put = self
                .http
                .put(format!("{location}{separator}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .body(blob.to_vec());
            if let Some((user, password)) = &self.credentials {
                put = put.basic_auth(user, Some(password));
            }
            let done = put.send().await.expect("finish upload");
            assert_eq!(done.status(), StatusCode::CREATED, "{done:?}");
        }
        let response = self
            .request(
                reqwest::Method::PUT,
                &format!("/v2/{repository}/manifests/{tag}"),
            )
            .header("content-type", OCI_MANIFEST)
            .body(image.manifest.clone())
            .send()
            .await
            .expect("manifest put");
        assert_eq!(response.status(), StatusCode::CREATED, "{response:?}");
        image.digest.clone()
    }
}

impl Drop for UpstreamRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}
