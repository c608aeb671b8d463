//! `annals verify`: recomputes every leaf from the stored events and the tree from the leaves,
//! checks every signed checkpoint, and names the first divergence.
//!
//! It streams the log and the ledger's leaves in pages, in position order, keeping only the
//! tree's right frontier in memory. At each leaf it compares the event with the leaf the ledger
//! recorded (its event id and hash); at each signed checkpoint's size, the checkpoint's
//! signature and root with the recomputed tree. The first difference is the answer:
//!
//! - a **missing** event: the log skips a position the ledger signed (or ends before it);
//! - an **inserted** event: an event the ledger never folded sits at a signed position;
//! - a **reordering**: the event at a position was folded at another leaf;
//! - a **changed** event: same id, different canonical bytes;
//! - a **forged checkpoint**: a signature that does not verify with the ledger key, a note
//!   whose size is not the one it is stored under, or a signed root the events do not give.
//!
//! Events appended after the ledger's last checkpoint are counted, not judged.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use annals_domain::ledger::merkle::{Frontier, Hash};
use annals_domain::ledger::note::{Checkpoint, NoteVerifier, key_hash};
use annals_store::{EventFilter, EventStore, RawRecordedEvent};
use annals_workers::ledger::{LedgerDb, StoredCheckpoint, StoredLeaf, event_leaf_hash};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Events (and leaves) read per page: the next page is read while this one is checked, so a
/// page should be long enough to hide a query's fixed cost.
const PAGE: usize = 16384;
/// Signed checkpoints read per query.
const CHECKPOINT_PAGE: usize = 1024;

/// The first place the log and its ledger disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Divergence {
    /// `changed`, `missing`, `inserted`, `reordered` or `forged_checkpoint`.
    pub kind: &'static str,
    /// The position (leaf index + 1) where it shows.
    pub position: u64,
    /// The stream of the event found there, when there is one.
    pub stream: Option<String>,
    /// The id of the event found there, or of the one the ledger recorded there.
    pub event_id: Option<String>,
    /// What differs, in words.
    pub detail: String,
}

impl Divergence {
    /// A signed checkpoint at tree size `position` that does not hold.
    fn forged(position: u64, detail: String) -> Self {
        Divergence {
            kind: "forged_checkpoint",
            position,
            stream: None,
            event_id: None,
            detail,
        }
    }
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at position {}", self.kind, self.position)?;
        if let Some(stream) = &self.stream {
            write!(f, ", stream {stream}")?;
        }
        if let Some(id) = &self.event_id {
            write!(f, ", event {id}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What a verification found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Events checked against the ledger's leaves.
    pub events: u64,
    /// Signed checkpoints checked.
    pub checkpoints: u64,
    /// The ledger's signed tree size.
    pub ledger_size: u64,
    /// Events appended after the last signed checkpoint (not judged).
    pub unfolded: u64,
    /// Base64 root of the recomputed tree at the ledger size (when no divergence came first).
    pub root: Option<String>,
    pub divergence: Option<Divergence>,
    #[serde(skip)]
    pub elapsed: Duration,
}

fn b64(h: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// Checks one signed checkpoint stored under `size` against the tree of `size` leaves.
fn check_checkpoint(
    key: &VerifyingKey,
    stored: &StoredCheckpoint,
    root: &Hash,
) -> Result<(), String> {
    // The note names its key; the key hash binds that name to the ledger's public key.
    let origin = stored.note.split('\n').next().unwrap_or_default();
    let verifier = NoteVerifier {
        name: origin.to_owned(),
        hash: key_hash(origin, key),
        key: *key,
    };
    let text = verifier.open(&stored.note).map_err(|e| {
        format!(
            "the checkpoint signed for tree size {} does not verify with the ledger key ({e})",
            stored.size
        )
    })?;
    let cp = Checkpoint::parse(text).map_err(|e| e.to_string())?;
    if cp.size != stored.size {
        return Err(format!(
            "the checkpoint stored for tree size {} is signed for size {}",
            stored.size, cp.size
        ));
    }
    if cp.root != *root {
        return Err(format!(
            "the checkpoint for tree size {} signs root {}, the events give {}",
            stored.size,
            b64(&cp.root),
            b64(root)
        ));
    }
    Ok(())
}

/// A page of the log and the leaves the ledger recorded from the same index.
#[derive(Default)]
struct Page {
    events: Vec<RawRecordedEvent>,
    leaves: Vec<StoredLeaf>,
}

/// The read of the next page, started before the current page is checked so that reading
/// and hashing overlap; aborted if verification stops first.
struct NextPage(Option<AbortOnDrop<anyhow::Result<Page>>>);

impl NextPage {
    /// Reads `want` events after position `after` (in `parts` reads) and the leaves from index
    /// `first_leaf`, all at once. Nothing when `want` is 0.
    fn start(
        store: &Arc<dyn EventStore>,
        ledger: &LedgerDb,
        after: u64,
        first_leaf: u64,
        want: usize,
        parts: usize,
    ) -> Self {
        if want == 0 {
            return NextPage(None);
        }
        let (store, ledger) = (store.clone(), ledger.clone());
        NextPage(Some(AbortOnDrop(tokio::spawn(async move {
            let (events, leaves) = tokio::join!(
                read_events(&store, after, want, parts),
                ledger.leaves(first_leaf, first_leaf + want as u64),
            );
            Ok(Page {
                events: events?,
                leaves: leaves?,
            })
        }))))
    }

    async fn take(&mut self) -> anyhow::Result<Page> {
        match self.0.take() {
            Some(mut read) => (&mut read.0).await?,
            None => Ok(Page::default()),
        }
    }
}

/// Reads up to `want` events after position `after` as `parts` concurrent reads of
/// consecutive position ranges, so that decoding them (JSON parsing, mostly) runs on several
/// threads. Positions are dense, so part `i` starts `i * per` positions on. A part that comes
/// back short or with a gap ends the page there: the events kept are then exactly those one
/// read would have returned first, and the check names the gap.
async fn read_events(
    store: &Arc<dyn EventStore>,
    after: u64,
    want: usize,
    parts: usize,
) -> anyhow::Result<Vec<RawRecordedEvent>> {
    let per = want.div_ceil(parts.max(1)).max(1);
    let reads: Vec<_> = (0..want)
        .step_by(per)
        .map(|start| {
            let store = store.clone();
            let (from, limit) = (after + start as u64, per.min(want - start));
            let read = tokio::spawn(async move {
                store
                    .read_all_raw(from, limit, &EventFilter::default())
                    .await
            });
            (from, limit, AbortOnDrop(read))
        })
        .collect();
    let mut events = Vec::with_capacity(want);
    for (from, limit, mut read) in reads {
        let part = (&mut read.0).await??;
        let dense =
            part.len() == limit && part.last().map(|e| e.position) == Some(from + limit as u64);
        events.extend(part);
        if !dense {
            break;
        }
    }
    Ok(events)
}

/// A spawned read that is not wanted once its handle is dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The leaf hash of every event. Canonical encoding and SHA-256 are most of verification's
/// work and independent per event, so the page is split over the blocking pool, one chunk per
/// core; only the tree (which needs the leaves in order) is built sequentially.
async fn leaf_hashes(
    events: Arc<Vec<RawRecordedEvent>>,
    chunks: usize,
) -> anyhow::Result<Vec<Hash>> {
    let per = events.len().div_ceil(chunks.max(1)).max(1);
    let tasks: Vec<_> = (0..events.len())
        .step_by(per)
        .map(|start| {
            let events = events.clone();
            tokio::task::spawn_blocking(move || {
                let mut scratch = Vec::with_capacity(1024);
                let end = (start + per).min(events.len());
                events[start..end]
                    .iter()
                    .map(|e| event_leaf_hash(e, &mut scratch))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut hashes = Vec::with_capacity(events.len());
    for task in tasks {
        hashes.extend(task.await?);
    }
    Ok(hashes)
}

/// The signed checkpoints, read in ascending size a page at a time.
#[derive(Default)]
struct Checkpoints {
    queue: VecDeque<StoredCheckpoint>,
    next_from: u64,
    exhausted: bool,
    checked: u64,
    last_checked: Option<u64>,
}

impl Checkpoints {
    /// Whether a checkpoint may be due at tree size `size` (one is, or more must be read).
    fn due(&self, size: u64) -> bool {
        match self.queue.front() {
            Some(cp) => cp.size <= size,
            None => !self.exhausted,
        }
    }

    /// Checks every checkpoint signed for the tree's current size, reading more as needed.
    async fn check_at(
        &mut self,
        ledger: &LedgerDb,
        key: &VerifyingKey,
        tree: &Frontier,
    ) -> anyhow::Result<Option<Divergence>> {
        loop {
            if self.queue.is_empty() && !self.exhausted {
                let page = ledger
                    .checkpoints_from(self.next_from, CHECKPOINT_PAGE, false)
                    .await?;
                self.exhausted = page.len() < CHECKPOINT_PAGE;
                if let Some(last) = page.last() {
                    self.next_from = last.size + 1;
                }
                self.queue.extend(page);
            }
            let Some(cp) = self.queue.front() else {
                return Ok(None);
            };
            if cp.size > tree.size() {
                return Ok(None);
            }
            if cp.size < tree.size() {
                let detail = format!("checkpoint for size {} out of order", cp.size);
                return Ok(Some(Divergence::forged(cp.size, detail)));
            }
            if let Err(detail) = check_checkpoint(key, cp, &tree.root()) {
                return Ok(Some(Divergence::forged(cp.size, detail)));
            }
            self.checked += 1;
            self.last_checked = Some(cp.size);
            self.queue.pop_front();
        }
    }
}

/// The walk of the log against the ledger: the recomputed tree and what has been checked.
struct Verifier<'a> {
    ledger: &'a LedgerDb,
    key: &'a VerifyingKey,
    /// The ledger's signed tree size.
    size: u64,
    tree: Frontier,
    checkpoints: Checkpoints,
    events: u64,
    /// Reads and hashing tasks per page (one per core).
    chunks: usize,
}

impl Verifier<'_> {
    /// Events to read for a page starting at leaf `from`.
    fn want(&self, from: u64) -> usize {
        PAGE.min(self.size.saturating_sub(from) as usize)
    }

    /// Walks the log up to the ledger's size; the first divergence, if any.
    async fn run(
        &mut self,
        store: &Arc<dyn EventStore>,
        progress: &mut impl FnMut(u64, u64),
    ) -> anyhow::Result<Option<Divergence>> {
        // Checkpoints at size 0 come before any leaf.
        if let Some(d) = self
            .checkpoints
            .check_at(self.ledger, self.key, &self.tree)
            .await?
        {
            return Ok(Some(d));
        }
        let mut next = NextPage::start(store, self.ledger, 0, 0, self.want(0), self.chunks);
        while self.tree.size() < self.size {
            let page = next.take().await?;
            let Some(last) = page.events.last() else {
                return Ok(Some(self.log_ends(page.leaves.first())));
            };
            // Read on while this page is checked; a divergence drops the read.
            let read_to = self.tree.size() + page.events.len() as u64;
            next = NextPage::start(
                store,
                self.ledger,
                last.position,
                read_to,
                self.want(read_to),
                self.chunks,
            );
            let events = Arc::new(page.events);
            let hashes = leaf_hashes(events.clone(), self.chunks).await?;
            let divergence = self.check_page(&events, &page.leaves, &hashes).await?;
            // Freeing a page's JSON values is a tenth of the work (profiled): keep it off the
            // sequential path.
            tokio::task::spawn_blocking(move || drop(events));
            if divergence.is_some() {
                return Ok(divergence);
            }
            progress(self.events, self.size);
        }
        if self.checkpoints.last_checked != Some(self.size) {
            let detail = format!(
                "the ledger's tree size {} has no signed checkpoint",
                self.size
            );
            return Ok(Some(Divergence::forged(self.size, detail)));
        }
        Ok(None)
    }

    /// The log ended below the ledger's size.
    fn log_ends(&self, recorded: Option<&StoredLeaf>) -> Divergence {
        let index = self.tree.size();
        Divergence {
            kind: "missing",
            position: index + 1,
            stream: None,
            event_id: recorded.map(|l| l.event_id.clone()),
            detail: format!(
                "the log ends at position {index}, the ledger signed {} events",
                self.size
            ),
        }
    }

    /// Checks a page's events (with their leaf hashes) against the recorded leaves, in order,
    /// folding each into the tree and checking the checkpoints it reaches.
    async fn check_page(
        &mut self,
        events: &[RawRecordedEvent],
        leaves: &[StoredLeaf],
        hashes: &[Hash],
    ) -> anyhow::Result<Option<Divergence>> {
        let mut leaves = leaves.iter().peekable();
        for (event, hash) in events.iter().zip(hashes) {
            let index = self.tree.size();
            let Some(recorded) = leaves.next_if(|l| l.index == index) else {
                anyhow::bail!(
                    "the ledger has no leaf {index} below its size {}",
                    self.size
                );
            };
            if let Some(d) = self.check_event(event, recorded, hash).await? {
                return Ok(Some(d));
            }
            self.tree.push(*hash, |_, _, _| {});
            self.events += 1;
            if self.checkpoints.due(self.tree.size())
                && let Some(d) = self
                    .checkpoints
                    .check_at(self.ledger, self.key, &self.tree)
                    .await?
            {
                return Ok(Some(d));
            }
        }
        Ok(None)
    }

    /// Compares the event at leaf `recorded.index` with what the ledger recorded there.
    async fn check_event(
        &self,
        event: &RawRecordedEvent,
        recorded: &StoredLeaf,
        hash: &Hash,
    ) -> anyhow::Result<Option<Divergence>> {
        let index = recorded.index;
        let found = || (Some(event.stream.clone()), Some(event.id.to_string()));
        if event.position != index + 1 {
            return Ok(Some(Divergence {
                kind: "missing",
                position: index + 1,
                stream: None,
                event_id: Some(recorded.event_id.clone()),
                detail: format!(
                    "the log skips from position {index} to {}; the ledger recorded event {} there",
                    event.position, recorded.event_id
                ),
            }));
        }
        // Formatted on the stack: this runs for every event.
        let mut id = Uuid::encode_buffer();
        let id: &str = event.id.hyphenated().encode_lower(&mut id);
        if id != recorded.event_id {
            let (stream, event_id) = found();
            return Ok(Some(match self.ledger.leaf_of_event(id).await? {
                Some(leaf) => Divergence {
                    kind: "reordered",
                    position: index + 1,
                    stream,
                    event_id,
                    detail: format!(
                        "this event was signed at position {}; the ledger recorded event {} here",
                        leaf + 1,
                        recorded.event_id
                    ),
                },
                None => Divergence {
                    kind: "inserted",
                    position: index + 1,
                    stream,
                    event_id,
                    detail: format!(
                        "this event is not in the ledger; the ledger recorded event {} here",
                        recorded.event_id
                    ),
                },
            }));
        }
        if *hash != recorded.hash {
            let (stream, event_id) = found();
            return Ok(Some(Divergence {
                kind: "changed",
                position: index + 1,
                stream,
                event_id,
                detail: format!(
                    "the event's canonical bytes (stream, version, type, data, metadata or time) hash to {}, the ledger signed {}",
                    b64(hash),
                    b64(&recorded.hash)
                ),
            }));
        }
        Ok(None)
    }
}

/// Verifies the log against its ledger; `progress(events checked, ledger size)` after each page.
pub async fn verify(
    store: Arc<dyn EventStore>,
    ledger: &LedgerDb,
    key: &VerifyingKey,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<VerifyReport> {
    let started = Instant::now();
    let size = ledger.size().await?;
    let head = store.head().await?;
    let mut verifier = Verifier {
        ledger,
        key,
        size,
        tree: Frontier::new(),
        checkpoints: Checkpoints::default(),
        events: 0,
        chunks: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let divergence = verifier.run(&store, &mut progress).await?;
    Ok(VerifyReport {
        events: verifier.events,
        checkpoints: verifier.checkpoints.checked,
        ledger_size: size,
        unfolded: if divergence.is_none() {
            head.saturating_sub(size)
        } else {
            0
        },
        root: divergence.is_none().then(|| b64(&verifier.tree.root())),
        divergence,
        elapsed: started.elapsed(),
    })
}
