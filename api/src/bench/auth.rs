//! What authorization costs: the same hot read (the tag list of a public repository) answered to an
//! anonymous caller and to a caller with a bearer token, whose request adds the token lookup,
//! the standing query and the rules.

use std::time::{Duration, Instant};

use super::Target;
use super::http::{BENCH_TOKEN, start};
use super::table::{Table, quantile_ms};

/// Requests per caller kind and concurrency.
async fn run(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    clients: usize,
    requests: u64,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let per_client = (requests as usize / clients).max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, token) = (client.clone(), url.to_owned(), token.map(str::to_owned));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                let mut req = client.get(&url);
                if let Some(token) = &token {
                    req = req.bearer_auth(token);
                }
                let response = req.send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "GET answered {}",
                    response.status()
                );
                response.bytes().await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    Ok((rate, all))
}

pub async fn measure(
    postgres: Option<&str>,
    requests: u64,
    table: &mut Table,
) -> anyhow::Result<()> {
    let target = Target::create(postgres).await?;
    let running = start(&target).await?;
    let created = running
        .client
        .post(format!("{}/api/v1/repository", running.base))
        .bearer_auth(BENCH_TOKEN)
        .json(&serde_json::json!({"namespace": "benchorg", "repository": "hot", "visibility": "public", "description": ""}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status().as_u16() == 201,
        "create answered {}",
        created.status()
    );
    let url = format!("{}/api/v1/repository/benchorg/hot/tag/", running.base);
    // Warm both paths (connections, statement caches) before measuring.
    run(&running.client, &url, None, 4, 200).await?;
    run(&running.client, &url, Some(BENCH_TOKEN), 4, 200).await?;
    for clients in [1usize, 16] {
        let (anon_rate, anon) = run(&running.client, &url, None, clients, requests).await?;
        let (auth_rate, auth) =
            run(&running.client, &url, Some(BENCH_TOKEN), clients, requests).await?;
        let (anon_p50, auth_p50) = (quantile_ms(&anon, 0.5), quantile_ms(&auth, 0.5));
        table.row(vec![
            target.label().into(),
            clients.to_string(),
            format!("{anon_rate:.0}"),
            format!("{anon_p50:.2}"),
            format!("{auth_rate:.0}"),
            format!("{auth_p50:.2}"),
            format!("{:+.1}%", (anon_rate / auth_rate - 1.0) * 100.0),
        ]);
    }
    running.stop().await?;
    target.drop().await
}
