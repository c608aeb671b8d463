//! Replay and log-query figures over a log of `events` events.

use std::time::{Duration, Instant};

use annals_projections::all_projectors;
use annals_projections::queries::logs::{self, LogQuery, LogScope};
use annals_workers::replay;

use super::Target;
use super::events;
use super::table::{Table, quantile_ms};
use crate::backends;

const QUERY_SAMPLES: usize = 200;

pub async fn measure(
    postgres: Option<&str>,
    events: u64,
    replay: &mut Table,
    queries: &mut Table,
) -> anyhow::Result<()> {
    let target = Target::create(postgres).await?;
    let backends = backends::open(&target.storage()).await?;
    let store = backends.store.clone();

    eprintln!("  filling a {} log with {events} events...", target.label());
    events::fill(store.as_ref(), events).await?;

    // What `annals replay` does: a bulk load into a fresh generation, its query indexes built
    // at the end, statistics refreshed, then promoted.
    let started = Instant::now();
    let report = replay::replay(store.clone(), &backends.location, all_projectors(), false).await?;
    let secs = started.elapsed().as_secs_f64();
    let reached = report.events;
    let db = backends.location.open(report.generation).await?;
    replay.row(vec![
        target.label().into(),
        reached.to_string(),
        format!("{secs:.2}"),
        format!("{:.0}", reached as f64 / secs),
    ]);

    let query = LogQuery {
        scope: LogScope::Namespace(events::org_id()),
        start_micros: 0,
        end_micros: i64::MAX,
        performer: None,
    };
    // First and deep pages are sampled in turn, so both meet the same conditions (a fresh
    // table being vacuumed and analyzed in the background, caches warming).
    let pages = [("first", None), ("deep (position 1000)", Some(1000u64))];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(QUERY_SAMPLES); pages.len()];
    for _ in 0..QUERY_SAMPLES {
        for ((_, before), times) in pages.iter().zip(samples.iter_mut()) {
            let t = Instant::now();
            let page = logs::page(db.as_ref(), store.as_ref(), &query, *before, 20).await?;
            times.push(t.elapsed());
            anyhow::ensure!(
                page.entries.len() == 20,
                "a page of the benchmark log held {}",
                page.entries.len()
            );
        }
    }
    for ((label, _), mut times) in pages.iter().zip(samples) {
        times.sort();
        queries.row(vec![
            target.label().into(),
            reached.to_string(),
            label.to_string(),
            format!("{:.2}", quantile_ms(&times, 0.50)),
            format!("{:.2}", quantile_ms(&times, 0.95)),
        ]);
    }
    drop((db, store, backends));
    target.drop().await
}
