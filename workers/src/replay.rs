//! `annals replay`: rebuild every read model from position 0 into a fresh generation while the
//! current one keeps serving, then promote it. The previous generation is kept for rollback;
//! older ones are dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use annals_projections::generation::Location;
use annals_projections::{ProjectionWatch, Projector, finish_bulk_load, migrate_for_bulk_load};
use annals_store::EventStore;
use indicatif::{ProgressBar, ProgressStyle};

use crate::runner::{BULK_PAGE, ProjectionRunner};

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    pub generation: u64,
    pub events: u64,
    pub elapsed: Duration,
}

/// Builds the past generation `name`: every read model as it stood after the event at
/// `position`, kept beside the serving generation (never promoted) until it is dropped.
pub async fn replay_to(
    store: Arc<dyn EventStore>,
    location: &Location,
    projectors: Vec<Arc<dyn Projector>>,
    name: &str,
    position: u64,
    show_progress: bool,
) -> anyhow::Result<ReplayReport> {
    let head = store.head().await?;
    anyhow::ensure!(
        position <= head,
        "position {position} is beyond the end of the log ({head})"
    );
    let db = location.start_past(name).await?;
    migrate_for_bulk_load(db.as_ref(), &projectors).await?;
    let bar = progress(position, show_progress);
    let started = Instant::now();
    let runner = ProjectionRunner::new(store, projectors.clone(), ProjectionWatch::default())
        .with_page(BULK_PAGE);
    let reached = if position == 0 {
        0
    } else {
        runner
            .catch_up(db.as_ref(), Some(position), |p| bar.set_position(p))
            .await?
    };
    bar.finish();
    finish_bulk_load(db.as_ref(), &projectors).await?;
    db.analyze().await?;
    drop(db);
    location.finish_past(name, reached).await?;
    Ok(ReplayReport {
        generation: 0,
        events: reached,
        elapsed: started.elapsed(),
    })
}

fn progress(len: u64, show: bool) -> ProgressBar {
    let bar = if show {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} replay [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// Rebuilds into generation current+1 up to the head of the log and promotes it. `show_progress`
/// draws a progress bar on stderr.
pub async fn replay(
    store: Arc<dyn EventStore>,
    location: &Location,
    projectors: Vec<Arc<dyn Projector>>,
    show_progress: bool,
) -> anyhow::Result<ReplayReport> {
    let current = location.current().await?;
    let generation = current + 1;
    // A crashed earlier rebuild may have left this generation half-built.
    location.discard(generation).await?;
    let db = location.open(generation).await?;
    migrate_for_bulk_load(db.as_ref(), &projectors).await?;
    let head = store.head().await?;
    let bar = progress(head, show_progress);
    let started = Instant::now();
    let runner = ProjectionRunner::new(store, projectors.clone(), ProjectionWatch::default())
        .with_page(BULK_PAGE);
    let reached = runner
        .catch_up(db.as_ref(), Some(head), |p| bar.set_position(p))
        .await?;
    bar.finish();
    finish_bulk_load(db.as_ref(), &projectors).await?;
    db.analyze().await?;
    drop(db);
    location.promote(generation).await?;
    if current > 1 {
        location.discard(current - 1).await?;
    }
    Ok(ReplayReport {
        generation,
        events: reached,
        elapsed: started.elapsed(),
    })
}
