//! Registry figures: pushes and pulls through the OCI API — small images and one 100 MB image,
//! at 1 and 8 clients — against Annals and, where Debian's `docker-registry` (distribution 2.8)
//! is installed, against it on the same machine, as ratios. Both are driven by the same client
//! code doing what docker and skopeo do: `POST` an upload, `PUT` it with its digest, `PUT` the
//! manifest; `GET` the manifest and every blob.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::RngCore;
use sha2::{Digest as _, Sha256};

use super::Target;
use super::table::Table;
use crate::config::ServeArgs;

const TOKEN: &str = "bench-token";
const SMALL_IMAGES: usize = 96;
const BIG_BYTES: usize = 100 * 1024 * 1024;

struct Image {
    blobs: Vec<Arc<Vec<u8>>>,
    manifest: Vec<u8>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rng().fill_bytes(&mut v);
    v
}

fn image(layer_sizes: &[usize]) -> Image {
    let layers: Vec<Vec<u8>> = layer_sizes.iter().map(|n| random(*n)).collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "seed": hex::encode(random(8)),
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| sha256(l)).collect::<Vec<_>>()}
    }))
    .expect("json");
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": layers.iter().map(|l| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(l), "size": l.len()})).collect::<Vec<_>>(),
    }))
    .expect("json");
    let mut blobs = vec![Arc::new(config)];
    blobs.extend(layers.into_iter().map(Arc::new));
    Image { blobs, manifest }
}

/// One registry under test: its base URL and credentials.
#[derive(Clone)]
struct Registry {
    base: String,
    auth: Option<(String, String)>,
    http: reqwest::Client,
}

impl Registry {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    async fn push(&self, repo: &str, tag: &str, image: &Image) -> anyhow::Result<()> {
        use reqwest::Method;
        for blob in &image.blobs {
            let digest = sha256(blob);
            let head = self
                .req(Method::HEAD, &format!("/v2/{repo}/blobs/{digest}"))
                .send()
                .await?;
            if head.status().is_success() {
                continue;
            }
            let start = self
                .req(Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
                .send()
                .await?;
            anyhow::ensure!(
                start.status().as_u16() == 202,
                "upload start answered {}",
                start.status()
            );
            let location = start.headers()["location"].to_str()?.to_owned();
            let url = if location.starts_with("http") {
                location.trim_start_matches(&self.base).to_owned()
            } else {
                location
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            let put = self
                .req(Method::PUT, &format!("{url}{sep}digest={digest}"))
                .header("content-type", "application/octet-stream")
                .body(blob.as_ref().clone())
                .send()
                .await?;
            anyhow::ensure!(
                put.status().as_u16() == 201,
                "upload answered {}",
                put.status()
            );
        }
        let put = self
            .req(Method::PUT, &format!("/v2/{repo}/manifests/{tag}"))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(image.manifest.clone())
            .send()
            .await?;
        anyhow::ensure!(
            put.status().as_u16() == 201,
            "manifest put answered {}",
            put.status()
        );
        Ok(())
    }

    /// Pulls the image; answers the bytes read.
    async fn pull(&self, repo: &str, tag: &str) -> anyhow::Result<u64> {
        use reqwest::Method;
        let manifest = self
            .req(Method::GET, &format!("/v2/{repo}/manifests/{tag}"))
            .header("accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
            .await?;
        anyhow::ensure!(
            manifest.status().is_success(),
            "manifest get answered {}",
            manifest.status()
        );
        let manifest: serde_json::Value = manifest.json().await?;
        let mut bytes = 0;
        let digests = std::iter::once(&manifest["config"])
            .chain(manifest["layers"].as_array().into_iter().flatten());
        for d in digests {
            let digest = d["digest"].as_str().unwrap_or_default();
            let mut r = self
                .req(Method::GET, &format!("/v2/{repo}/blobs/{digest}"))
                .send()
                .await?;
            anyhow::ensure!(r.status().is_success(), "blob get answered {}", r.status());
            while let Some(chunk) = r.chunk().await? {
                bytes += chunk.len() as u64;
            }
        }
        Ok(bytes)
    }
}

/// Runs `per_client` operations on each of `clients` tasks; answers operations per second.
async fn rate<F, Fut>(clients: usize, per_client: usize, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                op(c, i).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((clients * per_client) as f64 / started.elapsed().as_secs_f64())
}

/// The figures of one registry: small pushes/s and pulls/s at 1 and 8 clients, then MB/s for
/// the big image (push 1 client, pull 1 and 8 clients).
async fn figures(
    registry: &Registry,
    prefix: &str,
) -> anyhow::Result<Vec<(String, usize, f64, &'static str)>> {
    let mut out = Vec::new();
    let small: Arc<Vec<Image>> = Arc::new(
        (0..SMALL_IMAGES)
            .map(|_| image(&[8 * 1024, 24 * 1024]))
            .collect(),
    );
    for clients in [1usize, 8] {
        let per = SMALL_IMAGES / clients;
        let (r, s, p) = (registry.clone(), small.clone(), prefix.to_owned());
        let pushed = rate(clients, per, move |c, i| {
            let (r, s, p) = (r.clone(), s.clone(), p.clone());
            async move {
                r.push(
                    &format!("{p}/small{clients}-{c}"),
                    &format!("t{i}"),
                    &s[c * per + i],
                )
                .await
            }
        })
        .await?;
        out.push(("small image push".into(), clients, pushed, "images/s"));
        let (r, p) = (registry.clone(), prefix.to_owned());
        let pulled = rate(clients, per, move |c, i| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                r.pull(&format!("{p}/small{clients}-{c}"), &format!("t{i}"))
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        out.push(("small image pull".into(), clients, pulled, "images/s"));
    }
    let big = Arc::new(image(&[BIG_BYTES]));
    let mb = BIG_BYTES as f64 / (1024.0 * 1024.0);
    let (r, b, p) = (registry.clone(), big.clone(), prefix.to_owned());
    let pushed = rate(1, 1, move |_, _| {
        let (r, b, p) = (r.clone(), b.clone(), p.clone());
        async move { r.push(&format!("{p}/big"), "v1", &b).await }
    })
    .await?;
    out.push(("100 MB image push".into(), 1, pushed * mb, "MB/s"));
    for clients in [1usize, 8] {
        let (r, p) = (registry.clone(), prefix.to_owned());
        let pulled = rate(clients, 1, move |_, _| {
            let (r, p) = (r.clone(), p.clone());
            async move { r.pull(&format!("{p}/big"), "v1").await.map(|_| ()) }
        })
        .await?;
        out.push(("100 MB image pull".into(), clients, pulled * mb, "MB/s"));
    }
    Ok(out)
}

fn free_port() -> anyhow::Result<std::net::SocketAddr> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(probe.local_addr()?)
}

/// Debian's distribution 2.8 on a free port over a temporary directory, if installed.
fn start_docker_registry(dir: &std::path::Path) -> anyhow::Result<Option<(Child, String)>> {
    let binary = ["/usr/bin/docker-registry", "/usr/bin/registry"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        return Ok(None);
    };
    let addr = free_port()?;
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.join("data").display()
        ),
    )?;
    let child = Command::new(binary)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {binary}"))?;
    Ok(Some((child, format!("http://{addr}"))))
}

async fn wait_for(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if http.get(url).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{url} did not answer")
}

pub async fn measure(postgres: Option<&str>, table: &mut Table) -> anyhow::Result<()> {
    let target = Target::create(postgres).await?;
    let (listen, registry_listen) = (free_port()?, free_port()?);
    let mut args = ServeArgs::embedded(target.storage(), listen, registry_listen)?;
    args.bootstrap_user = Some("bench".into());
    args.bootstrap_token = Some(TOKEN.into());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve_until(args, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    wait_for(&http, &format!("http://{registry_listen}/v2/")).await?;
    let annals = Registry {
        base: format!("http://{registry_listen}"),
        auth: Some(("bench".into(), TOKEN.into())),
        http: http.clone(),
    };
    let ours = figures(&annals, "bench").await?;

    let scratch = tempfile::tempdir()?;
    let theirs = match start_docker_registry(scratch.path())? {
        Some((mut child, base)) => {
            wait_for(&http, &format!("{base}/v2/")).await?;
            let reference = Registry {
                base,
                auth: None,
                http: http.clone(),
            };
            let figures = figures(&reference, "bench").await;
            let _ = child.kill();
            let _ = child.wait();
            Some(figures?)
        }
        None => {
            eprintln!(
                "  docker-registry is not installed (apt-get install docker-registry); no ratios"
            );
            None
        }
    };
    for (i, (what, clients, value, unit)) in ours.iter().enumerate() {
        let reference = theirs.as_ref().map(|t| t[i].2);
        table.row(vec![
            target.label().into(),
            what.clone(),
            clients.to_string(),
            format!("{value:.1} {unit}"),
            reference.map_or("-".into(), |r| format!("{r:.1} {unit}")),
            reference.map_or("-".into(), |r| format!("{:.2}", value / r)),
        ]);
    }
    let _ = stop.send(());
    server.await??;
    target.drop().await
}
