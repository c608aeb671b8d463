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

use std::time::{Duration, Instant};

use annals_domain::ledger::merkle::{Frontier, Hash};
use annals_domain::ledger::note::{Checkpoint, NoteVerifier, key_hash};
use annals_store::{EventFilter, EventStore};
use annals_workers::ledger::{LedgerDb, StoredCheckpoint, StoredLeaf, event_leaf_hash};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

/// Events (and leaves) read per page.
const PAGE: usize = 8192;

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

/// Verifies the log against its ledger; `progress(events checked, ledger size)` after each page.
pub async fn verify(
    store: &dyn EventStore,
    ledger: &LedgerDb,
    key: &VerifyingKey,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<VerifyReport> {
    let started = Instant::now();
    let size = ledger.size().await?;
    let head = store.head().await?;
    let mut report = VerifyReport {
        events: 0,
        checkpoints: 0,
        ledger_size: size,
        unfolded: 0,
        root: None,
        divergence: None,
        elapsed: Duration::ZERO,
    };
    let mut tree = Frontier::new();
    let mut checkpoints: std::collections::VecDeque<StoredCheckpoint> = Default::default();
    let mut next_checkpoint_from = 0u64;
    let mut exhausted = false;
    let mut last_checked: Option<u64> = None;
    let mut after = 0u64;
    let mut scratch = Vec::with_capacity(1024);
    let done = |mut report: VerifyReport, divergence: Option<Divergence>| {
        report.divergence = divergence;
        report.elapsed = started.elapsed();
        Ok(report)
    };
    'pages: loop {
        // Checkpoints at the current size (size 0 first, then after each leaf).
        loop {
            if checkpoints.is_empty() && !exhausted {
                let page = ledger
                    .checkpoints_from(next_checkpoint_from, 1024, false)
                    .await?;
                exhausted = page.len() < 1024;
                checkpoints.extend(page);
                if let Some(last) = checkpoints.back() {
                    next_checkpoint_from = last.size + 1;
                }
            }
            match checkpoints.front() {
                Some(cp) if cp.size == tree.size() => {
                    if let Err(detail) = check_checkpoint(key, cp, &tree.root()) {
                        return done(report, Some(Divergence::forged(cp.size, detail)));
                    }
                    report.checkpoints += 1;
                    last_checked = Some(cp.size);
                    checkpoints.pop_front();
                }
                Some(cp) if cp.size < tree.size() => {
                    return done(
                        report,
                        Some(Divergence::forged(
                            cp.size,
                            format!("checkpoint for size {} out of order", cp.size),
                        )),
                    );
                }
                _ => break,
            }
        }
        if tree.size() >= size {
            break;
        }
        let want = PAGE.min((size - tree.size()) as usize);
        let events = store.read_all(after, want, &EventFilter::default()).await?;
        let leaves: Vec<StoredLeaf> = ledger
            .leaves(tree.size(), tree.size() + events.len().max(1) as u64)
            .await?;
        let mut leaves = leaves.into_iter().peekable();
        if events.is_empty() {
            let index = tree.size();
            let recorded = leaves.next();
            return done(
                report,
                Some(Divergence {
                    kind: "missing",
                    position: index + 1,
                    stream: None,
                    event_id: recorded.map(|l| l.event_id),
                    detail: format!(
                        "the log ends at position {index}, the ledger signed {size} events"
                    ),
                }),
            );
        }
        for event in &events {
            let index = tree.size();
            let recorded = match leaves.peek() {
                Some(l) if l.index == index => leaves.next(),
                _ => None,
            };
            let Some(recorded) = recorded else {
                anyhow::bail!("the ledger has no leaf {index} below its size {size}");
            };
            let found = || (Some(event.stream.clone()), Some(event.id.to_string()));
            if event.position != index + 1 {
                return done(
                    report,
                    Some(Divergence {
                        kind: "missing",
                        position: index + 1,
                        stream: None,
                        event_id: Some(recorded.event_id.clone()),
                        detail: format!(
                            "the log skips from position {index} to {}; the ledger recorded event {} there",
                            event.position, recorded.event_id
                        ),
                    }),
                );
            }
            let id = event.id.to_string();
            if id != recorded.event_id {
                let (stream, event_id) = found();
                let divergence = match ledger.leaf_of_event(&id).await? {
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
                };
                return done(report, Some(divergence));
            }
            let hash = event_leaf_hash(event, &mut scratch);
            if hash != recorded.hash {
                let (stream, event_id) = found();
                return done(
                    report,
                    Some(Divergence {
                        kind: "changed",
                        position: index + 1,
                        stream,
                        event_id,
                        detail: format!(
                            "the event's canonical bytes (stream, version, type, data, metadata or time) hash to {}, the ledger signed {}",
                            b64(&hash),
                            b64(&recorded.hash)
                        ),
                    }),
                );
            }
            tree.push(hash, |_, _, _| {});
            after = event.position;
            report.events += 1;
            // A checkpoint inside the page is checked before the next leaf.
            while let Some(cp) = checkpoints.front() {
                if cp.size != tree.size() {
                    break;
                }
                if let Err(detail) = check_checkpoint(key, cp, &tree.root()) {
                    return done(report, Some(Divergence::forged(cp.size, detail)));
                }
                report.checkpoints += 1;
                last_checked = Some(cp.size);
                checkpoints.pop_front();
            }
            if checkpoints.is_empty() && !exhausted && tree.size() < size {
                // Refill before the next leaf so none is passed over.
                progress(report.events, size);
                continue 'pages;
            }
        }
        progress(report.events, size);
    }
    if last_checked != Some(size) {
        return done(
            report,
            Some(Divergence::forged(
                size,
                format!("the ledger's tree size {size} has no signed checkpoint"),
            )),
        );
    }
    report.unfolded = head.saturating_sub(size);
    report.root = Some(b64(&tree.root()));
    done(report, None)
}
