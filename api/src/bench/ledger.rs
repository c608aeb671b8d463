//! Ledger figures: how far the ledger worker lags behind the log while 16 writers append (as
//! the append benchmark does), how fast it folds a log of `events` events, how fast
//! `annals verify` checks that log, and how long an inclusion proof takes at that size.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use annals_domain::ledger::merkle;
use annals_domain::ledger::note::NoteSigner;
use annals_store::AppendBatch;
use annals_workers::ledger::LedgerWorker;
use tokio::sync::watch;

use super::Target;
use super::events;
use super::table::{Table, quantile_ms};
use crate::{backends, ledger};

/// Writers and events per append while the lag is measured.
const WRITERS: u64 = 16;
const PER_APPEND: usize = 100;
/// Events the writers append in all while the lag is measured.
const LAG_EVENTS: u64 = 100_000;
const PROOF_SAMPLES: usize = 2_000;

fn per_sec(n: u64, took: Duration) -> String {
    format!("{:.0}", n as f64 / took.as_secs_f64().max(1e-9))
}

pub async fn measure(
    postgres: Option<&str>,
    events: u64,
    lag: &mut Table,
    rates: &mut Table,
) -> anyhow::Result<()> {
    let target = Target::create(postgres).await?;
    let storage = target.storage();
    let backends = backends::open(&storage).await?;
    let store = backends.store.clone();
    let db = ledger::open_db(&storage).await?;
    let signer = NoteSigner::new("bench/annals", [7; 32])?;
    let key = signer.public();
    let worker = Arc::new(LedgerWorker::new(store.clone(), db.clone(), signer));

    // Lag: for each sampled head, how long until the ledger's signed size reached it.
    eprintln!(
        "  ledger lag on {} under {WRITERS} writers...",
        target.label()
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let running = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.run(stop_rx).await })
    };
    let size = worker.size();
    let appended = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut repo = 1_000_000 + w * 1_000_000;
                let mut written = 0;
                while written < LAG_EVENTS / WRITERS {
                    store
                        .append_batch(AppendBatch {
                            command_id: None,
                            appends: vec![events::repository_events(repo, PER_APPEND)],
                        })
                        .await?;
                    repo += 1;
                    written += PER_APPEND as u64;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    let mut waiting: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut lags = Vec::new();
    let mut events_behind = Vec::new();
    let all_written =
        |ws: &Vec<tokio::task::JoinHandle<anyhow::Result<()>>>| ws.iter().all(|w| w.is_finished());
    loop {
        let head = store.head().await?;
        let reached = *size.borrow();
        events_behind.push(head.saturating_sub(reached));
        waiting.push_back((head, Instant::now()));
        while let Some((h, at)) = waiting.front() {
            if *h > reached {
                break;
            }
            lags.push(at.elapsed());
            waiting.pop_front();
        }
        if all_written(&writers) && waiting.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let written_in = appended.elapsed();
    for w in writers {
        w.await??;
    }
    let _ = stop_tx.send(true);
    let _ = running.await;
    lags.sort();
    events_behind.sort();
    let behind_p99 = events_behind[((events_behind.len() - 1) as f64 * 0.99) as usize];
    lag.row(vec![
        target.label().into(),
        format!("{WRITERS} × {PER_APPEND}"),
        per_sec(LAG_EVENTS, written_in),
        format!("{:.1}", quantile_ms(&lags, 0.50)),
        format!("{:.1}", quantile_ms(&lags, 0.99)),
        behind_p99.to_string(),
    ]);

    // Folding and verifying a log of `events` events.
    let before = store.head().await?;
    eprintln!(
        "  filling a {} log with {events} more events...",
        target.label()
    );
    events::fill(store.as_ref(), events).await?;
    let head = store.head().await?;
    let started = Instant::now();
    let reached = worker.catch_up(&mut None).await?;
    let folded = started.elapsed();
    anyhow::ensure!(reached == head, "the ledger reached {reached} of {head}");
    rates.row(vec![
        target.label().into(),
        "ledger fold".into(),
        (head - before).to_string(),
        format!("{:.2}", folded.as_secs_f64()),
        per_sec(head - before, folded),
    ]);
    let started = Instant::now();
    let report = ledger::verify::verify(store.clone(), &db, &key, |_, _| {}).await?;
    let verified = started.elapsed();
    anyhow::ensure!(
        report.divergence.is_none(),
        "the benchmark log did not verify: {:?}",
        report.divergence
    );
    rates.row(vec![
        target.label().into(),
        "annals verify".into(),
        report.events.to_string(),
        format!("{:.2}", verified.as_secs_f64()),
        per_sec(report.events, verified),
    ]);

    // Inclusion proofs at the full size, for leaves spread over the tree.
    let mut times = Vec::with_capacity(PROOF_SAMPLES);
    for i in 0..PROOF_SAMPLES as u64 {
        let index = (i * 7_919_993) % head;
        let t = Instant::now();
        let (proof, root, leaf) = ledger::routes::prove_inclusion(&db, index, head)
            .await
            .map_err(|_| anyhow::anyhow!("no inclusion proof for leaf {index}"))?;
        times.push(t.elapsed());
        anyhow::ensure!(
            merkle::verify_inclusion(index, head, &leaf, &proof, &root),
            "the proof of leaf {index} does not verify"
        );
    }
    times.sort();
    rates.row(vec![
        target.label().into(),
        "inclusion proof (p50 / p99 ms)".into(),
        head.to_string(),
        format!(
            "{:.2} / {:.2}",
            quantile_ms(&times, 0.50),
            quantile_ms(&times, 0.99)
        ),
        per_sec(PROOF_SAMPLES as u64, times.iter().sum()),
    ]);
    drop((db, worker, store, backends));
    target.drop().await
}
