//! The projection runner: reads the log from the lowest checkpoint of its projectors, and for
//! each page of events writes every projector's rows together with its checkpoint in one
//! transaction. A crash between pages loses nothing: the next start resumes at the checkpoint.

use std::sync::Arc;
use std::time::Duration;

use annals_projections::sql::{DbResult, ReadDb, Stmt};
use annals_projections::{Decoded, ProjectionWatch, Projector, decode_raw, decode_recorded};
use annals_store::{EventFilter, EventStore, RecordedEvent};
use tokio::sync::watch;

/// Events read and applied per transaction.
pub const PAGE: usize = 2000;
/// A catch-up that projected this many events refreshes the planner statistics.
const ANALYZE_AFTER: u64 = 50_000;

/// Events per transaction of a bulk load (a replay into a fresh generation).
pub const BULK_PAGE: usize = 10_000;

pub struct ProjectionRunner {
    store: Arc<dyn EventStore>,
    projectors: Vec<Arc<dyn Projector>>,
    watch: ProjectionWatch,
    page: usize,
}

impl ProjectionRunner {
    pub fn new(
        store: Arc<dyn EventStore>,
        projectors: Vec<Arc<dyn Projector>>,
        watch: ProjectionWatch,
    ) -> Self {
        ProjectionRunner {
            store,
            projectors,
            watch,
            page: PAGE,
        }
    }

    /// Reads and applies `page` events per transaction (bulk loads use [`BULK_PAGE`]).
    pub fn with_page(mut self, page: usize) -> Self {
        self.page = page.max(1);
        self
    }

    /// The position every projector of `db` has applied.
    pub async fn position(&self, db: &dyn ReadDb) -> DbResult<u64> {
        let mut lowest = u64::MAX;
        for projector in &self.projectors {
            lowest = lowest.min(db.checkpoint(projector.name()).await?);
        }
        Ok(if lowest == u64::MAX { 0 } else { lowest })
    }

    /// The checkpoint of each projector in `db`, in projector order.
    async fn checkpoints(&self, db: &dyn ReadDb) -> DbResult<Vec<u64>> {
        let mut checkpoints = Vec::with_capacity(self.projectors.len());
        for projector in &self.projectors {
            checkpoints.push(db.checkpoint(projector.name()).await?);
        }
        Ok(checkpoints)
    }

    /// Applies events to `db` until it reached `until` (the head when None), calling
    /// `progress(position)` after each page. Answers the position reached.
    pub async fn catch_up(
        &self,
        db: &dyn ReadDb,
        until: Option<u64>,
        progress: impl FnMut(u64),
    ) -> anyhow::Result<u64> {
        let until = match until {
            Some(p) => p,
            None => self.store.head().await?,
        };
        let mut checkpoints = self.checkpoints(db).await?;
        self.advance(db, until, &mut checkpoints, progress).await
    }

    /// Applies pages until `until` or a short page (the head at the time of reading), with the
    /// checkpoints the caller holds. The next page is read, decoded and turned into statements
    /// while this one is written, so the two halves of the work run on both cores.
    async fn advance(
        &self,
        db: &dyn ReadDb,
        until: u64,
        checkpoints: &mut [u64],
        mut progress: impl FnMut(u64),
    ) -> anyhow::Result<u64> {
        let mut position = checkpoints.iter().copied().min().unwrap_or(0);
        let page_size = self.page;
        // The checkpoints a page is planned with only rise to the previous page's last
        // position, below every event of the next page: the ones held now plan it right.
        let prepare = |after: u64, checkpoints: Vec<u64>| {
            let store = self.store.clone();
            let projectors = self.projectors.clone();
            tokio::spawn(async move {
                // Read as text and decoded straight into typed events and envelopes.
                let mut page = store
                    .read_all_raw(after, page_size, &EventFilter::default())
                    .await?;
                let full = page.len() == page_size;
                // A page may run past `until` (a past generation stops exactly there).
                if let Some(cut) = page.iter().position(|e| e.position > until) {
                    page.truncate(cut);
                }
                let planned = tokio::task::spawn_blocking(move || {
                    let len = page.len() as u64;
                    let decoded = page.iter().map(decode_raw).collect();
                    (len, full, plan_page(&projectors, decoded, &checkpoints))
                })
                .await?;
                anyhow::Ok(planned)
            })
        };
        let mut next = (position < until).then(|| prepare(position, checkpoints.to_vec()));
        let mut projected = 0u64;
        while let Some(pending) = next.take() {
            let (len, full, planned) = pending.await??;
            let Some(last) = planned.last else {
                break;
            };
            if full && last < until {
                next = Some(prepare(last, checkpoints.to_vec()));
            }
            projected += len;
            db.apply_many(planned.batches).await?;
            for checkpoint in checkpoints.iter_mut() {
                *checkpoint = (*checkpoint).max(last);
            }
            position = last;
            progress(position);
        }
        if projected >= ANALYZE_AFTER {
            db.analyze().await?;
        }
        Ok(position)
    }

    /// Applies `page` (events in position order, not necessarily dense) to a fresh `db`: the
    /// scratch read models of a time-travel read.
    pub async fn apply_fresh(&self, db: &dyn ReadDb, page: Vec<RecordedEvent>) -> DbResult<()> {
        let checkpoints = vec![0; self.projectors.len()];
        let decoded = page.into_iter().map(decode_recorded).collect();
        let planned = plan_page(&self.projectors, decoded, &checkpoints);
        db.apply_many(planned.batches).await
    }

    /// Keeps `db` at the head of the log until `stop` turns true, publishing progress on the
    /// watch. A failing read-model database is retried, never skipped past.
    pub async fn run(&self, models: &crate::ReadModels, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        // The checkpoints of the generation being fed, kept in memory between wake-ups (this
        // runner is their only writer); read again when a rebuild swaps the generation in, or
        // after an error.
        let mut held: Option<(u64, Vec<u64>)> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let (generation, db) = (models.generation(), models.db());
            let step = async {
                let mut checkpoints = match held.take() {
                    Some((g, checkpoints)) if g == generation => checkpoints,
                    _ => self.checkpoints(db.as_ref()).await?,
                };
                let position = self
                    .advance(db.as_ref(), u64::MAX, &mut checkpoints, |p| {
                        self.watch.advance(p)
                    })
                    .await?;
                anyhow::Ok((position, checkpoints))
            };
            match step.await {
                Ok((position, checkpoints)) => {
                    held = Some((generation, checkpoints));
                    self.watch.advance(position);
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        _ = self.store.wait_for_new(position) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!("projection runner: {e:#}; retrying in {backoff:?}");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

/// A page turned into every projector's statements and checkpoint.
struct PlannedPage {
    /// The position of the page's last event (`None` for an empty page).
    last: Option<u64>,
    batches: Vec<(Vec<Stmt>, (&'static str, u64))>,
}

/// Has every projector whose checkpoint is below the end of `page` turn the events past that
/// checkpoint into statements.
fn plan_page(
    projectors: &[Arc<dyn Projector>],
    page: Vec<Decoded>,
    checkpoints: &[u64],
) -> PlannedPage {
    let Some(last) = page.last().map(|(recorded, _)| recorded.position) else {
        return PlannedPage {
            last: None,
            batches: vec![],
        };
    };
    // Every projector's rows and checkpoint of the page commit in one transaction.
    let mut batches = Vec::with_capacity(projectors.len());
    for (projector, checkpoint) in projectors.iter().zip(checkpoints.iter()) {
        if *checkpoint >= last {
            continue;
        }
        let mut stmts: Vec<Stmt> = Vec::new();
        for (recorded, event) in &page {
            if let (true, Some(event)) = (recorded.position > *checkpoint, event) {
                projector.project(recorded, event, &mut stmts);
            }
        }
        batches.push((stmts, (projector.name(), last)));
    }
    PlannedPage {
        last: Some(last),
        batches,
    }
}
