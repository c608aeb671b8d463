//! A real upstream registry for mirror and proxy-cache tests: Debian's `docker-registry`
//! (the CNCF distribution registry) on a loopback port, storing into a temporary directory,
//! with deletes enabled so a test can take a tag away upstream.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::oci::{Image, OCI_MANIFEST, sha256};

const BINARY: &str = "/usr/bin/docker-registry";

/// A running `docker-registry`; killed when dropped.
pub struct UpstreamRegistry {
    child: Option<std::process::Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// `user:password` when it was started with `htpasswd` authentication.
    basic: Option<(String, String)>,
}

impl Drop for UpstreamRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

impl UpstreamRegistry {
    /// Starts one without authentication; `None` when `docker-registry` is not installed
    /// (`apt-get install docker-registry`), unless `ANNALS_REQUIRE_DOCKER_REGISTRY` is set,
    /// which makes that a failure.
    pub async fn start() -> Option<UpstreamRegistry> {
        Self::start_with(None).await
    }

    /// Starts one that asks for `user` and `password` (HTTP basic against an `htpasswd` file
    /// with a bcrypt line, made by Python's `crypt` or, where a Python lacks it, `htpasswd -B`).
    pub async fn start_with_auth(user: &str, password: &str) -> Option<UpstreamRegistry> {
        let python = std::process::Command::new("python3")
            .args([
                "-c",
                "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                password,
            ])
            .output();
        let line = match python {
            Ok(out) if out.status.success() => {
                format!("{user}:{}", String::from_utf8(out.stdout).unwrap().trim())
            }
            _ => {
                let out = std::process::Command::new("htpasswd")
                    .args(["-nbB", user, password])
                    .output()
                    .expect("neither Python's crypt nor htpasswd (apache2-utils) makes bcrypt");
                assert!(out.status.success(), "htpasswd: {out:?}");
                String::from_utf8(out.stdout).unwrap().trim().to_owned()
            }
        };
        Self::start_with(Some((user, password, &line))).await
    }

    async fn start_with(auth: Option<(&str, &str, &str)>) -> Option<UpstreamRegistry> {
        if !std::path::Path::new(BINARY).exists() {
            assert!(
                std::env::var_os("ANNALS_REQUIRE_DOCKER_REGISTRY").is_none(),
                "ANNALS_REQUIRE_DOCKER_REGISTRY is set but {BINARY} is missing"
            );
            eprintln!("skipping: {BINARY} is missing (apt-get install docker-registry)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((_, _, line)) = auth {
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, format!("{line}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: annals-test\n    path: {}\n",
                file.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = std::process::Command::new(BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(UpstreamRegistry {
            child: Some(child),
            port,
            dir,
            basic: auth.map(|(u, p, _)| (u.to_owned(), p.to_owned())),
        })
    }

    /// `127.0.0.1:<port>`, as a mirror's `external_reference` or a proxy cache's
    /// `upstream_registry` names it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it (a test that proves something is served without the upstream).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Where it keeps its data.
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request =
            reqwest::Client::new().request(method, format!("http://{}{path}", self.host()));
        match &self.basic {
            Some((user, password)) => request.basic_auth(user, Some(password)),
            None => request,
        }
    }

    /// Pushes `image` to `repository` under `tag`; answers the manifest's digest.
    pub async fn push_image(&self, repository: &str, tag: &str, image: &Image) -> String {
        for blob in image.blobs() {
            let digest = sha256(blob);
            let response = self
                .request(
                    reqwest::Method::POST,
                    &format!("/v2/{repository}/blobs/uploads/"),
                )
                .send()
                .await
                .expect("upstream upload start");
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            let url = if location.starts_with("http") {
                location
            } else {
                format!("http://{}{location}", self.host())
            };
            let separator = if url.contains('?') { '&' } else { '?' };
            let mut put = reqwest::Client::new()
                .put(format!("{url}{separator}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .body(blob.to_vec());
            if let Some((user, password)) = &self.basic {
                put = put.basic_auth(user, Some(password));
            }
            let response = put.send().await.expect("upstream blob put");
            assert_eq!(
                response.status(),
                StatusCode::CREATED,
                "{:?}",
                response.text().await
            );
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
            .expect("upstream manifest put");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{:?}",
            response.text().await
        );
        image.digest.clone()
    }

    /// Deletes the manifest `digest` of `repository`, and with it every tag on it.
    pub async fn delete_manifest(&self, repository: &str, digest: &str) {
        let response = self
            .request(
                reqwest::Method::DELETE,
                &format!("/v2/{repository}/manifests/{digest}"),
            )
            .send()
            .await
            .expect("upstream manifest delete");
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "{:?}",
            response.text().await
        );
    }
}
