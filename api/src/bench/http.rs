//! HTTP figures: `POST /api/v1/repository` against a real `annals serve` on a loopback port.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::Target;
use super::table::{Table, quantile_ms};
use crate::config::ServeArgs;

const TOKEN: &str = "bench-token";

/// A running `annals serve` for a benchmark, with the organization `benchorg`.
pub(super) struct Running {
    pub base: String,
    pub client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await?
    }
}

pub(super) const BENCH_TOKEN: &str = TOKEN;

pub(super) async fn start(target: &Target) -> anyhow::Result<Running> {
    let running = serve(target).await?;
    create_org(&running).await?;
    Ok(running)
}

/// A running `annals serve` whose bootstrap superuser (on a fresh log) has [`BENCH_TOKEN`].
pub(super) async fn serve(target: &Target) -> anyhow::Result<Running> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = probe.local_addr()?;
    drop(probe);
    let mut args = ServeArgs::embedded(target.storage(), addr, "127.0.0.1:0".parse()?)?;
    args.bootstrap_user = Some("bench".into());
    args.bootstrap_token = Some(TOKEN.into());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve_until(args, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    wait_ready(&client, &base).await?;
    Ok(Running {
        base,
        client,
        stop,
        server,
    })
}

async fn create_org(running: &Running) -> anyhow::Result<()> {
    let (base, client) = (&running.base, &running.client);
    let org = client
        .post(format!("{base}/api/v1/organization/"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "benchorg"}))
        .send()
        .await?;
    anyhow::ensure!(
        org.status().as_u16() == 201,
        "creating the organization answered {}",
        org.status()
    );
    Ok(())
}

pub async fn measure(
    postgres: Option<&str>,
    requests: u64,
    table: &mut Table,
) -> anyhow::Result<()> {
    let target = Target::create(postgres).await?;
    let running = start(&target).await?;
    let (base, client) = (running.base.clone(), running.client.clone());
    let counter = Arc::new(AtomicU64::new(0));
    for clients in [1usize, 16, 64] {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, base, counter) = (client.clone(), base.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if latencies.len() as u64 * clients as u64 >= requests {
                        return anyhow::Ok(latencies);
                    }
                    let t = Instant::now();
                    let response = client
                        .post(format!("{base}/api/v1/repository"))
                        .bearer_auth(TOKEN)
                        .json(&serde_json::json!({"namespace": "benchorg", "repository": format!("r{n}"), "visibility": "private", "description": ""}))
                        .send()
                        .await?;
                    anyhow::ensure!(response.status().as_u16() == 201, "create answered {}", response.status());
                    latencies.push(t.elapsed());
                }
            }));
        }
        let mut all: Vec<Duration> = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort();
        table.row(vec![
            target.label().into(),
            clients.to_string(),
            format!("{:.0}", all.len() as f64 / elapsed),
            format!("{:.2}", quantile_ms(&all, 0.50)),
            format!("{:.2}", quantile_ms(&all, 0.99)),
        ]);
    }
    running.stop().await?;
    target.drop().await
}

async fn wait_ready(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/api/v1/discovery")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(anyhow::anyhow!("server did not start")).context(base.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
